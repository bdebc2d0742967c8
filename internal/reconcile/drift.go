package reconcile

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"

	"backstop/internal/audit"
	"backstop/internal/inbound"
	"backstop/internal/record"
	"backstop/internal/report"
	"backstop/internal/store"
	"backstop/internal/tenant"
	"backstop/internal/virtuous"
)

// driftBatch is how many candidates are refreshed with one Query.
const driftBatch = 100

// drift is Category 4. Confirmed records flagged as changed on either side
// since their last check (by the inbound handler or by intake) are refreshed
// from Virtuous in bulk — one Query by Gift Id and one by Contact Id per
// hundred records — compared field by field over record.Fields, and resolved
// by the tenant's policy.
func (e *Engine) drift(ctx context.Context, r *run) error {
	var after int64
	for {
		cands, err := e.Store.DriftCandidates(ctx, r.t.ID, after, driftBatch)
		if err != nil || len(cands) == 0 {
			break
		}
		after = cands[len(cands)-1].ID
		r.Examined += len(cands)
		if err := e.refresh(ctx, r, cands); err != nil {
			return err
		}
		for _, c := range cands {
			if err := e.checkRecord(ctx, r, c.ID); err != nil {
				return err
			}
		}
	}
	// The report's drift rule, applied to this run: the escalation and the
	// day's report say the same.
	return report.Escalate(ctx, e.Escalate, r.t.ID, report.Day(r.now), r.now, report.DriftMetric(r.DriftFound, 1, r.t))
}

// refresh fetches the candidates' current Virtuous versions and applies them
// through the inbound handler, so the comparison uses Virtuous as it is now.
func (e *Engine) refresh(ctx context.Context, r *run, cands []*record.Record) error {
	var giftIDs, contactIDs []int64
	for _, c := range cands {
		switch {
		case c.VirtuousID == nil:
		case c.Kind == record.Gift:
			giftIDs = append(giftIDs, *c.VirtuousID)
			if c.VirtuousContactID != nil {
				contactIDs = append(contactIDs, *c.VirtuousContactID)
			}
		default:
			contactIDs = append(contactIDs, *c.VirtuousID)
		}
	}
	via := inbound.Via{ConfirmedVia: record.ViaReconciliation, Actor: audit.ActorReconcile, Category: audit.CatDrift, Note: recoveredNote}
	if len(giftIDs) > 0 {
		p, err := r.client.QueryGifts(ctx, virtuous.Query{Groups: virtuous.IDIn("Gift Id", giftIDs)}, 0, virtuous.MaxTake)
		if err != nil {
			return err
		}
		objs := make([]inbound.Object, len(p.List))
		for i := range p.List {
			objs[i] = inbound.FromGift(&p.List[i])
		}
		if _, err := e.Inbound.Apply(ctx, r.t.ID, record.Gift, objs, via); err != nil {
			return err
		}
	}
	if len(contactIDs) > 0 {
		p, err := r.client.QueryContacts(ctx, virtuous.Query{Groups: virtuous.IDIn("Contact Id", dedupe(contactIDs))}, 0, virtuous.MaxTake)
		if err != nil {
			return err
		}
		objs := make([]inbound.Object, len(p.List))
		for i := range p.List {
			objs[i] = inbound.FromContact(&p.List[i])
		}
		if _, err := e.Inbound.Apply(ctx, r.t.ID, record.Contact, objs, via); err != nil {
			return err
		}
	}
	return nil
}

// checkRecord compares one record and resolves what differs, in one
// transaction with the record locked.
func (e *Engine) checkRecord(ctx context.Context, r *run, id int64) error {
	return e.Store.InTx(ctx, func(tx *sqlx.Tx) error {
		rec, err := e.Store.LockRecord(ctx, tx, r.t.ID, id)
		if err != nil {
			return err
		}
		if rec.Status != record.Confirmed || !rec.DriftDirty || rec.VirtuousDeletedAt != nil {
			return e.Store.SetDriftDirty(ctx, tx, r.t.ID, []int64{rec.ID}, []bool{false})
		}
		diffs, err := e.compare(ctx, tx, r.t.ID, rec)
		if err != nil {
			return err
		}
		if len(diffs) == 0 {
			return e.Store.SetDriftDirty(ctx, tx, r.t.ID, []int64{rec.ID}, []bool{false})
		}
		r.DriftFound++
		if r.t.DriftPolicy == tenant.PolicyManual {
			return e.openConflict(ctx, tx, r, rec, diffs)
		}
		return e.resolve(ctx, tx, r.t, rec, diffs, winners(r.t, rec, diffs), audit.ActorReconcile, string(r.t.DriftPolicy), r.now)
	})
}

// compare is the field-by-field comparison: the platform's body against the
// Virtuous snapshot (a gift's own fields, and its donor's from the contact).
func (e *Engine) compare(ctx context.Context, q store.Querier, tenantID int64, rec *record.Record) ([]record.Diff, error) {
	pv, err := record.PlatformValues(rec.Kind, rec.Payload)
	if err != nil {
		return nil, fmt.Errorf("record %d: %w", rec.ID, err)
	}
	vv := record.UnmarshalValues(rec.VirtuousData)
	if rec.Kind == record.Gift && rec.VirtuousContactID != nil {
		cs, err := e.Store.VirtuousContacts(ctx, q, tenantID, []int64{*rec.VirtuousContactID})
		if err != nil {
			return nil, err
		}
		if c, ok := cs[*rec.VirtuousContactID]; ok {
			for f, v := range record.UnmarshalValues(c.Data) {
				vv[f] = v
			}
		}
	}
	return record.Compare(pv, vv), nil
}

// winners applies an automatic policy to each differing field.
func winners(t *tenant.Tenant, rec *record.Record, diffs []record.Diff) map[record.Field]tenant.Side {
	out := make(map[record.Field]tenant.Side, len(diffs))
	owners := t.Owners()
	for _, d := range diffs {
		switch t.DriftPolicy {
		case tenant.PolicyVirtuous:
			out[d.Field] = tenant.Virtuous
		case tenant.PolicyOwnership:
			out[d.Field] = owners[d.Field]
		case tenant.PolicyMostRecent:
			// The side changed last wins; a tie goes to the platform, which
			// took the payment.
			out[d.Field] = tenant.Platform
			if rec.VirtuousModifiedAt != nil && rec.VirtuousModifiedAt.After(rec.PlatformUpdatedAt) {
				out[d.Field] = tenant.Virtuous
			}
		}
	}
	return out
}

func dedupe(ids []int64) []int64 {
	seen := make(map[int64]bool, len(ids))
	out := ids[:0:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
