package reconcile_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"backstop/internal/apptest"
	"backstop/internal/reconcile"
	"backstop/internal/record"
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

// A pass cancelled at random points, many times, leaves no record half
// applied; the next uninterrupted run finishes the job without a duplicate
// audit outcome. The missed pass is interrupted between and inside its
// Query pages, the stuck pass among its per-record lookups.
func TestPassCancelledAtRandomPoints(t *testing.T) {
	t.Parallel()
	for _, pass := range []reconcile.Pass{reconcile.Missed, reconcile.Stuck} {
		t.Run(string(pass), func(t *testing.T) {
			t.Parallel()
			e := apptest.New(t, apptest.Options{Workers: true, Org: virtuoussim.OrgConfig{WebhookLossRate: 1, Latency: 2 * time.Millisecond}})
			const n = 400
			submitGifts(t, e, n, nil)
			e.Org.RunBatch()
			e.Quiet(30 * time.Second)
			e.Clock.Advance(25 * time.Hour)
			rng := rand.New(rand.NewPCG(9, uint64(len(pass))))
			eng := e.Engine()
			eng.Page = 50 // more pages, more places to be interrupted
			interrupted := 0
			for i := range 20 {
				ctx, cancel := context.WithTimeout(context.Background(), time.Duration(rng.IntN(300))*time.Millisecond)
				_, err := eng.Run(ctx, e.Tenant, pass, reconcile.RunOpts{Trigger: "test", Now: e.Clock.Now()})
				cancel()
				if err != nil {
					interrupted++
				}
				got := checkInvariants(t, e, fmt.Sprintf("after interruption %d", i))
				t.Logf("run %d: confirmed %d, err=%v", i, got, err)
			}
			if interrupted < 5 {
				t.Errorf("only %d of 20 runs were interrupted; the test proves little", interrupted)
			}
			run := e.Reconcile(pass)
			if got := checkInvariants(t, e, "final"); got != n || run.Status != "ok" {
				t.Fatalf("after an uninterrupted run: %d confirmed (run %+v), want all %d", got, *run, n)
			}
		})
	}
}
