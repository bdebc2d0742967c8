package reconcile

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"backstop/internal/audit"
	"backstop/internal/inbound"
	"backstop/internal/record"
	"backstop/internal/store"
	"backstop/internal/tenant"
	"backstop/internal/virtuous"
)

// lookupBatch is how many lookups are made before their results are
// committed: small, so an interrupted pass wastes little of the rate budget.
const lookupBatch = 50

// stuck is Categories 1 and 2. Records submitted longer ago than stuck_after
// that nothing has confirmed are looked up one by one by their external
// reference: found → confirmed via reconciliation (the webhook was lost);
// still 404 and older than needs_review_after → needs_review, since Virtuous'
// batch could not match the donor and an admin must act in the Import tool.
// A 404 younger than that is left alone: the Transaction may still be waiting
// for the nightly batch.
func (e *Engine) stuck(ctx context.Context, r *run) error {
	cutoff := r.now.Add(-r.t.StuckAfter())
	reviewCutoff := r.now.Add(-r.t.NeedsReviewAfter())
	via := inbound.Via{ConfirmedVia: record.ViaReconciliation, Actor: audit.ActorReconcile, Category: audit.CatStuck, Note: recoveredNote}
	var after int64
	for {
		cands, err := e.Store.StuckCandidates(ctx, r.t.ID, cutoff, after, lookupBatch)
		if err != nil || len(cands) == 0 {
			return err
		}
		after = cands[len(cands)-1].ID
		r.Examined += len(cands)
		found, missing, lookErr := e.lookupAll(ctx, r, cands)
		for kind, objs := range found {
			res, err := e.Inbound.Apply(ctx, r.t.ID, kind, objs, via)
			if err != nil {
				return err
			}
			r.Recovered += len(res.Confirmed)
			r.Applied += res.Applied()
		}
		for _, rec := range missing {
			if rec.AgeAt.After(reviewCutoff) {
				continue
			}
			if err := e.markNeedsReview(ctx, r, rec); err != nil {
				return err
			}
		}
		if lookErr != nil {
			return lookErr
		}
	}
}

// lookupAll looks records up with bounded concurrency. It stops at the first
// error (typically the rate budget running out) and returns what it learned
// before that.
func (e *Engine) lookupAll(ctx context.Context, r *run, recs []*record.Record) (map[record.Kind][]inbound.Object, []*record.Record, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		obj   *inbound.Object
		rec   *record.Record
		err   error
		found bool
	}
	results := make([]result, len(recs))
	n := e.LookupConcurrency
	if n <= 0 {
		n = 4
	}
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for i, rec := range recs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				results[i] = result{rec: rec, err: ctx.Err()}
				return
			}
			defer func() { <-sem }()
			obj, ok, err := e.lookup(ctx, r, rec)
			results[i] = result{obj: obj, rec: rec, found: ok, err: err}
			if err != nil {
				cancel()
			}
		}()
	}
	wg.Wait()
	found := map[record.Kind][]inbound.Object{}
	var missing []*record.Record
	var firstErr error
	for _, res := range results {
		switch {
		case res.err != nil:
			// Prefer the error that stopped the others over their cancellations.
			if firstErr == nil || errors.Is(firstErr, context.Canceled) {
				firstErr = res.err
			}
		case res.found:
			found[res.rec.Kind] = append(found[res.rec.Kind], *res.obj)
		default:
			missing = append(missing, res.rec)
		}
	}
	return found, missing, firstErr
}

// lookup asks Virtuous for one record by its external reference.
func (e *Engine) lookup(ctx context.Context, r *run, rec *record.Record) (*inbound.Object, bool, error) {
	return lookupRef(ctx, r.client, rec.Kind, rec.ExtSource, rec.ExtID)
}

// lookupRef is GET /api/Gift/{transactionSource}/{transactionId} (or
// /api/Contact/{referenceSource}/{referenceId}), reduced for the inbound
// handler; found is false on a 404.
func lookupRef(ctx context.Context, c *virtuous.Client, kind record.Kind, source, id string) (*inbound.Object, bool, error) {
	if kind == record.Gift {
		g, ok, err := c.GiftByTransaction(ctx, source, id)
		if err != nil || !ok {
			return nil, false, err
		}
		o := inbound.FromGift(g)
		return &o, true, nil
	}
	ct, ok, err := c.ContactByReference(ctx, source, id)
	if err != nil || !ok {
		return nil, false, err
	}
	o := inbound.FromContact(ct)
	return &o, true, nil
}

// Lookup is the stuck pass's per-record lookup made now, for a person (the
// dashboard's "Check Virtuous now" and the missing-record runbook): kind
// and reference are the record's, or what the person typed for a record
// Backstop may not have. It uses the tenant's client, so it draws on the
// organization's shared rate budget like any pass.
func (e *Engine) Lookup(ctx context.Context, t *tenant.Tenant, kind record.Kind, source, id string) (*inbound.Object, bool, error) {
	c, err := e.Clients(ctx, t)
	if err != nil {
		return nil, false, err
	}
	return lookupRef(ctx, c, kind, source, id)
}

func (e *Engine) markNeedsReview(ctx context.Context, r *run, rec *record.Record) error {
	age := r.now.Sub(rec.AgeAt).Round(time.Minute)
	what := "Gift"
	if rec.Kind == record.Contact {
		what = "Contact"
	}
	reason := fmt.Sprintf("Virtuous has no %s for %s/%s %s after submission: most likely waiting in the Import tool's Match Needed / Update Needed bucket for an admin",
		what, rec.ExtSource, rec.ExtID, age)
	_, err := e.Store.Transition(ctx, e.Store.DB(), store.Transition{
		TenantID: r.t.ID, RecordID: rec.ID, From: []record.Status{record.Submitted}, To: record.NeedsReview, At: r.now,
		Set: store.Columns{LastSyncAt: &r.now, LastError: &reason},
		Audit: audit.Entry{Actor: audit.ActorReconcile, Action: "reconcile.needs_review", Category: audit.CatNeedsReview,
			Details: audit.Details(map[string]any{"reason": reason, "submitted_at": rec.AgeAt, "age_hours": int(age.Hours())})},
	})
	if err != nil {
		if isWrongState(err) {
			return nil // a webhook confirmed it meanwhile
		}
		return err
	}
	r.NeedsReview++
	return nil
}
