package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jmoiron/sqlx"

	"backstop/internal/derrors"
)

// QueueState is a tenant's sync queue as it stood at one instant.
type QueueState struct {
	Pending int `db:"pending"`
	// PendingSince is when the longest-waiting pending record became
	// pending (nil with none pending).
	PendingSince *time.Time `db:"pending_since"`
	Submitted    int        `db:"submitted"`
	// SubmittedStuck counts submitted records submitted at or before the cutoff.
	SubmittedStuck int `db:"submitted_stuck"`
	NeedsReview    int `db:"needs_review"`
	Failed         int `db:"failed"`
	Conflict       int `db:"conflict"`
}

// queueStateQuery reconstructs the queue at $2 from the records and the
// audit trail, so that a past day's report regenerated later reads the same
// state it read then. A record's status changes only through a statement
// that also writes an audit row (from_status → to_status), so:
//   - a record with no status change at or after $2 had then the status it
//     has now (the common case; found through the status index, and only the
//     unfinished statuses are read);
//   - a record whose status changed since had then the from_status of its
//     first change at or after $2 (none for a record created since) — read
//     from the same index range that finds the changed records, with no
//     lookup per record.
//
// A record's time in its status: submitted_at for submitted (a submitted
// record never goes back to pending, so it still holds that submission);
// for pending, its last return to pending (a retry) or its creation.
// For a report as of now there are no changes since.
const queueStateQuery = `
	WITH firsts AS MATERIALIZED (
		SELECT DISTINCT ON (a.record_id) a.record_id, a.from_status
		FROM audit_log a
		WHERE a.tenant_id = $1 AND a.at >= $2 AND a.record_id IS NOT NULL
		  AND a.to_status <> '' AND a.to_status <> a.from_status
		ORDER BY a.record_id, a.at, a.id
	), past AS (
		SELECT f.from_status AS status,
		       CASE f.from_status
		           WHEN 'submitted' THEN (SELECT r.submitted_at FROM records r WHERE r.id = f.record_id)
		           WHEN 'pending' THEN (SELECT ` + pendingSince + ` FROM records r WHERE r.id = f.record_id)
		       END AS since
		FROM firsts f
		WHERE f.from_status IN ('pending', 'submitted', 'needs_review', 'failed', 'conflict')
	), present AS (
		SELECT r.status,
		       CASE r.status
		           WHEN 'submitted' THEN r.age_at
		           WHEN 'pending' THEN ` + pendingSince + `
		       END AS since
		FROM records r
		WHERE r.tenant_id = $1
		  AND r.status IN ('pending', 'submitted', 'needs_review', 'failed', 'conflict')
		  AND r.created_at < $2
		  AND NOT EXISTS (SELECT 1 FROM firsts f WHERE f.record_id = r.id)
	), state AS (
		SELECT status, since FROM past
		UNION ALL
		SELECT status, since FROM present
	)
	SELECT count(*) FILTER (WHERE status = 'pending') AS pending,
	       min(since) FILTER (WHERE status = 'pending') AS pending_since,
	       count(*) FILTER (WHERE status = 'submitted') AS submitted,
	       count(*) FILTER (WHERE status = 'submitted' AND since <= $3) AS submitted_stuck,
	       count(*) FILTER (WHERE status = 'needs_review') AS needs_review,
	       count(*) FILTER (WHERE status = 'failed') AS failed,
	       count(*) FILTER (WHERE status = 'conflict') AS conflict
	FROM state`

// pendingSince is when record r last became pending before $2.
const pendingSince = `coalesce((
		SELECT max(a.at) FROM audit_log a
		WHERE a.record_id = r.id AND a.at < $2
		  AND a.to_status = 'pending' AND a.from_status <> 'pending'), r.created_at)`

// QueueStateAt returns tenantID's queue as it stood at at (events at or
// after at not yet happened); stuckCutoff separates the submitted records
// counted as stuck.
func (s *Store) QueueStateAt(ctx context.Context, tenantID int64, at, stuckCutoff time.Time) (_ *QueueState, err error) {
	defer derrors.Wrap(&err, "Store.QueueStateAt(ctx, %d, %s)", tenantID, at.Format(time.RFC3339))
	var st QueueState
	err = s.withoutJIT(ctx, func(q Querier) error {
		return q.GetContext(ctx, &st, queueStateQuery, tenantID, at.UTC(), stuckCutoff.UTC())
	})
	if err != nil {
		return nil, err
	}
	return &st, nil
}

// withoutJIT runs fn in a transaction with JIT compilation off. The
// report's queries are index lookups, but their per-row subplans push the
// estimated cost past jit_above_cost, and compiling them takes longer than
// running them (measured: 35 ms without JIT, 800 ms with it, at 1,000,000
// records).
func (s *Store) withoutJIT(ctx context.Context, fn func(q Querier) error) error {
	return s.withSettings(ctx, `SET LOCAL jit = off`, fn)
}

// withSettings runs fn in a transaction after set, a list of SET LOCAL
// statements that end with it.
func (s *Store) withSettings(ctx context.Context, set string, fn func(q Querier) error) error {
	return s.InTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, set); err != nil {
			return err
		}
		return fn(tx)
	})
}

