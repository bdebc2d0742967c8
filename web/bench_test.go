package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"backstop/internal/auth"
	"backstop/internal/record"
	"backstop/internal/report"
	"backstop/internal/store"
)

// BenchmarkQueuePage measures the needs-review queue page with 1,000,000
// records in the database, 200,000 of them in needs review, across three
// tenants: page 1, page 1,000 (reached through its keyset cursor, as the
// Next links do), and a free-text search. Each sub-benchmark reports the
// server's time per request (its Server-Timing header: query, counts,
// render) at p50 and p95, and logs the plan of the page's query.
//
//	go test ./web -run '^$' -bench BenchmarkQueuePage -benchtime 200x
func BenchmarkQueuePage(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	t2, _, _ := e.addTenant("beta", "")
	t3, _, _ := e.addTenant("gamma", "")
	tenants := []int64{e.tenant.ID, t2.ID, t3.ID}
	start := time.Now()
	loadRecords(b, e, tenants, 1_000_000)
	b.Logf("loaded 1,000,000 records in %s", time.Since(start).Round(time.Second))
	var n int
	e.store.DB().Get(&n, `SELECT count(*) FROM records WHERE status = 'needs_review'`)
	if n != 200_000 {
		b.Fatalf("got %d records in needs review, want 200,000", n)
	}
	pw := addUser(b, e.store, "eng@example.org", auth.Engineer, nil)
	br := newBrowser(b, e.srv.URL)
	br.signIn("eng@example.org", pw)

	q := store.QueueQuery{TenantID: e.tenant.ID, Status: record.NeedsReview, Sort: store.SortOldest, Limit: 50}
	// Page 1,000's cursor is row 49,950's position (seeking to it costs
	// one index read; following 999 Next links would read the same rows).
	var at time.Time
	var id int64
	row := e.store.DB().QueryRow(`SELECT age_at, id FROM records WHERE tenant_id = $1 AND status = 'needs_review'
		ORDER BY age_at, id OFFSET 49949 LIMIT 1`, e.tenant.ID)
	if err := row.Scan(&at, &id); err != nil {
		b.Fatal(err)
	}
	v := at.UTC().Format(time.RFC3339Nano)
	cur := &store.QueueCursor{Value: &v, ID: id}
	// The tabs' counts are part of every page; alone, for comparison.
	b.Run("TabCounts", func(b *testing.B) {
		var times []float64
		for b.Loop() {
			t0 := time.Now()
			if _, err := e.store.QueueCounts(ctx, []int64{e.tenant.ID}); err != nil {
				b.Fatal(err)
			}
			times = append(times, float64(time.Since(t0).Microseconds())/1000)
		}
		slices.Sort(times)
		b.ReportMetric(pct(times, 50), "p50-ms")
		b.ReportMetric(pct(times, 95), "p95-ms")
	})
	for _, c := range []struct {
		name, path string
		q          store.QueueQuery
	}{
		{"Page1", "/t/acme/queues/needs-review", q},
		{"Page1000", "/t/acme/queues/needs-review?page=1000&after=" + cur.String(), withAfter(q, cur)},
		{"Search", "/t/acme/queues/needs-review?q=" + url.QueryEscape("donor7777"), withSearch(q, "donor7777")},
	} {
		plan, err := e.store.ExplainQueue(ctx, c.q)
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("%s plan:\n%s", c.name, plan)
		if strings.Contains(plan, "Seq Scan") {
			b.Errorf("%s: the plan reads the table sequentially", c.name)
		}
		b.Run(c.name, func(b *testing.B) {
			var times []float64
			for b.Loop() {
				resp, body := br.get(c.path)
				if resp.StatusCode != http.StatusOK || !strings.Contains(body, `class="donor"`) {
					b.Fatalf("got %d without rows", resp.StatusCode)
				}
				times = append(times, serverMillis(b, resp))
			}
			slices.Sort(times)
			b.ReportMetric(pct(times, 50), "p50-ms")
			b.ReportMetric(pct(times, 95), "p95-ms")
		})
	}
}

