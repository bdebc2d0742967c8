package reconcile_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"backstop/internal/apptest"
	"backstop/internal/reconcile"
	"backstop/internal/record"
	"backstop/internal/virtuous"
	"backstop/internal/virtuoussim"
)

// checkInvariants: every record is either confirmed with exactly one
// confirmation in the audit trail and its Virtuous id, or still submitted
// with none; and no run is left marked running.
func checkInvariants(t *testing.T, e *apptest.Env, when string) int {
	t.Helper()
	var bad []struct {
		ID       int64  `db:"id"`
		Status   string `db:"status"`
		Confirms int    `db:"confirms"`
	}
	err := e.App.Store.DB().Select(&bad, `
		SELECT r.id, r.status, count(a.id) AS confirms
		FROM records r LEFT JOIN audit_log a ON a.record_id = r.id AND a.to_status = 'confirmed'
		WHERE r.tenant_id = $1
		GROUP BY r.id
		HAVING (r.status = 'confirmed' AND (count(a.id) <> 1 OR bool_or(r.virtuous_id IS NULL)))
		    OR (r.status <> 'confirmed' AND count(a.id) <> 0)`, e.Tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(bad) > 0 {
		t.Fatalf("%s: %d half-applied or doubly-audited records, e.g. %+v", when, len(bad), bad[0])
	}
	var running int
	e.App.Store.DB().Get(&running, `SELECT count(*) FROM reconciliation_runs WHERE status = 'running'`)
	if running != 0 {
		t.Fatalf("%s: %d runs left marked running", when, running)
	}
	return e.Statuses()[record.Confirmed]
}

// cancelAt cancels a run's context at its at-th request to Virtuous, in
// one of three places: before the request is sent, as its response body is
// closed (the cancel lands in the decoding or the next database step), or
// a random moment later (inside the page's or the lookups' database work).
// Requests after the at-th wait for the cancel and fail, so a run gets at
// most at answers, and a run that needs more cannot finish.
type cancelAt struct {
	mu     sync.Mutex
	n, at  int
	mode   int
	delay  time.Duration
	cancel context.CancelFunc
	fired  bool
}

func (c *cancelAt) arm(at, mode int, delay time.Duration, cancel context.CancelFunc) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n, c.at, c.mode, c.delay, c.cancel, c.fired = 0, at, mode, delay, cancel, false
}

// hasFired reports whether the run reached its at-th request.
func (c *cancelAt) hasFired() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fired
}

func (c *cancelAt) RoundTrip(req *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.n++
	n := c.n
	c.fired = c.fired || n == c.at
	mode, delay, cancel := c.mode, c.delay, c.cancel
	c.mu.Unlock()
	switch {
	case n < c.at:
		return http.DefaultTransport.RoundTrip(req)
	case n > c.at:
		<-req.Context().Done()
		return nil, req.Context().Err()
	case mode == 0:
		cancel()
		return http.DefaultTransport.RoundTrip(req)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: func() {
		if mode == 1 {
			cancel()
			return
		}
		go func() {
			time.Sleep(delay)
			cancel()
		}()
	}}
	return resp, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel func()
	once   sync.Once
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.cancel)
	return err
}

// A pass cancelled at random points, many times, leaves no record half
// applied; the next uninterrupted run finishes the job without a duplicate
// audit outcome. The missed pass is interrupted between and inside its
// Query pages, the stuck pass among its per-record lookups.
//
// Every one of the 20 interruptions lands on unfinished work: before each,
// 30 more gifts are submitted whose webhooks are lost, and the run is
// cancelled at a request before the last one it needs (the missed pass's
// first to third, ten objects to a page: it fetches a page ahead, so a
// cancel at request k lands while page k−1 is applied, and a run finishes
// at most one of the three gift pages each round adds; any stuck lookup
// but the last); a run that is not cancelled mid-way fails the test.
func TestPassCancelledAtRandomPoints(t *testing.T) {
	t.Parallel()
	for _, pass := range []reconcile.Pass{reconcile.Missed, reconcile.Stuck} {
		t.Run(string(pass), func(t *testing.T) {
			t.Parallel()
			e := apptest.New(t, apptest.Options{Workers: true, Org: virtuoussim.OrgConfig{WebhookLossRate: 1, Latency: 2 * time.Millisecond}})
			rng := rand.New(rand.NewPCG(9, uint64(len(pass))))
			tr := &cancelAt{}
			eng := e.App.Engine(e.Jobs, func(c *virtuous.Config) {
				c.BaseBackoff, c.MaxBackoff = 20*time.Millisecond, 200*time.Millisecond
				c.HTTPClient = &http.Client{Transport: tr}
			})
			eng.Log = e.App.Log
			eng.Page = 10
			// Each page in three transactions, so that interruptions also
			// land between one part's commit and the next (the page is then
			// applied again, and must change nothing twice).
			eng.ApplyParts = 3
			const rounds, perRound = 20, 30
			for i := range rounds {
				reseed(t, e, i*perRound, perRound)
				left := e.Statuses()[record.Submitted]
				at := 1 + rng.IntN(3)
				if pass == reconcile.Stuck {
					at = 1 + rng.IntN(left-1) // one lookup per record left
				}
				ctx, cancel := context.WithCancel(context.Background())
				tr.arm(at, rng.IntN(3), time.Duration(rng.IntN(3000))*time.Microsecond, cancel)
				_, err := eng.Run(ctx, e.Tenant, pass, reconcile.RunOpts{Trigger: "test", Now: e.Clock.Now()})
				cancelled := ctx.Err() != nil
				cancel()
				got := checkInvariants(t, e, fmt.Sprintf("after interruption %d", i))
				after := e.Statuses()[record.Submitted]
				t.Logf("run %d: cancelled at request %d; confirmed %d, left %d, err=%v", i, at, got, after, err)
				if !tr.hasFired() || !cancelled || err == nil || after == 0 {
					t.Fatalf("run %d was not interrupted mid-work: reached request %d %v, err %v, %d records left to recover", i, at, tr.hasFired(), err, after)
				}
			}
			run := e.Reconcile(pass)
			if got := checkInvariants(t, e, "final"); got != rounds*perRound || run.Status != "ok" {
				t.Fatalf("after an uninterrupted run: %d confirmed (run %+v), want all %d", got, *run, rounds*perRound)
			}
		})
	}
}

// reseed submits gifts from+1 … from+n, lets the batch import them (their
// webhooks are lost), and moves the clock past stuck_after. The donors are
// seven people giving again and again, so the missed pass's contacts stay
// one page and its interruptions land among the gift pages.
func reseed(t *testing.T, e *apptest.Env, from, n int) {
	t.Helper()
	for i := from + 1; i <= from+n; i++ {
		body := apptest.Gift(i, fmt.Sprintf("%d.00", 10+i))
		body = strings.NewReplacer(fmt.Sprintf("Number %d", i), fmt.Sprintf("Number %d", i%7),
			fmt.Sprintf("donor%d@", i), fmt.Sprintf("donor%d@", i%7)).Replace(body)
		if code, out := e.Put(record.Gift, fmt.Sprintf("order-%d", i), body); code != 201 {
			t.Fatalf("put %d: %d %v", i, code, out)
		}
	}
	e.Eventually("records submitted", 60*time.Second, func() bool { return e.Statuses()[record.Pending] == 0 })
	e.Org.RunBatch()
	e.Quiet(30 * time.Second)
	e.Clock.Advance(25 * time.Hour)
}
