package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"backstop/internal/derrors"
	"backstop/internal/record"
)

// Run is one reconciliation pass run.
type Run struct {
	ID          int64      `db:"id" json:"id"`
	TenantID    int64      `db:"tenant_id" json:"-"`
	Pass        string     `db:"pass" json:"pass"`
	Trigger     string     `db:"trigger" json:"trigger"`
	Slot        string     `db:"slot" json:"slot,omitempty"`
	StartedAt   time.Time  `db:"started_at" json:"started_at"`
	FinishedAt  *time.Time `db:"finished_at" json:"finished_at,omitempty"`
	Status      string     `db:"status" json:"status"`
	APICalls    int        `db:"api_calls" json:"api_calls"`
	Examined    int        `db:"examined" json:"examined"`
	Recovered   int        `db:"recovered" json:"recovered"`
	NeedsReview int        `db:"needs_review" json:"marked_needs_review"`
	Applied     int        `db:"applied" json:"applied"`
	DriftFound  int        `db:"drift_found" json:"drift_found"`
	Error       string     `db:"error" json:"error,omitempty"`
}

const runColumns = `id, tenant_id, pass, trigger, slot, started_at, finished_at, status, api_calls,
	examined, recovered, needs_review, applied, drift_found, error`

// ErrSlotTaken: a scheduled run for this tenant, pass and period is
// running, finished, or stopped early for the rate budget. A failed run
// leaves its period free, so that the retry of its job runs the pass.
var ErrSlotTaken = errors.New("this pass already ran in this period")

// StartRun records a pass starting. Runs of the same pass left "running" by
// a process that died are closed as failed first, so the history never shows
// two at once and their period goes to this run. The caller holds the pass
// lock, so no live run is closed.
func (s *Store) StartRun(ctx context.Context, tenantID int64, pass, trigger, slot string, at time.Time) (_ *Run, err error) {
	defer derrors.Wrap(&err, "Store.StartRun(ctx, %d, %s)", tenantID, pass)
	if _, err := s.db.ExecContext(ctx, `
		UPDATE reconciliation_runs
		SET status = 'failed', finished_at = $3, error = 'interrupted: the worker stopped before the pass finished'
		WHERE tenant_id = $1 AND pass = $2 AND status = 'running'`, tenantID, pass, at.UTC()); err != nil {
		return nil, err
	}
	var r Run
	err = s.db.GetContext(ctx, &r, `
		INSERT INTO reconciliation_runs (tenant_id, pass, trigger, slot, started_at)
		VALUES ($1, $2, $3, $4, $5)
		RETURNING `+runColumns, tenantID, pass, trigger, slot, at.UTC())
	if IsUniqueViolation(classify(err), "reconciliation_runs_once") {
		return nil, ErrSlotTaken
	}
	if err != nil {
		return nil, classify(err)
	}
	return &r, nil
}

// FinishRun writes a run's outcome.
func (s *Store) FinishRun(ctx context.Context, r *Run) (err error) {
	defer derrors.Wrap(&err, "Store.FinishRun(ctx, %d)", r.ID)
	_, err = s.db.ExecContext(ctx, `
		UPDATE reconciliation_runs
		SET finished_at = $2, status = $3, api_calls = $4, examined = $5, recovered = $6,
		    needs_review = $7, applied = $8, drift_found = $9, error = $10
		WHERE id = $1`, r.ID, r.FinishedAt, r.Status, r.APICalls, r.Examined, r.Recovered,
		r.NeedsReview, r.Applied, r.DriftFound, r.Error)
	return err
}

// Runs lists a tenant's runs started in [from, to), newest first.
func (s *Store) Runs(ctx context.Context, tenantID int64, from, to time.Time) (_ []*Run, err error) {
	defer derrors.Wrap(&err, "Store.Runs(ctx, %d)", tenantID)
	var rs []*Run
	err = s.db.SelectContext(ctx, &rs, `SELECT `+runColumns+` FROM reconciliation_runs
		WHERE tenant_id = $1 AND started_at >= $2 AND started_at < $3
		ORDER BY started_at DESC, id DESC`, tenantID, from.UTC(), to.UTC())
	return rs, err
}

