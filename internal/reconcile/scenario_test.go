package reconcile_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"backstop/internal/apptest"
	"backstop/internal/dbtest"
	"backstop/internal/reconcile"
	"backstop/internal/record"
	"backstop/internal/virtuoussim"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// submitGifts PUTs gifts 1..n (unmatched donors from first to last) and
// waits for the workers to submit them all.
func submitGifts(t *testing.T, e *apptest.Env, n int, unmatched func(int) bool) {
	t.Helper()
	for i := 1; i <= n; i++ {
		body := apptest.Gift(i, fmt.Sprintf("%d.00", 10+i))
		if unmatched != nil && unmatched(i) {
			body = apptest.UnmatchedGift(i, fmt.Sprintf("%d.00", 10+i))
		}
		if code, out := e.Put(record.Gift, fmt.Sprintf("order-%d", i), body); code != 201 {
			t.Fatalf("put %d: %d %v", i, code, out)
		}
	}
	e.Eventually("records submitted", 120*time.Second, func() bool { return e.Statuses()[record.Submitted] == n })
}

func queryCalls(c virtuoussim.Counters) int64 {
	return c.Requests["POST /api/Gift/Query/FullGift"] + c.Requests["POST /api/Contact/Query/FullContact"]
}

func lookupCalls(c virtuoussim.Counters) int64 {
	return c.Requests["GET /api/Gift/{transactionSource}/{transactionId}"] + c.Requests["GET /api/Contact/{referenceSource}/{referenceId}"]
}

// (a) A six-hour webhook outage while the batch creates 2,000 gifts: the
// next passes confirm every one of them with a handful of Query pages and
// no per-record lookups.
func TestScenarioOutageRecoveredByQuery(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 2, 18, 0, 0, 0, time.UTC)
	e := apptest.New(t, apptest.Options{Workers: true, Start: start, Org: virtuoussim.OrgConfig{
		Outages:        []virtuoussim.Window{{From: start.Add(5 * time.Hour), To: start.Add(11 * time.Hour)}},
		WebhookRetries: []time.Duration{}, // Virtuous' retries fall inside the outage too
	}})
	submitGifts(t, e, 2000, nil)
	e.Clock.Advance(7 * time.Hour) // crosses midnight: the nightly batch runs inside the outage
	e.Quiet(60 * time.Second)
	if got := e.Statuses()[record.Submitted]; got != 2000 {
		t.Fatalf("got %d still submitted after the outage, want all 2000 (their webhooks were lost)", got)
	}
	e.Org.ResetCounters()
	e.Clock.Advance(24 * time.Hour)
	missed := e.Reconcile(reconcile.Missed)
	stuck := e.Reconcile(reconcile.Stuck)
	c := e.Org.Counters()
	t.Logf("missed: %+v", *missed)
	t.Logf("stuck: %+v", *stuck)
	if st := e.Statuses(); st[record.Confirmed] != 2000 {
		t.Fatalf("got %v, want all 2000 confirmed", st)
	}
	if q := queryCalls(c); q > 5 {
		t.Errorf("got %d Query calls, want at most 5", q)
	}
	if l := lookupCalls(c); l != 0 {
		t.Errorf("got %d per-record lookups, want none", l)
	}
	if missed.Recovered != 2000 || missed.Status != "ok" || missed.APICalls != int(queryCalls(c)) {
		t.Errorf("missed run: got recovered %d status %s calls %d, want 2000 ok %d", missed.Recovered, missed.Status, missed.APICalls, queryCalls(c))
	}
	var notes int
	e.App.Store.DB().Get(&notes, `SELECT count(*) FROM audit_log WHERE action = 'confirmed.reconciliation'
		AND details->>'note' = 'recovered through reconciliation, not the webhook path'`)
	if notes != 2000 {
		t.Errorf("got %d recovery audit rows with the spec's note, want 2000", notes)
	}
}

