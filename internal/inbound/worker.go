package inbound

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"backstop/internal/audit"
	"backstop/internal/jobs"
	"backstop/internal/record"
	"backstop/internal/store"
	"backstop/internal/virtuous"
)

// DrainArgs applies every stored delivery not yet applied, for all tenants.
type DrainArgs struct{}

// Kind is the River job kind.
func (DrainArgs) Kind() string { return "apply_events" }

// PeriodicDrain runs the drain every interval (on the River leader). One
// drain at a time: a new one is not enqueued while one waits or runs, and
// the next period's comes regardless, so nothing stored waits longer than
// about an interval.
func PeriodicDrain(every time.Duration) *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(every), func() (river.JobArgs, *river.InsertOpts) {
		return DrainArgs{}, &river.InsertOpts{Queue: jobs.QueueDefault, MaxAttempts: 3, UniqueOpts: river.UniqueOpts{
			ByArgs:  true,
			ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning, rivertype.JobStateRetryable, rivertype.JobStateScheduled},
		}}
	}, &river.PeriodicJobOpts{ID: "apply_events", RunOnStart: true})
}

// drainBatch is how many deliveries are applied per transaction.
const drainBatch = 500

// DrainWorker runs stored deliveries through the handler.
type DrainWorker struct {
	river.WorkerDefaults[DrainArgs]
	Handler *Handler
	// Log receives deliveries that could not be applied (default slog's).
	Log *slog.Logger
}

// webhookVia: deliveries confirm records as the normal path, not a recovery.
var webhookVia = Via{ConfirmedVia: record.ViaWebhook, Actor: audit.ActorWebhook, Category: audit.CatWebhook}

// Work applies each tenant's pending deliveries in batches until none are
// left. Each batch is applied and marked applied in one transaction, so a
// crash in between applies it again — which the handler makes harmless.
// Concurrent drainers skip each other's locked rows and split the work.
func (w *DrainWorker) Work(ctx context.Context, _ *river.Job[DrainArgs]) error {
	st := w.Handler.Store
	tenants, err := st.TenantsWithUnappliedEvents(ctx)
	if err != nil {
		return err
	}
	for _, tid := range tenants {
		if err := w.drain(ctx, tid); err != nil {
			return err
		}
	}
	return nil
}

func (w *DrainWorker) drain(ctx context.Context, tenantID int64) error {
	st := w.Handler.Store
	for {
		var n int
		err := st.InTx(ctx, func(tx *sqlx.Tx) error {
			evs, err := st.UnappliedEvents(ctx, tx, tenantID, drainBatch)
			if err != nil || len(evs) == 0 {
				return err
			}
			n = len(evs)
			outcomes, err := w.Handler.applyEvents(ctx, tx, tenantID, evs)
			if err != nil {
				return err
			}
			ids := make([]int64, len(evs))
			for i, e := range evs {
				ids[i] = e.ID
			}
			return st.MarkEventsApplied(ctx, tx, ids, outcomes, w.Handler.Now())
		})
		if err != nil && store.IsDataError(err) {
			n, err = w.drainOneByOne(ctx, tenantID)
		}
		if err != nil {
			return fmt.Errorf("apply deliveries of tenant %d: %w", tenantID, err)
		}
		if n < drainBatch {
			return nil
		}
	}
}

// drainOneByOne applies up to a batch of deliveries one per transaction,
// after a batch was refused for its data: the delivery PostgreSQL cannot
// take is marked failed — in the audit trail and the log, its body kept in
// inbound_events — and the others are applied, so that one bad delivery
// never holds up a tenant's queue. Errors that a retry may cure (a lost
// connection, a deadlock) stop the drain instead, to be retried as a whole.
func (w *DrainWorker) drainOneByOne(ctx context.Context, tenantID int64) (int, error) {
	st := w.Handler.Store
	for i := range drainBatch {
		var ev *store.InboundEvent
		err := st.InTx(ctx, func(tx *sqlx.Tx) error {
			evs, err := st.UnappliedEvents(ctx, tx, tenantID, 1)
			if err != nil || len(evs) == 0 {
				return err
			}
			ev = evs[0]
			outcomes, err := w.Handler.applyEvents(ctx, tx, tenantID, evs)
			if err != nil {
				return err
			}
			return st.MarkEventsApplied(ctx, tx, []int64{ev.ID}, outcomes, w.Handler.Now())
		})
		switch {
		case err == nil && ev == nil:
			return i, nil // nothing left
		case err == nil:
			continue
		case !store.IsDataError(err):
			return i, err
		}
		if err := w.markFailed(ctx, tenantID, ev, err); err != nil {
			return i, err
		}
	}
	return drainBatch, nil
}

