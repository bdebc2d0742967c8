package reconcile

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/riverqueue/river"

	"backstop/internal/audit"
	"backstop/internal/derrors"
	"backstop/internal/jobs"
	"backstop/internal/record"
	"backstop/internal/store"
	"backstop/internal/tenant"
	"backstop/internal/virtuous"
)

// PushArgs writes platform values that won a drift resolution to Virtuous.
type PushArgs struct {
	TenantID int64         `json:"tenant_id"`
	RecordID int64         `json:"record_id"`
	Values   record.Values `json:"values"`
}

// Kind is the River job kind.
func (PushArgs) Kind() string { return "push_virtuous" }

func pushOpts() *river.InsertOpts {
	return &river.InsertOpts{Queue: jobs.QueueDefault, MaxAttempts: 8}
}

// PushWorker sends a resolution's platform values to Virtuous.
type PushWorker struct {
	river.WorkerDefaults[PushArgs]
	Store   *store.Store
	Clients func(ctx context.Context, t *tenant.Tenant) (*virtuous.Client, error)
	Now     func() time.Time
}

// Work PUTs the gift's fields to its Gift and the donor's to its Contact.
// Afterwards the local Virtuous snapshot takes the pushed values, so the
// next comparison agrees before Virtuous' update webhook arrives.
func (w *PushWorker) Work(ctx context.Context, job *river.Job[PushArgs]) error {
	a := job.Args
	t, err := w.Store.TenantByID(ctx, a.TenantID)
	if err != nil {
		return err
	}
	rec, err := w.Store.Record(ctx, w.Store.DB(), a.TenantID, a.RecordID)
	if err != nil {
		return err
	}
	cl, err := w.Clients(ctx, t)
	if err != nil {
		return err
	}
	giftVals, donorVals := split(a.Values)
	contactID := rec.VirtuousContactID
	if rec.Kind == record.Contact {
		contactID, donorVals = rec.VirtuousID, a.Values
		giftVals = nil
	}
	if len(giftVals) > 0 && rec.VirtuousID != nil {
		if err := cl.UpdateGift(ctx, *rec.VirtuousID, giftBody(giftVals)); err != nil {
			return w.failed(ctx, job, rec, err)
		}
	}
	if len(donorVals) > 0 && contactID != nil {
		if err := cl.UpdateContact(ctx, *contactID, contactBody(donorVals)); err != nil {
			return w.failed(ctx, job, rec, err)
		}
	}
	return w.Store.InTx(ctx, func(tx *sqlx.Tx) error {
		if len(giftVals) > 0 {
			if err := w.Store.MergeVirtuousValues(ctx, tx, t.ID, rec.ID, record.MarshalValues(giftVals)); err != nil {
				return err
			}
		}
		if len(donorVals) > 0 && contactID != nil {
			if rec.Kind == record.Contact {
				if err := w.Store.MergeVirtuousValues(ctx, tx, t.ID, rec.ID, record.MarshalValues(donorVals)); err != nil {
					return err
				}
			} else if err := w.Store.MergeContactValues(ctx, tx, t.ID, *contactID, record.MarshalValues(donorVals)); err != nil {
				return err
			}
		}
		key := fmt.Sprintf("pushed:%d", job.ID)
		_, err := w.Store.AppendAudit(ctx, tx, &audit.Entry{TenantID: t.ID, RecordID: &rec.ID, At: w.Now(), Actor: audit.ActorReconcile,
			Action: "drift.pushed", Category: audit.CatDrift, FromStatus: string(rec.Status), ToStatus: string(rec.Status),
			Details: audit.Details(map[string]any{"values": a.Values}), DedupeKey: &key})
		return err
	})
}

// failed: a final refusal from Virtuous is recorded and the record flagged
// for the next drift run; anything else is retried by River.
func (w *PushWorker) failed(ctx context.Context, job *river.Job[PushArgs], rec *record.Record, err error) error {
	var ae *virtuous.APIError
	final := errors.As(err, &ae) && !ae.Retryable()
	if !final && job.Attempt < job.MaxAttempts && !errors.Is(err, derrors.BudgetExhausted) {
		return err
	}
	if errors.Is(err, derrors.BudgetExhausted) && job.Attempt < job.MaxAttempts {
		return river.JobSnooze(time.Minute)
	}
	key := fmt.Sprintf("push_failed:%d", job.ID)
	return w.Store.InTx(ctx, func(tx *sqlx.Tx) error {
		if err := w.Store.SetDriftDirty(ctx, tx, rec.TenantID, []int64{rec.ID}, []bool{true}); err != nil {
			return err
		}
		_, aerr := w.Store.AppendAudit(ctx, tx, &audit.Entry{TenantID: rec.TenantID, RecordID: &rec.ID, At: w.Now(), Actor: audit.ActorReconcile,
			Action: "drift.push_failed", Category: audit.CatDrift, FromStatus: string(rec.Status), ToStatus: string(rec.Status),
			Details: audit.Details(map[string]any{"values": job.Args.Values, "error": err.Error()}), DedupeKey: &key})
		return aerr
	})
}

func split(v record.Values) (gift, donor record.Values) {
	gift, donor = record.Values{}, record.Values{}
	for f, x := range v {
		switch f {
		case record.FieldFirstName, record.FieldLastName, record.FieldEmail, record.FieldPhone, record.FieldAddress:
			donor[f] = x
		default:
			gift[f] = x
		}
	}
	return gift, donor
}

// giftBody is the PUT /api/Gift/{id} body for changed fields. The update
// body's shape is UNCONFIRMED (virtuous-api.md documents the Gift as read,
// not as written); it uses the Gift's own field names.
func giftBody(v record.Values) map[string]any {
	b := map[string]any{}
	for f, x := range v {
		switch f {
		case record.FieldAmount:
			b["amount"] = x
		case record.FieldCurrency:
			b["currencyCode"] = x
		case record.FieldGiftDate:
			b["giftDate"] = x
		case record.FieldGiftType:
			b["giftType"] = x
		case record.FieldDesignations:
			var ds []map[string]string
			for _, d := range record.ParseDesignations(x) {
				ds = append(ds, map[string]string{"projectCode": d.Key, "amountDesignated": d.Amount})
			}
			b["giftDesignations"] = ds
		}
	}
	return b
}

// contactBody is the PUT /api/Contact/{id} body (shape UNCONFIRMED, like
// giftBody; it follows the Contact Transaction's flat field names).
func contactBody(v record.Values) map[string]any {
	b := map[string]any{}
	for f, x := range v {
		switch f {
		case record.FieldFirstName:
			b["firstName"] = x
		case record.FieldLastName:
			b["lastName"] = x
		case record.FieldEmail:
			b["email"] = x
		case record.FieldPhone:
			b["phone"] = x
		case record.FieldAddress:
			a := record.ParseAddress(x)
			b["address"] = map[string]string{"address1": a.Address1, "address2": a.Address2, "city": a.City,
				"state": a.State, "postal": a.Postal, "country": a.Country}
		}
	}
	return b
}

func sha(body, meta []byte) []byte {
	h := sha256.New()
	h.Write(body)
	h.Write(meta)
	return h.Sum(nil)
}
