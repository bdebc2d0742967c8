//go:build faults

package faults_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"backstop/internal/apptest"
	"backstop/internal/reconcile"
	"backstop/internal/record"
	"backstop/internal/virtuoussim"
)

// Virtuous misbehaves on every endpoint: 10% of requests answered 5xx (on
// writes, half of them after the write took effect), 5% hang until the
// client gives up, 5% of JSON bodies cut short, and now and then a burst of
// 429s with Retry-After; 30% of webhooks are lost. Every record still ends
// in its correct state, through retries and the passes, and Backstop never
// sends a request while told to wait nor over the hourly limit.
func TestVirtuousFaults(t *testing.T) {
	t.Parallel()
	e := apptest.New(t, apptest.Options{Workers: true, Org: virtuoussim.OrgConfig{
		ServerErrorRate: 0.10, TimeoutRate: 0.05, TimeoutHang: 30 * time.Second, MalformedRate: 0.05,
		ThrottleRate: 0.01, ThrottleFor: 2 * time.Second, WebhookLossRate: 0.3,
	}})
	const gifts, contacts = 150, 15
	unmatched := func(n int) bool { return n%25 == 0 }
	for n := 1; n <= gifts; n++ {
		if code, body := e.Put(record.Gift, fmt.Sprintf("g-%d", n), giftBody(n, unmatched(n))); code != 201 {
			t.Fatalf("put gift %d: %d %v", n, code, body)
		}
	}
	for n := 1; n <= contacts; n++ {
		if code, body := e.Put(record.Contact, fmt.Sprintf("c-%d", n), contactBody(n)); code != 201 {
			t.Fatalf("put contact %d: %d %v", n, code, body)
		}
	}
	e.Eventually("every record submitted", 5*time.Minute, func() bool { return e.Statuses()[record.Pending] == 0 })
	if st := e.Statuses(); st[record.Failed] != 0 {
		t.Fatalf("got %v: faults that retries cure failed records", st)
	}
	e.Org.RunBatch()
	e.Quiet(2 * time.Minute)
	e.Clock.Advance(73 * time.Hour)

	// The passes run until nothing is left for them, as the schedule would
	// run them period after period; a run cut short by faults resumes.
	total, nUnmatched := gifts+contacts, gifts/25
	rounds := 0
	for st := e.Statuses(); st[record.Confirmed] != total-nUnmatched || st[record.NeedsReview] != nUnmatched; st = e.Statuses() {
		if rounds++; rounds > 10 {
			t.Fatalf("after 10 rounds of passes: %v, want %d confirmed and %d in needs-review", st, total-nUnmatched, nUnmatched)
		}
		for _, p := range []reconcile.Pass{reconcile.Missed, reconcile.Stuck} {
			run, err := e.Engine().Run(context.Background(), e.Tenant, p, reconcile.RunOpts{Trigger: "test", Now: e.Clock.Now()})
			if err != nil {
				t.Logf("round %d: %s pass ended %s: %v", rounds, p, run.Status, err)
			}
		}
		e.Clock.Advance(time.Hour)
	}

	// Each matched gift became exactly one Virtuous gift, whose id the
	// record carries.
	perKey := map[string]int{}
	for _, g := range e.Org.Gifts() {
		perKey[g.TransactionID]++
	}
	for n := 1; n <= gifts; n++ {
		id := fmt.Sprintf("pi_%014d", n)
		if unmatched(n) {
			continue
		}
		g, ok := e.Org.GiftByTransaction("Backstop-Stripe", id)
		if !ok || perKey[id] != 1 {
			t.Fatalf("gift %s: %d Virtuous gifts, want exactly 1", id, perKey[id])
		}
		var vid int64
		e.App.Store.DB().Get(&vid, `SELECT coalesce(virtuous_id, 0) FROM records WHERE ext_id = $1`, id)
		if vid != g.ID {
			t.Errorf("gift %s: record carries Virtuous id %d, want %d", id, vid, g.ID)
		}
	}
	var dup []string
	e.App.Store.DB().Select(&dup, `SELECT record_id || ' ' || action FROM audit_log WHERE record_id IS NOT NULL AND action <> 'submit.retry'
		GROUP BY record_id, action HAVING count(*) > 1 LIMIT 5`)
	if len(dup) > 0 {
		t.Errorf("outcomes audited more than once: %v", dup)
	}

	c := e.Org.Counters()
	var reposted, repeats int64
	for _, n := range c.TransactionPosts {
		if n > 1 {
			reposted++
			repeats += n - 1
		}
	}
	var calls int64
	for _, n := range c.Requests {
		calls += n
	}
	t.Logf("%d API requests: %d 5xx (%d after the write took effect), %d hung, %d bodies cut short, %d bursts of 429 (%d answered); "+
		"%d transactions POSTed more than once (%d repeats, %d deduplicated by Virtuous); %d rounds of passes",
		calls, c.ServerErrors, c.ServerErrorsAfterWrite, c.Timeouts, c.Malformed, c.ThrottleBursts, c.Throttled,
		reposted, repeats, c.Deduplicated, rounds)
	var missing []string
	for name, n := range map[string]int64{"5xx": c.ServerErrors, "hangs": c.Timeouts, "cut bodies": c.Malformed, "429 bursts": c.ThrottleBursts} {
		if n == 0 {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		t.Errorf("no %s were injected; the test proves little", strings.Join(missing, ", "))
	}
	if c.RetryAfterIgnored != 0 || c.RateLimited != 0 {
		t.Errorf("%d requests sent during a Retry-After and %d over the hourly limit, want 0 and 0", c.RetryAfterIgnored, c.RateLimited)
	}
}