// LastRun returns the tenant's latest run of pass with one of statuses, or NotFound.
func (s *Store) LastRun(ctx context.Context, tenantID int64, pass string, statuses ...string) (_ *Run, err error) {
	defer derrors.Wrap(&err, "Store.LastRun(ctx, %d, %s)", tenantID, pass)
	var r Run
	err = s.db.GetContext(ctx, &r, `SELECT `+runColumns+` FROM reconciliation_runs
		WHERE tenant_id = $1 AND pass = $2 AND status = ANY($3)
		ORDER BY started_at DESC, id DESC LIMIT 1`, tenantID, pass, stringArray(statuses))
	if err != nil {
		return nil, classify(err)
	}
	return &r, nil
}

// PassState is where a pass stands for a tenant between runs.
type PassState struct {
	Watermark *time.Time      `db:"watermark"`
	Resume    json.RawMessage `db:"resume"`
}

// PassState reads a pass's state (zero if it never ran).
func (s *Store) PassState(ctx context.Context, q Querier, tenantID int64, pass string) (_ *PassState, err error) {
	defer derrors.Wrap(&err, "Store.PassState(ctx, %d, %s)", tenantID, pass)
	var ps PassState
	err = q.GetContext(ctx, &ps, `SELECT watermark, resume FROM pass_state WHERE tenant_id = $1 AND pass = $2`, tenantID, pass)
	if errors.Is(classify(err), derrors.NotFound) {
		return &PassState{Resume: json.RawMessage("{}")}, nil
	}
	if err != nil {
		return nil, err
	}
	return &ps, nil
}

// SavePassState writes a pass's watermark and resume point.
func (s *Store) SavePassState(ctx context.Context, q Querier, tenantID int64, pass string, ps *PassState) (err error) {
	defer derrors.Wrap(&err, "Store.SavePassState(ctx, %d, %s)", tenantID, pass)
	_, err = q.ExecContext(ctx, `
		INSERT INTO pass_state (tenant_id, pass, watermark, resume, updated_at)
		VALUES ($1, $2, $3, $4, now())
		ON CONFLICT (tenant_id, pass) DO UPDATE
		SET watermark = EXCLUDED.watermark, resume = EXCLUDED.resume, updated_at = now()`,
		tenantID, pass, ps.Watermark, jsonOrEmpty(ps.Resume))
	return err
}

// StuckCandidates returns up to limit submitted records submitted at or
// before cutoff, after id, in id order (a keyset the pass pages with).
func (s *Store) StuckCandidates(ctx context.Context, tenantID int64, cutoff time.Time, afterID int64, limit int) (_ []*record.Record, err error) {
	defer derrors.Wrap(&err, "Store.StuckCandidates(ctx, %d)", tenantID)
	var rs []*record.Record
	err = s.db.SelectContext(ctx, &rs, `SELECT `+recordColumns+` FROM records
		WHERE tenant_id = $1 AND status = 'submitted' AND age_at <= $2 AND id > $3
		ORDER BY id LIMIT $4`, tenantID, cutoff.UTC(), afterID, limit)
	return rs, err
}

// DriftCandidates returns up to limit confirmed records flagged for a drift
// check, after id, in id order.
func (s *Store) DriftCandidates(ctx context.Context, tenantID int64, afterID int64, limit int) (_ []*record.Record, err error) {
	defer derrors.Wrap(&err, "Store.DriftCandidates(ctx, %d)", tenantID)
	var rs []*record.Record
	err = s.db.SelectContext(ctx, &rs, `SELECT `+recordColumns+` FROM records
		WHERE tenant_id = $1 AND drift_dirty AND status = 'confirmed' AND id > $2
		ORDER BY id LIMIT $3`, tenantID, afterID, limit)
	return rs, err
}

// AddAPIUsage adds calls to a tenant's count for day (the demo's history;
// live calls are counted as they are reserved).
func (s *Store) AddAPIUsage(ctx context.Context, tenantID int64, day time.Time, calls int) (err error) {
	defer derrors.Wrap(&err, "Store.AddAPIUsage(ctx, %d)", tenantID)
	_, err = s.db.ExecContext(ctx, `
		INSERT INTO api_usage (tenant_id, day, calls) VALUES ($1, $2, $3)
		ON CONFLICT (tenant_id, day) DO UPDATE SET calls = api_usage.calls + EXCLUDED.calls`, tenantID, day.UTC().Format("2006-01-02"), calls)
	return err
}
