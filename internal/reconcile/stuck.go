package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
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

// stuckResume is where an unfinished sweep of the stuck pass stands: every
// candidate up to After has been looked up, and so have the ids in Done
// above it (lookups run in parallel, so the one refused by the budget may
// have had later ones answered). The next run continues the sweep there
// rather than spending the budget on the same lookups again; a completed
// sweep clears it, and the run after that starts from the first record.
type stuckResume struct {
	After int64   `json:"after,omitempty"`
	Done  []int64 `json:"done,omitempty"`
}

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
	ps, err := e.Store.PassState(ctx, e.Store.DB(), r.t.ID, string(Stuck))
	if err != nil {
		return err
	}
	var res stuckResume
	json.Unmarshal(ps.Resume, &res)
	done := map[int64]bool{}
	for _, id := range res.Done {
		done[id] = true
	}
	after := res.After
	for {
		cands, err := e.Store.StuckCandidates(ctx, r.t.ID, cutoff, after, lookupBatch)
		if err != nil {
			return err
		}
		if len(cands) == 0 {
			if res.After == 0 && len(res.Done) == 0 {
				return nil
			}
			return e.saveStuck(ctx, r, ps, stuckResume{})
		}
		todo := slices.DeleteFunc(slices.Clone(cands), func(rec *record.Record) bool { return done[rec.ID] })
		results, lookErr := e.lookupAll(ctx, r, todo)
		found := map[record.Kind][]inbound.Object{}
		var missing []*record.Record
		for _, lr := range results {
			switch {
			case !lr.done:
				continue
			case lr.obj != nil:
				found[lr.rec.Kind] = append(found[lr.rec.Kind], *lr.obj)
			default:
				missing = append(missing, lr.rec)
			}
			done[lr.rec.ID] = true
			r.Examined++
		}
		for kind, objs := range found {
			res, err := e.Inbound.Apply(ctx, r.t.ID, kind, objs, via)
			if err != nil {
				return err
			}
			r.Recovered += len(res.Confirmed)
			r.Applied += res.Applied()
		}
		var waiting []audit.Entry
		for _, rec := range missing {
			if rec.AgeAt.After(reviewCutoff) {
				waiting = append(waiting, notFoundEntry(r, rec))
				continue
			}
			if err := e.markNeedsReview(ctx, r, rec); err != nil {
				return err
			}
		}
		if err := e.Store.AppendAudits(ctx, e.Store.DB(), waiting); err != nil {
			return err
		}
		// Saved after every batch, so a killed run resumes too.
		res = resumeAfter(after, cands, done)
		if err := e.saveStuck(ctx, r, ps, res); err != nil {
			return err
		}
		if lookErr != nil {
			return lookErr
		}
		after, done = res.After, map[int64]bool{}
	}
}

// resumeAfter is the resume point after a batch fetched after id after: the
// last of the looked-up candidates at the batch's start, and the looked-up
// ids beyond the first one that was not.
func resumeAfter(after int64, cands []*record.Record, done map[int64]bool) stuckResume {
	res := stuckResume{After: after}
	i := 0
	for ; i < len(cands) && done[cands[i].ID]; i++ {
		res.After = cands[i].ID
	}
	for _, rec := range cands[i:] {
		if done[rec.ID] {
			res.Done = append(res.Done, rec.ID)
		}
	}
	return res
}

func (e *Engine) saveStuck(ctx context.Context, r *run, ps *store.PassState, res stuckResume) error {
	b, _ := json.Marshal(res)
	return e.Store.SavePassState(ctx, e.Store.DB(), r.t.ID, string(Stuck), &store.PassState{Watermark: ps.Watermark, Resume: b})
}

// lookupResult is one record's lookup: done when Virtuous answered, with
// obj nil for a 404.
type lookupResult struct {
	rec  *record.Record
	obj  *inbound.Object
	done bool
}

// lookupAll looks records up with bounded concurrency. The first error
// (typically the rate budget running out) stops new lookups from starting,
// but those already in flight finish: their answers were paid for, and
// throwing them away would make the next run ask again. It returns every
// record's result and that first error.
func (e *Engine) lookupAll(ctx context.Context, r *run, recs []*record.Record) ([]lookupResult, error) {
	results := make([]lookupResult, len(recs))
	errs := make([]error, len(recs))
	stop := make(chan struct{})
	var once sync.Once
	n := e.LookupConcurrency
	if n <= 0 {
		n = 4
	}
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for i, rec := range recs {
		results[i].rec = rec
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-stop:
				return
			}
			defer func() { <-sem }()
			select {
			case <-stop:
				return // stopped while this one waited for its turn
			default:
			}
			obj, ok, err := e.lookup(ctx, r, rec)
			if err != nil {
				errs[i] = err
				once.Do(func() { close(stop) })
				return
			}
			results[i].done = true
			if ok {
				results[i].obj = obj
			}
		}()
	}
	wg.Wait()
	var firstErr error
	for _, err := range errs {
		// Prefer the error that stopped the others over cancellations.
		if err != nil && (firstErr == nil || errors.Is(firstErr, context.Canceled)) {
			firstErr = err
		}
	}
	return results, firstErr
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

// notFoundEntry records a lookup that found nothing yet — the outcome of a
// record the batch may still confirm — once per record (its dedupe key):
// the trail then reads "not found", and later "recovered" or "needs review".
func notFoundEntry(r *run, rec *record.Record) audit.Entry {
	key := fmt.Sprintf("reconcile.not_found:%d", rec.ID)
	return audit.Entry{TenantID: r.t.ID, RecordID: &rec.ID, At: r.now, Actor: audit.ActorReconcile, Action: "reconcile.not_found",
		Category: audit.CatStuck, FromStatus: string(rec.Status), ToStatus: string(rec.Status), DedupeKey: &key,
		Details: audit.Details(map[string]any{"note": fmt.Sprintf("Virtuous has no %s for %s/%s yet: it may still be in the nightly batch; needs review after %s",
			rec.Kind, rec.ExtSource, rec.ExtID, r.t.NeedsReviewAfter()), "submitted_at": rec.AgeAt})}
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