// CountStatus counts tenantID's records in status now.
func (s *Store) CountStatus(ctx context.Context, tenantID int64, status string) (n int, err error) {
	defer derrors.Wrap(&err, "Store.CountStatus(ctx, %d, %s)", tenantID, status)
	err = s.db.GetContext(ctx, &n, `SELECT count(*) FROM records WHERE tenant_id = $1 AND status = $2`, tenantID, status)
	return n, err
}

// Confirmations summarises the records confirmed in a window: how many,
// how many of them a reconciliation pass recovered, and the latency from
// submission to confirmation in whole seconds (nearest-rank percentiles;
// nil when nothing was confirmed).
type Confirmations struct {
	Confirmed int    `db:"confirmed"`
	Recovered int    `db:"recovered"`
	P50       *int64 `db:"p50"`
	P95       *int64 `db:"p95"`
	P99       *int64 `db:"p99"`
}

// confirmationsQuery reads confirmations from the audit trail, not from
// records.confirmed_at (which a later conflict resolution overwrites), so a
// past day keeps its numbers. Only confirmations of a submission count (from
// submitted or needs_review), not a conflict decided back to confirmed. The
// submission time is looked up per confirmation by primary key (the CTE is
// materialised so each percentile does not repeat the lookup).
const confirmationsQuery = `
	WITH x AS MATERIALIZED (
		SELECT a.action, greatest(0, floor(extract(epoch FROM a.at - (
		           SELECT r.submitted_at FROM records r WHERE r.id = a.record_id))))::bigint AS secs
		FROM audit_log a
		WHERE a.tenant_id = $1 AND a.at >= $2 AND a.at < $3
		  AND a.to_status = 'confirmed' AND a.from_status IN ('submitted', 'needs_review')
	)
	SELECT count(*) AS confirmed,
	       count(*) FILTER (WHERE x.action = $4) AS recovered,
	       percentile_disc(0.50) WITHIN GROUP (ORDER BY x.secs) AS p50,
	       percentile_disc(0.95) WITHIN GROUP (ORDER BY x.secs) AS p95,
	       percentile_disc(0.99) WITHIN GROUP (ORDER BY x.secs) AS p99
	FROM x`

// ConfirmationsIn summarises tenantID's confirmations in [from, to);
// recoveredAction is the audit action of a confirmation by reconciliation.
func (s *Store) ConfirmationsIn(ctx context.Context, tenantID int64, from, to time.Time, recoveredAction string) (_ *Confirmations, err error) {
	defer derrors.Wrap(&err, "Store.ConfirmationsIn(ctx, %d)", tenantID)
	var c Confirmations
	err = s.withoutJIT(ctx, func(q Querier) error {
		return q.GetContext(ctx, &c, confirmationsQuery, tenantID, from.UTC(), to.UTC(), recoveredAction)
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// DailyReportRow is one stored daily report.
type DailyReportRow struct {
	TenantID    int64           `db:"tenant_id"`
	Day         time.Time       `db:"day"`
	GeneratedAt time.Time       `db:"generated_at"`
	Verdict     string          `db:"verdict"`
	Metrics     json.RawMessage `db:"metrics"`
}

const dailyReportColumns = `tenant_id, day, generated_at, verdict, metrics`

// SaveDailyReport stores r, replacing the tenant's report of that day.
func (s *Store) SaveDailyReport(ctx context.Context, r *DailyReportRow) (err error) {
	defer derrors.Wrap(&err, "Store.SaveDailyReport(ctx, %d, %s)", r.TenantID, r.Day.Format(time.DateOnly))
	_, err = s.db.ExecContext(ctx, `
		INSERT INTO daily_reports (tenant_id, day, generated_at, verdict, metrics)
		VALUES ($1, $2::date, $3, $4, $5)
		ON CONFLICT (tenant_id, day) DO UPDATE
		SET generated_at = EXCLUDED.generated_at, verdict = EXCLUDED.verdict, metrics = EXCLUDED.metrics`,
		r.TenantID, r.Day.Format(time.DateOnly), r.GeneratedAt.UTC(), r.Verdict, jsonOrEmpty(r.Metrics))
	return classify(err)
}

// DailyReport returns tenantID's stored report of day, or NotFound.
func (s *Store) DailyReport(ctx context.Context, tenantID int64, day time.Time) (_ *DailyReportRow, err error) {
	defer derrors.Wrap(&err, "Store.DailyReport(ctx, %d, %s)", tenantID, day.Format(time.DateOnly))
	var r DailyReportRow
	err = s.db.GetContext(ctx, &r, `SELECT `+dailyReportColumns+` FROM daily_reports
		WHERE tenant_id = $1 AND day = $2::date`, tenantID, day.Format(time.DateOnly))
	if err != nil {
		return nil, classify(err)
	}
	return &r, nil
}

// DailyReports lists tenantID's stored reports of the days from first to
// last (inclusive), oldest first.
func (s *Store) DailyReports(ctx context.Context, tenantID int64, first, last time.Time) (_ []*DailyReportRow, err error) {
	defer derrors.Wrap(&err, "Store.DailyReports(ctx, %d)", tenantID)
	var rs []*DailyReportRow
	err = s.db.SelectContext(ctx, &rs, `SELECT `+dailyReportColumns+` FROM daily_reports
		WHERE tenant_id = $1 AND day BETWEEN $2::date AND $3::date
		ORDER BY day`, tenantID, first.Format(time.DateOnly), last.Format(time.DateOnly))
	return rs, err
}
