package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"

	"backstop/internal/audit"
	"backstop/internal/derrors"
	"backstop/internal/record"
	"backstop/internal/store"
	"backstop/internal/tenant"
)

// openConflict hands drift to the customer (policy manual): the record moves
// to conflict and the per-field differences are kept for the conflict page.
func (e *Engine) openConflict(ctx context.Context, tx *sqlx.Tx, r *run, rec *record.Record, diffs []record.Diff) error {
	b, _ := json.Marshal(diffs)
	moved, err := e.Store.Transition(ctx, tx, store.Transition{
		TenantID: r.t.ID, RecordID: rec.ID, From: []record.Status{record.Confirmed}, To: record.Conflict, At: r.now,
		Audit: audit.Entry{Actor: audit.ActorReconcile, Action: "drift.conflict", Category: audit.CatDrift,
			Details: audit.Details(map[string]any{"policy": tenant.PolicyManual, "fields": diffs})},
	})
	if err != nil {
		return err
	}
	if err := e.Store.InsertConflict(ctx, tx, &store.ConflictRow{TenantID: r.t.ID, RecordID: rec.ID, CreatedAt: r.now, Fields: b, RecordVersion: moved.Version}); err != nil {
		return err
	}
	return e.Store.SetDriftDirty(ctx, tx, r.t.ID, []int64{rec.ID}, []bool{false})
}

// fieldChange is one field of a resolution, before and after.
type fieldChange struct {
	Field          record.Field `json:"field"`
	Winner         tenant.Side  `json:"winner"`
	PlatformBefore string       `json:"platform_before"`
	VirtuousBefore string       `json:"virtuous_before"`
	After          string       `json:"after"`
}

// resolve writes each field's winning value to the side that lost: a
// Virtuous value into Backstop's copy of the platform's body and onto the
// changes feed for the platform to take; a platform value to Virtuous by a
// push job (enqueued in this transaction, so it exists only if the
// resolution commits). One audit row records every field before and after.
func (e *Engine) resolve(ctx context.Context, tx *sqlx.Tx, t *tenant.Tenant, rec *record.Record, diffs []record.Diff, win map[record.Field]tenant.Side, actor, policy string, now time.Time) error {
	toPlatform, toVirtuous := record.Values{}, record.Values{}
	changes := make([]fieldChange, 0, len(diffs))
	for _, d := range diffs {
		c := fieldChange{Field: d.Field, Winner: win[d.Field], PlatformBefore: d.Platform, VirtuousBefore: d.Virtuous}
		if c.Winner == tenant.Virtuous {
			toPlatform[d.Field], c.After = d.Virtuous, d.Virtuous
		} else {
			toVirtuous[d.Field], c.After = d.Platform, d.Platform
		}
		changes = append(changes, c)
	}
	if len(toPlatform) > 0 {
		if err := e.applyToPlatform(ctx, tx, t, rec, toPlatform, now); err != nil {
			return err
		}
	}
	if len(toVirtuous) > 0 {
		if _, err := e.Jobs.InsertTx(ctx, tx.Tx, PushArgs{TenantID: t.ID, RecordID: rec.ID, Values: toVirtuous}, pushOpts()); err != nil {
			return fmt.Errorf("enqueue push of record %d: %w", rec.ID, err)
		}
	}
	if err := e.Store.SetDriftDirty(ctx, tx, t.ID, []int64{rec.ID}, []bool{false}); err != nil {
		return err
	}
	_, err := e.Store.AppendAudit(ctx, tx, &audit.Entry{
		TenantID: t.ID, RecordID: &rec.ID, At: now, Actor: actor, Action: "drift.resolved", Category: audit.CatDrift,
		FromStatus: string(rec.Status), ToStatus: string(record.Confirmed),
		Details: audit.Details(map[string]any{"policy": policy, "fields": changes}),
	})
	return err
}

