// Package escalate raises engineering escalations — the spec's third level
// (a spike in failed records, sustained needs-review growth, drift across
// many records) and every other metric of the daily report that says
// "investigate" (internal/report decides; its kinds are listed below) —
// records each once per tenant, kind and day with an audit row, and POSTs
// it to the configured alert webhook from a River job, so a slow or
// failing alert endpoint never blocks a pass.
package escalate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/riverqueue/river"

	"backstop/internal/audit"
	"backstop/internal/jobs"
	"backstop/internal/store"
)

// Kinds of escalation.
const (
	FailedRecords     = "failed_records"
	NeedsReviewGrowth = "needs_review_growth"
	DriftSpike        = "drift_spike"
	RecoveredShare    = "recovered_share"
	PassFailing       = "pass_failing"
	// Raised from the daily report's other investigate verdicts.
	PendingStale        = "pending_stale"
	SubmittedPersistent = "submitted_persistent"
	ConflictGrowth      = "conflict_growth"
	LatencyIncrease     = "latency_increase"
)

// Raiser raises escalations.
type Raiser struct {
	Store *store.Store
	Jobs  jobs.Inserter
	// AlertURL is BACKSTOP_ALERT_WEBHOOK_URL; empty means record only.
	AlertURL string
}

// Raise records an escalation for the day (UTC) of at; see RaiseFor.
func (r *Raiser) Raise(ctx context.Context, tenantID int64, kind string, at time.Time, message string, details any) error {
	return r.RaiseFor(ctx, tenantID, kind, at.UTC().Truncate(24*time.Hour), at, message, details)
}

// RaiseFor records an escalation of day (once per tenant, kind and day)
// with its audit row and, when an alert URL is configured, enqueues its
// delivery — all in one transaction, so an escalation is never recorded
// without its alert or its trail. A daily report finalised after midnight
// raises for the day it reports, not the day it runs.
func (r *Raiser) RaiseFor(ctx context.Context, tenantID int64, kind string, day, at time.Time, message string, details any) error {
	b, err := json.Marshal(details)
	if err != nil {
		return err
	}
	y, m, d := day.UTC().Date()
	e := &store.Escalation{TenantID: tenantID, Kind: kind, Day: time.Date(y, m, d, 0, 0, 0, 0, time.UTC), Message: message,
		Details: b, CreatedAt: at, AlertStatus: "none"}
	if r.AlertURL != "" {
		e.AlertStatus = "pending"
	}
	return r.Store.InTx(ctx, func(tx *sqlx.Tx) error {
		created, err := r.Store.RaiseEscalation(ctx, tx, e)
		if err != nil || !created {
			return err
		}
		if _, err := r.Store.AppendAudit(ctx, tx, &audit.Entry{TenantID: tenantID, At: at, Actor: audit.ActorEscalate,
			Action: "escalation.raised", Category: audit.CatEscalation,
			Details: audit.Details(map[string]any{"escalation_id": e.ID, "kind": kind, "day": e.Day.Format(time.DateOnly), "message": message})}); err != nil {
			return err
		}
		if r.AlertURL == "" {
			return nil
		}
		_, err = r.Jobs.InsertTx(ctx, tx.Tx, AlertArgs{EscalationID: e.ID}, &river.InsertOpts{MaxAttempts: 10})
		return err
	})
}

// AlertArgs delivers one escalation to the alert webhook.
type AlertArgs struct {
	EscalationID int64 `json:"escalation_id"`
}

// Kind is the River job kind.
func (AlertArgs) Kind() string { return "alert" }

// AlertWorker POSTs escalations as JSON; River retries failures with backoff.
type AlertWorker struct {
	river.WorkerDefaults[AlertArgs]
	Store    *store.Store
	AlertURL string
	HTTP     *http.Client
	Log      *slog.Logger
}

// Work delivers the escalation.
func (w *AlertWorker) Work(ctx context.Context, job *river.Job[AlertArgs]) error {
	e, err := w.Store.EscalationByID(ctx, job.Args.EscalationID)
	if err != nil {
		return err
	}
	body, _ := json.Marshal(map[string]any{"type": "backstop.escalation", "escalation": e})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.AlertURL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.HTTP.Do(req)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			err = fmt.Errorf("alert webhook answered %s", resp.Status)
		}
	}
	if err != nil {
		if job.Attempt >= job.MaxAttempts {
			w.Store.SetAlertStatus(ctx, e.ID, "failed")
		}
		return err
	}
	return w.Store.SetAlertStatus(ctx, e.ID, "sent")
}

// Acknowledge records that actor (audit.ActorUser of the engineer) has seen
// the tenant's escalation id, with an audit row naming them in the same
// transaction, and returns the escalation. NotFound if it is not the
// tenant's; WrongState, with the escalation as it was acknowledged, if
// someone already did — and then nothing is written.
func Acknowledge(ctx context.Context, s *store.Store, tenantID, id int64, actor string, at time.Time) (e *store.Escalation, err error) {
	err = s.InTx(ctx, func(tx *sqlx.Tx) error {
		e, err = s.AcknowledgeEscalation(ctx, tx, tenantID, id, actor, at)
		if err != nil {
			return err
		}
		_, err = s.AppendAudit(ctx, tx, &audit.Entry{TenantID: tenantID, At: at, Actor: actor,
			Action: "escalation.acknowledged", Category: audit.CatEscalation,
			Details: audit.Details(map[string]any{"escalation_id": e.ID, "kind": e.Kind, "day": e.Day.Format(time.DateOnly), "message": e.Message})})
		return err
	})
	return e, err
}
