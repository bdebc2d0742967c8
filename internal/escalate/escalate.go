// Package escalate raises engineering escalations — the spec's third level:
// a spike in failed records, sustained needs-review growth, drift across many
// records, a recovered share above 1% — records each once per tenant, kind
// and day, and POSTs it to the configured alert webhook from a River job, so
// a slow or failing alert endpoint never blocks a pass.
package escalate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/riverqueue/river"

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
)

// Raiser raises escalations.
type Raiser struct {
	Store *store.Store
	Jobs  jobs.Inserter
	// AlertURL is BACKSTOP_ALERT_WEBHOOK_URL; empty means record only.
	AlertURL string
}

// Raise records an escalation (once per tenant, kind and day) and, when an
// alert URL is configured, enqueues its delivery.
func (r *Raiser) Raise(ctx context.Context, tenantID int64, kind string, at time.Time, message string, details any) error {
	b, err := json.Marshal(details)
	if err != nil {
		return err
	}
	e := &store.Escalation{TenantID: tenantID, Kind: kind, Day: at.UTC().Truncate(24 * time.Hour), Message: message,
		Details: b, CreatedAt: at, AlertStatus: "none"}
	if r.AlertURL != "" {
		e.AlertStatus = "pending"
	}
	created, err := r.Store.RaiseEscalation(ctx, r.Store.DB(), e)
	if err != nil || !created || r.AlertURL == "" {
		return err
	}
	_, err = r.Jobs.Insert(ctx, AlertArgs{EscalationID: e.ID}, &river.InsertOpts{MaxAttempts: 10})
	return err
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
