package reconcile_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"backstop/internal/apptest"
	"backstop/internal/reconcile"
	"backstop/internal/record"
	"backstop/internal/store"
	"backstop/internal/virtuoussim"
)

// allowCalls leaves the tenant's shared budget room for exactly n more
// calls: the simulator's limit (5000, so its headers change nothing), 20%
// of it kept for the customer's other integrations, and a window that ends
// after the simulator's, so its headers are read as the same window and
// the smaller count (ours) wins.
func allowCalls(t *testing.T, e *apptest.Env, n int) {
	t.Helper()
	if _, err := e.App.Store.DB().Exec(`
		UPDATE rate_budgets SET limit_per_hour = 5000, remaining = 1000 + $2, reset_at = now() + interval '2 hours'
		WHERE tenant_id = $1`, e.Tenant.ID, n); err != nil {
		t.Fatal(err)
	}
}

// runOutOfBudget runs pass once with room for n calls and checks that it
// stopped partial, saying so.
func runOutOfBudget(t *testing.T, e *apptest.Env, eng *reconcile.Engine, pass reconcile.Pass, n int) *store.Run {
	t.Helper()
	allowCalls(t, e, n)
	run, err := eng.Run(context.Background(), e.Tenant, pass, reconcile.RunOpts{Trigger: "test", Now: e.Clock.Now()})
	if err == nil || run == nil {
		t.Fatalf("%s with room for %d calls: got %v, want it to run out of budget", pass, n, err)
	}
	if run.Status != "partial" || !strings.Contains(run.Error, "budget") || !strings.Contains(run.Error, "next run resumes") {
		t.Errorf("%s run: got status %q error %q, want partial and a message saying the budget ran out", pass, run.Status, run.Error)
	}
	if run.APICalls != n {
		t.Errorf("%s run made %d calls, want the %d the budget allowed", pass, run.APICalls, n)
	}
	allowCalls(t, e, 4000)
	return run
}

// The rate budget runs out in the middle of a pass: the run ends partial
// and says so, the next run resumes, and no Query page or lookup that was
// answered is asked again (the simulator counts every request).
func TestPassOutOfBudgetResumes(t *testing.T) {
	t.Parallel()
	e := apptest.New(t, apptest.Options{Workers: true, Org: virtuoussim.OrgConfig{WebhookLossRate: 1}})
	const n, unmatched = 24, 9
	submitGifts(t, e, n, func(i int) bool { return i <= unmatched })
	e.Org.RunBatch()
	e.Quiet(30 * time.Second)
	eng := e.Engine()
	eng.Page = 4

	// Missed: contacts then gifts, four to a page; the budget stops it
	// when the contacts are done, before the first page of gifts.
	contacts, gifts := len(e.Org.Contacts()), len(e.Org.Gifts())
	contactPages := (contacts + 3) / 4
	pages := contactPages + (gifts+3)/4
	if contactPages < 2 || gifts < 8 {
		t.Fatalf("%d contacts, %d gifts: too few to stop in the middle", contacts, gifts)
	}
	e.Org.ResetCounters()
	first := runOutOfBudget(t, e, eng, reconcile.Missed, contactPages)
	second, err := eng.Run(context.Background(), e.Tenant, reconcile.Missed, reconcile.RunOpts{Trigger: "test", Now: e.Clock.Now()})
	if err != nil || second.Status != "ok" {
		t.Fatalf("the resumed missed run: got %v, %+v", err, second)
	}
	if q := queryCalls(e.Org.Counters()); q != int64(pages) {
		t.Errorf("missed: %d Query requests over both runs, want %d (every page once)", q, pages)
	}
	if first.Examined+second.Examined != contacts+gifts {
		t.Errorf("missed: examined %d + %d, want %d objects once each", first.Examined, second.Examined, contacts+gifts)
	}
	if got := e.Statuses(); got[record.Confirmed] != n-unmatched || got[record.Submitted] != unmatched {
		t.Fatalf("after the missed runs: got %v, want %d confirmed and the %d unmatched still submitted", got, n-unmatched, unmatched)
	}

	// Stuck: a day later the unmatched gifts are looked up one by one; the
	// budget stops the sweep after three lookups.
	e.Clock.Advance(25 * time.Hour)
	e.Org.ResetCounters()
	runOutOfBudget(t, e, eng, reconcile.Stuck, 3)
	// An admin matches every donor meanwhile (the webhooks are lost): a
	// lookup made from now on finds the gift, so what the next run confirms
	// is exactly what it looked up.
	for _, p := range e.Org.Bucket() {
		if err := e.Org.Resolve(p.TransactionSource, p.TransactionID, 0); err != nil {
			t.Fatal(err)
		}
	}
	second, err = eng.Run(context.Background(), e.Tenant, reconcile.Stuck, reconcile.RunOpts{Trigger: "test", Now: e.Clock.Now()})
	if err != nil || second.Status != "ok" {
		t.Fatalf("the resumed stuck run: got %v, %+v", err, second)
	}
	if l := lookupCalls(e.Org.Counters()); l != unmatched {
		t.Errorf("stuck: %d lookups over both runs, want %d (each record once)", l, unmatched)
	}
	if second.APICalls != unmatched-3 || second.Recovered != unmatched-3 {
		t.Errorf("the resumed stuck run: %d calls, %d recovered; want the %d records the first did not look up", second.APICalls, second.Recovered, unmatched-3)
	}
	// The sweep is complete: the next run starts a new one and finds the
	// three the interrupted run saw as 404.
	third, err := eng.Run(context.Background(), e.Tenant, reconcile.Stuck, reconcile.RunOpts{Trigger: "test", Now: e.Clock.Now()})
	if err != nil || third.APICalls != 3 || third.Recovered != 3 {
		t.Errorf("a new sweep: got %v, %+v; want the three remaining records looked up and recovered", err, third)
	}
	if got := e.Statuses(); got[record.Confirmed] != n {
		t.Errorf("finally: got %v, want all %d confirmed", got, n)
	}
}