func withAfter(q store.QueueQuery, c *store.QueueCursor) store.QueueQuery { q.After = c; return q }
func withSearch(q store.QueueQuery, s string) store.QueueQuery            { q.Search = s; return q }

func serverMillis(b *testing.B, resp *http.Response) float64 {
	st := resp.Header.Get("Server-Timing")
	ms, err := strconv.ParseFloat(strings.TrimPrefix(st, "app;dur="), 64)
	if err != nil {
		b.Fatalf("Server-Timing %q: %v", st, err)
	}
	return ms
}

func pct(sorted []float64, p int) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	return sorted[min(max(i-1, 0), len(sorted)-1)]
}

// loadRecords writes n records with generate_series: one in five in
// needs review, the rest confirmed, spread over the tenants, 90 days of
// ages, amounts and gift dates.
func loadRecords(b *testing.B, e *env, tenants []int64, n int) {
	b.Helper()
	db := e.store.DB()
	if _, err := db.Exec(`SET maintenance_work_mem = '256MB'`); err != nil {
		b.Fatal(err)
	}
	_, err := db.Exec(fmt.Sprintf(`
		INSERT INTO records (tenant_id, kind, platform_id, source, source_ref, source_meta, ext_source, ext_id,
		                     status, payload, payload_sha, donor_name, donor_email, amount_minor, currency,
		                     gift_date, created_at, platform_updated_at, updated_at, submitted_at, last_error)
		SELECT (ARRAY[%d, %d, %d])[1 + g %% 3], 'gift', 'order-' || g, 'stripe', 'pi_' || lpad(g::text, 14, '0'),
		       '{"livemode": true}', 'Backstop-Stripe', 'pi_' || lpad(g::text, 14, '0'),
		       CASE WHEN g %% 5 = 0 THEN 'needs_review' ELSE 'confirmed' END,
		       jsonb_build_object('amount', ((100 + g * 7919 %% 100000) / 100.0)::text, 'currencyCode', 'USD'),
		       '\x00', 'Donor ' || g, 'donor' || g || '@example.org', 100 + g * 7919 %% 100000, 'USD',
		       date '2026-06-01' + (g %% 150)::int, ts, ts, ts, ts,
		       CASE WHEN g %% 5 = 0 THEN 'Virtuous has no Gift for Backstop-Stripe/pi_' || lpad(g::text, 14, '0') || ' 72h after submission' ELSE '' END
		FROM generate_series(1::bigint, %d) g, LATERAL (SELECT timestamptz '2026-08-01' + g * interval '7 seconds' AS ts) t`,
		tenants[0], tenants[1], tenants[2], n))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := db.Exec(`VACUUM ANALYZE records`); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkEngineeringPage measures /engineering with 1,000 tenants, each
// with 500 records in every status, 30 days of pass runs (13 a day) and
// daily reports, and a few open escalations: 500,000 records, 390,000 runs.
// It reports the server's time per page (Server-Timing) at p50 and p95,
// and checks that the overview's statement reads records only through
// indexes.
//
//	go test ./web -run '^$' -bench BenchmarkEngineeringPage -benchtime 20x
func BenchmarkEngineeringPage(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	db := e.store.DB()
	start := time.Now()
	for _, q := range []string{
		`INSERT INTO tenants (slug, name, virtuous_base_url, virtuous_key_enc, webhook_token_enc, intake_token_hash)
		 SELECT 't' || g, 'Tenant ' || g, 'http://127.0.0.1:9', '\x00', '\x00', ('x' || g)::bytea FROM generate_series(1, 999) g`,
		`INSERT INTO records (tenant_id, kind, platform_id, source, source_ref, source_meta, ext_source, ext_id,
		                     status, payload, payload_sha, created_at, platform_updated_at, updated_at, submitted_at)
		 SELECT t.id, 'gift', 'order-' || g, 'stripe', 'pi_' || g, '{}', 'Backstop-Stripe', 'pi_' || g,
		        (ARRAY['confirmed','confirmed','confirmed','confirmed','submitted','pending','needs_review','failed','conflict','confirmed'])[1 + g % 10],
		        '{}', '\x00', ts, ts, ts, ts
		 FROM tenants t, generate_series(1, 500) g, LATERAL (SELECT timestamptz '2026-10-01' + g * interval '1 hour' AS ts) x`,
		`INSERT INTO reconciliation_runs (tenant_id, pass, slot, started_at, finished_at, status, api_calls)
		 SELECT t.id, p.pass, p.pass || ':' || h, timestamptz '2026-10-03' + h * interval '1 hour',
		        timestamptz '2026-10-03' + h * interval '1 hour' + interval '30 seconds', 'ok', 3
		 FROM tenants t, generate_series(0, 719) h,
		      LATERAL (SELECT unnest(ARRAY['missed','stuck','drift']) AS pass, unnest(ARRAY[6, 3, 24]) AS every) p
		 WHERE h % p.every = 0`,
		`INSERT INTO daily_reports (tenant_id, day, generated_at, verdict, metrics)
		 SELECT t.id, date '2026-10-03' + d, timestamptz '2026-10-03' + d * interval '1 day',
		        CASE WHEN (t.id + d) % 4 = 0 THEN 'investigate' ELSE 'healthy' END, '{"version":1,"metrics":[]}'
		 FROM tenants t, generate_series(0, 29) d`,
		`INSERT INTO escalations (tenant_id, kind, day, message, created_at)
		 SELECT t.id, 'failed_records', date '2026-10-03' + d, 'records failed', timestamptz '2026-10-03' + d * interval '1 day'
		 FROM tenants t, generate_series(0, 29) d WHERE (t.id + d) % 7 = 0`,
		`INSERT INTO rate_budgets (tenant_id) SELECT id FROM tenants ON CONFLICT DO NOTHING`,
		`VACUUM ANALYZE`,
	} {
		if _, err := db.Exec(q); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("loaded 1,000 tenants in %s", time.Since(start).Round(time.Second))
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	e.now = now
	plan, err := e.store.ExplainTenantOverviews(ctx, now.Truncate(24*time.Hour), now)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("overview plan:\n%s", plan)
	if strings.Contains(plan, "Seq Scan on records") || strings.Contains(plan, "Seq Scan on reconciliation_runs") {
		b.Error("the overview reads a large table sequentially")
	}
	pw := addUser(b, e.store, "eng@example.org", auth.Engineer, nil)
	br := newBrowser(b, e.srv.URL)
	br.signIn("eng@example.org", pw)
	// The overview's two statements alone, for comparison.
	b.Run("Overview", func(b *testing.B) {
		var times []float64
		for b.Loop() {
			t0 := time.Now()
			hs, err := report.Overview(ctx, e.store, now)
			if err != nil || len(hs) != 1000 {
				b.Fatalf("got %d tenants (%v)", len(hs), err)
			}
			times = append(times, float64(time.Since(t0).Microseconds())/1000)
		}
		slices.Sort(times)
		b.ReportMetric(pct(times, 50), "p50-ms")
		b.ReportMetric(pct(times, 95), "p95-ms")
	})
	b.Run("Page", func(b *testing.B) {
		var times []float64
		for b.Loop() {
			resp, body := br.get("/engineering")
			if resp.StatusCode != http.StatusOK || strings.Count(body, `<tr class="tenant"`) != 1000 {
				b.Fatalf("got %d with %d tenants", resp.StatusCode, strings.Count(body, `<tr class="tenant"`))
			}
			times = append(times, serverMillis(b, resp))
		}
		slices.Sort(times)
		b.ReportMetric(pct(times, 50), "p50-ms")
		b.ReportMetric(pct(times, 95), "p95-ms")
	})
}
