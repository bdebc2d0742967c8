package reconcile_test

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"backstop/internal/apptest"
	"backstop/internal/reconcile"
	"backstop/internal/virtuoussim"
)

// loadSubmitted puts n submitted records into Backstop, submitted age ago,
// and the first inVirtuous of them into the simulator as gifts (created and
// modified now, no webhooks: every delivery lost), in bulk.
func loadSubmitted(b testing.TB, e *apptest.Env, n, inVirtuous int, age time.Duration) {
	ids := make([]string, inVirtuous)
	for i := range ids {
		ids[i] = fmt.Sprintf("pi_%014d", i+1)
	}
	if _, err := e.Org.BulkLoadGifts(inVirtuous, virtuoussim.BulkGifts{TransactionSource: "Backstop-Stripe", TransactionIDs: ids, AmountMinor: 1000, GiftDate: "2026-11-01"}); err != nil {
		b.Fatal(err)
	}
	_, err := e.App.Store.DB().Exec(`
		INSERT INTO records (tenant_id, kind, platform_id, source, source_ref, ext_source, ext_id, status, payload,
		                     payload_sha, donor_name, donor_email, amount_minor, currency, gift_date, created_at,
		                     platform_updated_at, updated_at, submitted_at)
		SELECT $1, 'gift', 'order-' || g, 'stripe', k, 'Backstop-Stripe', k, 'submitted',
		       jsonb_build_object('transactionSource', 'Backstop-Stripe', 'transactionId', k, 'amount', '10.00',
		                          'currencyCode', 'USD', 'giftDate', '2026-11-01', 'giftType', 'Credit',
		                          'contact', jsonb_build_object('firstname', 'Donor', 'lastname', g::text, 'email', 'd' || g || '@example.org')),
		       '\x00', 'Donor ' || g, 'd' || g || '@example.org', 1000, 'USD', '2026-11-01', $2, $2, $2, $2
		FROM generate_series(1, $3) g, LATERAL (SELECT 'pi_' || lpad(g::text, 14, '0') AS k) key`,
		e.Tenant.ID, e.Clock.Now().Add(-age), n)
	if err != nil {
		b.Fatal(err)
	}
	e.App.Store.DB().Exec(`ANALYZE records`)
}

// BenchmarkMissedPass100k: 100,000 gifts modified in Virtuous with every
// webhook lost, recovered by one missed pass against the simulator with zero
// latency. Reports records applied per second and API calls per recovered
// record (targets: ≥ 5,000/s and ≤ 0.002).
func BenchmarkMissedPass100k(b *testing.B) {
	n := benchN()
	for range b.N {
		b.StopTimer()
		e := apptest.New(b, apptest.Options{})
		loadSubmitted(b, e, n, n, 30*time.Hour)
		eng := e.Engine()
		b.StartTimer()
		start := time.Now()
		run, err := eng.Run(b.Context(), e.Tenant, reconcile.Missed, reconcile.RunOpts{Trigger: "bench", Now: e.Clock.Now()})
		took := time.Since(start)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if run.Recovered != n {
			b.Fatalf("recovered %d of %d", run.Recovered, n)
		}
		b.ReportMetric(float64(run.Applied)/took.Seconds(), "applied/s")
		b.ReportMetric(float64(run.Recovered)/took.Seconds(), "recovered/s")
		b.ReportMetric(float64(run.APICalls)/float64(run.Recovered), "calls/recovered")
		b.ReportMetric(float64(run.APICalls), "calls")
	}
}

// benchN is the benchmark's size: 100,000 unless BACKSTOP_BENCH_N says
// otherwise (for profiling runs).
func benchN() int {
	if v, err := strconv.Atoi(os.Getenv("BACKSTOP_BENCH_N")); err == nil && v > 0 {
		return v
	}
	return 100_000
}

// BenchmarkStuckPass100k: 100,000 records submitted more than 72 hours ago,
// 1% of which Virtuous never matched (they wait in its bucket: 404). The
// missed pass confirms the 99% with Query pages; the stuck pass looks up
// only the rest and hands them to needs-review. Target: API calls ≤ 1.05 ×
// unmatched + Query pages. Reports the calls and the wall time.
func BenchmarkStuckPass100k(b *testing.B) {
	n := benchN()
	unmatched := n / 100
	for range b.N {
		b.StopTimer()
		e := apptest.New(b, apptest.Options{})
		loadSubmitted(b, e, n, n-unmatched, 73*time.Hour)
		eng := e.Engine()
		b.StartTimer()
		start := time.Now()
		missed, err := eng.Run(b.Context(), e.Tenant, reconcile.Missed, reconcile.RunOpts{Trigger: "bench", Now: e.Clock.Now()})
		if err != nil {
			b.Fatal(err)
		}
		stuck, err := eng.Run(b.Context(), e.Tenant, reconcile.Stuck, reconcile.RunOpts{Trigger: "bench", Now: e.Clock.Now()})
		took := time.Since(start)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if missed.Recovered != n-unmatched || stuck.NeedsReview != unmatched {
			b.Fatalf("recovered %d (want %d), needs review %d (want %d)", missed.Recovered, n-unmatched, stuck.NeedsReview, unmatched)
		}
		budget := 1.05*float64(unmatched) + float64(missed.APICalls)
		if calls := float64(missed.APICalls + stuck.APICalls); calls > budget {
			b.Errorf("API calls %v > 1.05 × %d unmatched + %d Query pages = %v", calls, unmatched, missed.APICalls, budget)
		}
		b.ReportMetric(float64(missed.APICalls), "query_calls")
		b.ReportMetric(float64(stuck.APICalls), "lookup_calls")
		b.ReportMetric(float64(missed.APICalls+stuck.APICalls)/(1.05*float64(unmatched)+float64(missed.APICalls)), "calls/budget")
		b.ReportMetric(took.Seconds(), "wall_s")
	}
}