// (b) Unmatched donors stay 404 in Virtuous: needs_review after 72 hours and
// not before, then confirmed once an admin resolves them in Virtuous.
func TestScenarioNeedsReviewBoundary(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	e := apptest.New(t, apptest.Options{Workers: true, Start: start})
	submitGifts(t, e, 10, func(i int) bool { return i%2 == 0 })
	e.Org.RunBatch()
	e.Eventually("matched gifts confirmed by webhook", 30*time.Second, func() bool { return e.Statuses()[record.Confirmed] == 5 })

	e.Clock.Set(start.Add(72*time.Hour - time.Minute)) // 71h59m after submission
	run := e.Reconcile(reconcile.Stuck)
	if got := e.Statuses(); got[record.NeedsReview] != 0 || got[record.Submitted] != 5 {
		t.Fatalf("at 71h59m: got %v (run %+v), want 5 still submitted and none in needs_review", got, *run)
	}
	if run.Examined != 5 || run.APICalls != 5 {
		t.Errorf("at 71h59m: got examined %d, calls %d; want 5 lookups", run.Examined, run.APICalls)
	}
	e.Clock.Set(start.Add(72*time.Hour + time.Minute)) // 72h01m
	run = e.Reconcile(reconcile.Stuck)
	if got := e.Statuses(); got[record.NeedsReview] != 5 {
		t.Fatalf("at 72h01m: got %v, want 5 in needs_review", got)
	}
	if run.NeedsReview != 5 {
		t.Errorf("run says %d marked needs-review, want 5", run.NeedsReview)
	}
	var reason string
	e.App.Store.DB().Get(&reason, `SELECT last_error FROM records WHERE status = 'needs_review' LIMIT 1`)
	if !strings.Contains(reason, "Import tool") {
		t.Errorf("got reason %q, want it to point at the Import tool", reason)
	}

	for _, p := range e.Org.Bucket() {
		if err := e.Org.Resolve(p.TransactionSource, p.TransactionID, 0); err != nil {
			t.Fatal(err)
		}
	}
	e.Eventually("resolved gifts confirmed by their webhooks", 30*time.Second, func() bool { return e.Statuses()[record.Confirmed] == 10 })
	var via int
	e.App.Store.DB().Get(&via, `SELECT count(*) FROM audit_log WHERE from_status = 'needs_review' AND to_status = 'confirmed' AND action = 'confirmed.webhook'`)
	if via != 5 {
		t.Errorf("got %d needs_review → confirmed webhook transitions, want 5", via)
	}
}

// A pass that finds nothing to do spends nothing on lookups.
func TestStuckPassIdle(t *testing.T) {
	t.Parallel()
	e := apptest.New(t, apptest.Options{})
	run := e.Reconcile(reconcile.Stuck)
	if run.Status != "ok" || run.APICalls != 0 || run.Examined != 0 {
		t.Errorf("got %+v, want an ok run with no calls", *run)
	}
}

// Two runs of one tenant's pass never overlap: the second is refused while
// the first holds the lock, and runs once it is released.
func TestPassLock(t *testing.T) {
	t.Parallel()
	e := apptest.New(t, apptest.Options{Org: virtuoussim.OrgConfig{Latency: 300 * time.Millisecond}})
	eng := e.Engine()
	done := make(chan error)
	go func() {
		_, err := eng.Run(context.Background(), e.Tenant, reconcile.Missed, reconcile.RunOpts{Now: e.Clock.Now()})
		done <- err
	}()
	time.Sleep(150 * time.Millisecond)
	if _, err := eng.Run(context.Background(), e.Tenant, reconcile.Missed, reconcile.RunOpts{Now: e.Clock.Now()}); err != reconcile.ErrBusy {
		t.Errorf("second run while the first holds the lock: got %v, want ErrBusy", err)
	}
	if _, err := eng.Run(context.Background(), e.Tenant, reconcile.Stuck, reconcile.RunOpts{Now: e.Clock.Now()}); err != nil {
		t.Errorf("another pass of the same tenant: got %v, want it to run", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Run(context.Background(), e.Tenant, reconcile.Missed, reconcile.RunOpts{Now: e.Clock.Now()}); err != nil {
		t.Errorf("after the first finished: got %v, want it to run", err)
	}
}
