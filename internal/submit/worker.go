package submit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"backstop/internal/audit"
	"backstop/internal/derrors"
	"backstop/internal/escalate"
	"backstop/internal/record"
	"backstop/internal/report"
	"backstop/internal/store"
	"backstop/internal/tenant"
)

// Client is what submission needs of the Virtuous client.
type Client interface {
	SubmitGift(ctx context.Context, body any) error
	SubmitContact(ctx context.Context, body any) error
}

// Worker submits one record.
type Worker struct {
	river.WorkerDefaults[Args]
	Store   *store.Store
	Clients func(ctx context.Context, t *tenant.Tenant) (Client, error)
	Now     func() time.Time
	Log     *slog.Logger
	// Escalate raises the engineering escalation for failed records (once
	// per tenant and day); nil skips it.
	Escalate *escalate.Raiser
}

// retryable is implemented by errors a later attempt may cure (429, 5xx,
// timeouts); anything else from Virtuous is final.
type retryable interface{ Retryable() bool }

// Work POSTs the record's Transaction and records the outcome. A record that
// is no longer pending was handled by an earlier run; the job then ends.
func (w *Worker) Work(ctx context.Context, job *river.Job[Args]) error {
	a := job.Args
	t, err := w.Store.TenantByID(ctx, a.TenantID)
	if err != nil {
		return err
	}
	rec, err := w.Store.Record(ctx, w.Store.DB(), a.TenantID, a.RecordID)
	if err != nil {
		return err
	}
	if rec.Status != record.Pending {
		return nil
	}
	cl, err := w.Clients(ctx, t)
	if err != nil {
		return err
	}
	// Virtuous dedupes Transactions on transactionSource/transactionId, so a
	// POST repeated after a crash between the call and the commit below is
	// harmless: it never makes a second gift.
	body := json.RawMessage(rec.Payload)
	if rec.Kind == record.Gift {
		err = cl.SubmitGift(ctx, body)
	} else {
		err = cl.SubmitContact(ctx, body)
	}
	now := w.Now().UTC()
	var rt retryable
	switch {
	case err == nil:
		return w.accepted(ctx, job, rec, now)
	case errors.Is(err, derrors.BudgetExhausted):
		// Not the record's fault: wait for the budget without using an attempt.
		return river.JobSnooze(time.Minute)
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		return err
	case errors.As(err, &rt) && !rt.Retryable():
		return w.failed(ctx, job, t, rec, now, err.Error())
	case job.Attempt >= job.MaxAttempts:
		return w.failed(ctx, job, t, rec, now, fmt.Sprintf("gave up after %d attempts: %v", job.Attempt, err))
	default:
		if nerr := w.noteRetry(ctx, job, rec, now, err); nerr != nil {
			return nerr
		}
		return err // River retries with backoff
	}
}

func (w *Worker) accepted(ctx context.Context, job *river.Job[Args], rec *record.Record, now time.Time) error {
	empty := ""
	_, err := w.Store.Transition(ctx, w.Store.DB(), store.Transition{
		TenantID: rec.TenantID, RecordID: rec.ID, From: []record.Status{record.Pending}, To: record.Submitted, At: now,
		Set: store.Columns{SubmittedAt: &now, LastSyncAt: &now, Attempts: &job.Attempt, LastError: &empty},
		Audit: audit.Entry{Actor: audit.ActorSubmit, Action: "submit.accepted", Category: audit.CatSubmission,
			Details: audit.Details(map[string]any{"attempt": job.Attempt, "transaction_source": rec.ExtSource, "transaction_id": rec.ExtID})},
	})
	if errors.Is(err, derrors.WrongState) {
		return nil // someone else moved it meanwhile (discarded, confirmed by a webhook)
	}
	return err
}

func (w *Worker) failed(ctx context.Context, job *river.Job[Args], t *tenant.Tenant, rec *record.Record, now time.Time, msg string) error {
	_, err := w.Store.Transition(ctx, w.Store.DB(), store.Transition{
		TenantID: rec.TenantID, RecordID: rec.ID, From: []record.Status{record.Pending}, To: record.Failed, At: now,
		Set: store.Columns{LastSyncAt: &now, Attempts: &job.Attempt, LastError: &msg},
		Audit: audit.Entry{Actor: audit.ActorSubmit, Action: "submit.failed", Category: audit.CatSubmission,
			Details: audit.Details(map[string]any{"attempt": job.Attempt, "error": msg})},
	})
	if errors.Is(err, derrors.WrongState) {
		return nil
	}
	if err != nil || w.Escalate == nil {
		return err
	}
	// The report's failed rule (spec: "any non-zero count") decides at once
	// whether engineering hears of it, so the escalation and the day's
	// report agree. A failure to raise it must not undo the record's
	// outcome, so it is logged, not returned.
	if err := report.CheckFailed(ctx, w.Store, w.Escalate, t, now); err != nil {
		w.Log.Error("raise escalation", slog.Int64("record", rec.ID), slog.Any("error", err))
	}
	return nil
}

func (w *Worker) noteRetry(ctx context.Context, job *river.Job[Args], rec *record.Record, now time.Time, cause error) error {
	key := fmt.Sprintf("submit.retry:%d:%d:%d", rec.ID, job.ID, job.Attempt)
	return w.Store.NoteAttempt(ctx, rec.TenantID, rec.ID, job.Attempt, cause.Error(), &audit.Entry{
		TenantID: rec.TenantID, RecordID: &rec.ID, At: now, Actor: audit.ActorSubmit, Action: "submit.retry",
		Category: audit.CatSubmission, FromStatus: string(rec.Status), ToStatus: string(rec.Status),
		Details:   audit.Details(map[string]any{"attempt": job.Attempt, "max_attempts": job.MaxAttempts, "error": cause.Error()}),
		DedupeKey: &key,
	})
}