// applyToPlatform takes Virtuous values into the record's body and publishes
// them on the changes feed.
func (e *Engine) applyToPlatform(ctx context.Context, tx *sqlx.Tx, t *tenant.Tenant, rec *record.Record, vals record.Values, now time.Time) error {
	body, err := record.ApplyValues(rec.Kind, rec.Payload, vals)
	if err != nil {
		return fmt.Errorf("record %d: apply Virtuous values: %w", rec.ID, err)
	}
	sum, err := record.Summarize(rec.Kind, body)
	if err != nil {
		return fmt.Errorf("record %d: %w", rec.ID, err)
	}
	if err := e.Store.UpdatePayload(ctx, tx, t.ID, rec.ID, store.PlatformChange{
		SourceRef: rec.SourceRef, SourceMeta: rec.SourceMeta, ExtSource: rec.ExtSource, ExtID: rec.ExtID,
		Payload: body, PayloadSHA: sha(body, rec.SourceMeta), DonorName: sum.DonorName, DonorEmail: sum.DonorEmail,
		AmountMinor: sum.Amount, Currency: sum.Currency, GiftDate: sum.GiftDate, At: now,
	}); err != nil {
		return err
	}
	data, _ := json.Marshal(map[string]any{"apply": vals})
	return e.Store.PublishApply(ctx, tx, t.ID, rec, now, data)
}

// AlreadyResolvedError says someone else resolved the conflict first.
type AlreadyResolvedError struct {
	By string
	At time.Time
}

func (e *AlreadyResolvedError) Error() string {
	return fmt.Sprintf("this conflict was already resolved by %s at %s", e.By, e.At.UTC().Format("2006-01-02 15:04 UTC"))
}

// Is makes it a WrongState.
func (e *AlreadyResolvedError) Is(target error) bool { return target == derrors.WrongState }

// ResolveConflict applies a person's per-field choices to a conflict: each
// chosen value goes to the other side, the conflict closes and the record
// returns to confirmed. version is the record version the person saw; if two
// people resolve at once, one wins and the other gets AlreadyResolvedError
// (or a version error), and nothing is applied twice.
func (e *Engine) ResolveConflict(ctx context.Context, t *tenant.Tenant, recordID, version int64, choices map[record.Field]tenant.Side, actor string, now time.Time) error {
	return e.Store.InTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := e.Store.LockRecord(ctx, tx, t.ID, recordID); err != nil {
			return err
		}
		c, err := e.Store.OpenConflict(ctx, tx, t.ID, recordID)
		if errors.Is(err, derrors.NotFound) {
			if last, lerr := e.Store.LatestConflict(ctx, tx, t.ID, recordID); lerr == nil && last.ResolvedAt != nil && last.ResolvedBy != nil {
				return &AlreadyResolvedError{By: *last.ResolvedBy, At: *last.ResolvedAt}
			}
			return fmt.Errorf("%w: record %d has no open conflict", derrors.WrongState, recordID)
		}
		if err != nil {
			return err
		}
		diffs := c.Diffs()
		for _, d := range diffs {
			if s := choices[d.Field]; s != tenant.Platform && s != tenant.Virtuous {
				return derrors.Invalid(string(d.Field), "choose platform or virtuous")
			}
		}
		// A choice for a field the conflict does not hold would go into the
		// audit trail and the resolution as if it had been decided.
		for f := range choices {
			if !slices.ContainsFunc(diffs, func(d record.Diff) bool { return d.Field == f }) {
				return derrors.Invalid("", "%q is not one of the fields in this conflict; reload the page and choose again", f)
			}
		}
		moved, err := e.Store.Transition(ctx, tx, store.Transition{
			TenantID: t.ID, RecordID: recordID, From: []record.Status{record.Conflict}, To: record.Confirmed,
			Version: version, At: now,
			Audit: audit.Entry{Actor: actor, Action: "conflict.resolved", Category: audit.CatReview,
				Details: audit.Details(map[string]any{"choices": choices})},
		})
		if err != nil {
			return err
		}
		res, _ := json.Marshal(choices)
		if err := e.Store.CloseConflict(ctx, tx, c.ID, actor, now, res); err != nil {
			return err
		}
		return e.resolve(ctx, tx, t, moved, diffs, choices, actor, string(tenant.PolicyManual), now)
	})
}