// markFailed records that delivery ev could not be applied, once.
func (w *DrainWorker) markFailed(ctx context.Context, tenantID int64, ev *store.InboundEvent, cause error) error {
	st, now := w.Handler.Store, w.Handler.Now()
	msg := cause.Error()
	if len(msg) > 300 {
		msg = msg[:300]
	}
	w.log().Error("webhook delivery could not be applied", slog.Int64("tenant", tenantID),
		slog.Int64("event", ev.ID), slog.String("event_name", ev.Event), slog.Any("error", cause))
	key := fmt.Sprintf("webhook.failed:%d", ev.ID)
	return st.InTx(ctx, func(tx *sqlx.Tx) error {
		if err := st.MarkEventsApplied(ctx, tx, []int64{ev.ID}, []string{"failed"}, now); err != nil {
			return err
		}
		_, err := st.AppendAudit(ctx, tx, &audit.Entry{TenantID: tenantID, At: now, Actor: audit.ActorWebhook,
			Action: "webhook.failed", Category: audit.CatWebhook, DedupeKey: &key,
			Details: audit.Details(map[string]any{"event_id": ev.ID, "event": ev.Event, "virtuous_id": ev.VirtuousID, "error": msg})})
		return err
	})
}

func (w *DrainWorker) log() *slog.Logger {
	if w.Log != nil {
		return w.Log
	}
	return slog.Default()
}

// applyEvents parses deliveries and applies them, gifts and contacts each as
// one batch (contacts first, so gifts compare against their donors).
func (h *Handler) applyEvents(ctx context.Context, tx *sqlx.Tx, tenantID int64, evs []*store.InboundEvent) ([]string, error) {
	outcomes := make([]string, len(evs))
	byKind := map[record.Kind][]Object{}
	idx := map[record.Kind][]int{}
	for i, ev := range evs {
		obj, ok := objectOf(ev.Body)
		if !ok {
			outcomes[i] = "ignored"
			continue
		}
		byKind[obj.Kind] = append(byKind[obj.Kind], obj)
		idx[obj.Kind] = append(idx[obj.Kind], i)
	}
	for _, kind := range []record.Kind{record.Contact, record.Gift} {
		if len(byKind[kind]) == 0 {
			continue
		}
		if _, err := h.ApplyTx(ctx, tx, tenantID, kind, byKind[kind], webhookVia); err != nil {
			return nil, err
		}
		for _, i := range idx[kind] {
			outcomes[i] = "applied"
		}
	}
	return outcomes, nil
}

// objectOf parses a stored delivery into an Object.
func objectOf(body []byte) (Object, bool) {
	e, err := virtuous.ParseWebhook(body)
	switch {
	case err != nil:
		return Object{}, false // stored by an older receiver; nothing to apply
	case e.Gift != nil && e.Kind() == "gift":
		o := FromGift(e.Gift)
		o.Deleted = e.Name == "GiftDelete"
		return o, true
	case e.Contact != nil && e.Kind() == "contact":
		return FromContact(e.Contact), true
	}
	return Object{}, false
}

// ApplyWebhook applies one webhook body inside tx and says what it did.
func (h *Handler) ApplyWebhook(ctx context.Context, tx *sqlx.Tx, tenantID int64, body []byte) (string, error) {
	obj, ok := objectOf(body)
	if !ok {
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
