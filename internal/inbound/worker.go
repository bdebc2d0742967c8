package inbound

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/riverqueue/river"

	"backstop/internal/audit"
	"backstop/internal/jobs"
	"backstop/internal/record"
	"backstop/internal/virtuous"
)

// ApplyArgs applies one stored webhook delivery.
type ApplyArgs struct {
	EventID int64 `json:"event_id"`
}

// Kind is the River job kind.
func (ApplyArgs) Kind() string { return "apply_event" }

// ApplyOpts: one job per event.
func ApplyOpts() *river.InsertOpts {
	return &river.InsertOpts{Queue: jobs.QueueDefault, MaxAttempts: 10, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// ApplyWorker runs stored deliveries through the handler.
type ApplyWorker struct {
	river.WorkerDefaults[ApplyArgs]
	Handler *Handler
}

// webhookVia: deliveries confirm records as the normal path, not a recovery.
var webhookVia = Via{ConfirmedVia: record.ViaWebhook, Actor: audit.ActorWebhook, Category: audit.CatWebhook}

// Work applies the event and marks it applied in one transaction, so a
// crash in between applies it again — which the handler makes harmless.
func (w *ApplyWorker) Work(ctx context.Context, job *river.Job[ApplyArgs]) error {
	st := w.Handler.Store
	return st.InTx(ctx, func(tx *sqlx.Tx) error {
		ev, err := st.InboundEvent(ctx, tx, job.Args.EventID)
		if err != nil {
			return err
		}
		if ev.AppliedAt != nil {
			return nil
		}
		outcome, err := w.Handler.ApplyWebhook(ctx, tx, ev.TenantID, ev.Body)
		if err != nil {
			return fmt.Errorf("event %d: %w", ev.ID, err)
		}
		return st.MarkEventApplied(ctx, tx, ev.ID, w.Handler.Now(), outcome)
	})
}

// ApplyWebhook applies one webhook body inside tx and says what it did.
func (h *Handler) ApplyWebhook(ctx context.Context, tx *sqlx.Tx, tenantID int64, body []byte) (string, error) {
	e, err := virtuous.ParseWebhook(body)
	if err != nil {
		return "unparseable", nil // stored by an older receiver; nothing to apply
	}
	var obj Object
	switch {
	case e.Gift != nil && e.Kind() == "gift":
		obj = FromGift(e.Gift)
		obj.Deleted = e.Name == "GiftDelete"
	case e.Contact != nil && e.Kind() == "contact":
		obj = FromContact(e.Contact)
	default:
		return "ignored", nil
	}
	res, err := h.ApplyTx(ctx, tx, tenantID, obj.Kind, []Object{obj}, webhookVia)
	if err != nil {
		return "", err
	}
	return outcome(res), nil
}

func outcome(r Result) string {
	switch {
	case len(r.Confirmed) > 0:
		return "confirmed"
	case r.Deleted > 0:
		return "deleted"
	case r.VirtuousOnly > 0:
		return "virtuous_only"
	case r.Updated > 0:
		return "updated"
	default:
		return "no_change"
	}
}
