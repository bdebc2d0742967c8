package store_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"backstop/internal/dbtest"
	"backstop/internal/escalate"
	"backstop/internal/report"
	"backstop/internal/store"
	"backstop/internal/tenant"
)

// benchDay is the reported day: a fixed date, so the workload does not
// depend on the time of day the benchmark runs.
var benchDay = time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC)

// seedReportBench loads n records created evenly over the 30 days up to
// benchDay's 23:00 and five audit rows each — a status history consistent
// with each record's status — with generate_series. Of every 1000 records
// 1 is pending, 10 submitted, 5 needs_review, 2 failed, 2 conflict and the
// rest confirmed (20 of those by reconciliation).
func seedReportBench(b *testing.B, s *store.Store, tenantID int64, n int) {
	b.Helper()
	start := time.Now()
	from := benchDay.Add(23*time.Hour).AddDate(0, 0, -30)
	if _, err := s.DB().Exec(`
		INSERT INTO records (tenant_id, kind, platform_id, source, source_ref, ext_source, ext_id, status,
		                     payload, payload_sha, created_at, platform_updated_at, updated_at, submitted_at, confirmed_at)
		SELECT $1, 'gift', 'order-' || k, 'stripe', 'pi_' || k, 'Backstop-Stripe', 'txn-' || k, st.status,
		       '{}', '\x01', c.at, c.at, c.at,
		       CASE WHEN st.status NOT IN ('pending', 'failed') THEN c.at + interval '1 minute' END,
		       CASE WHEN st.status IN ('confirmed', 'conflict') THEN c.at + interval '1 minute' + (60 + k % 600) * interval '1 minute' END
		FROM generate_series(1, $2::int) k,
		     LATERAL (SELECT $3::timestamptz + (k::float8 / $2) * interval '30 days' AS at) c,
		     LATERAL (SELECT CASE
		         WHEN k % 1000 = 0 THEN 'pending'
		         WHEN k % 1000 <= 10 THEN 'submitted'
		         WHEN k % 1000 <= 15 THEN 'needs_review'
		         WHEN k % 1000 <= 17 THEN 'failed'
		         WHEN k % 1000 <= 19 THEN 'conflict'
		         ELSE 'confirmed' END AS status) st`, tenantID, n, from); err != nil {
		b.Fatal(err)
	}
	// Row j of a record: 1 created; 2 submitted (or failed); 3 confirmed,
	// needs_review, or a note; 4 a conflict or a note; 5 a note. Notes keep
	// the status (from = to), as the passes' notes do. Nothing is later than
	// the reported day.
	if _, err := s.DB().Exec(`
		INSERT INTO audit_log (tenant_id, record_id, at, actor, action, category, from_status, to_status, details)
		SELECT r.tenant_id, r.id,
		       least(CASE j WHEN 1 THEN r.created_at
		                    WHEN 2 THEN r.created_at + interval '1 minute'
		                    WHEN 3 THEN coalesce(r.confirmed_at, r.created_at + interval '72 hours')
		                    ELSE r.created_at + (j - 3) * interval '1 day' END, $2::timestamptz),
		       'system:bench',
		       CASE j WHEN 1 THEN 'intake.created'
		              WHEN 2 THEN CASE r.status WHEN 'failed' THEN 'submit.failed' WHEN 'pending' THEN 'submit.retry' ELSE 'submit.accepted' END
		              WHEN 3 THEN CASE WHEN r.status IN ('confirmed', 'conflict') AND r.id % 50 = 0 THEN 'confirmed.reconciliation'
		                               WHEN r.status IN ('confirmed', 'conflict') THEN 'confirmed.webhook'
		                               WHEN r.status = 'needs_review' THEN 'reconcile.needs_review' ELSE 'reconcile.note' END
		              WHEN 4 THEN CASE r.status WHEN 'conflict' THEN 'drift.conflict' ELSE 'reconcile.applied' END
		              ELSE 'drift.checked' END,
		       'bench',
		       CASE j WHEN 1 THEN ''
		              WHEN 2 THEN 'pending'
		              WHEN 3 THEN CASE WHEN r.status IN ('confirmed', 'conflict', 'needs_review') THEN 'submitted' ELSE r.status END
		              WHEN 4 THEN CASE r.status WHEN 'conflict' THEN 'confirmed' ELSE r.status END
		              ELSE r.status END,
		       CASE j WHEN 1 THEN 'pending'
		              WHEN 2 THEN CASE r.status WHEN 'failed' THEN 'failed' WHEN 'pending' THEN 'pending' ELSE 'submitted' END
		              WHEN 3 THEN CASE r.status WHEN 'conflict' THEN 'confirmed' ELSE r.status END
		              ELSE r.status END,
		       '{}'
		FROM records r CROSS JOIN generate_series(1, 5) j
		WHERE r.tenant_id = $1
		ORDER BY r.id, j`, tenantID, benchDay.Add(24*time.Hour-time.Second)); err != nil {
		b.Fatal(err)
	}
	if _, err := s.DB().Exec(`ANALYZE records; ANALYZE audit_log`); err != nil {
		b.Fatal(err)
	}
	var recs, audits int
	s.DB().Get(&recs, `SELECT count(*) FROM records`)
	s.DB().Get(&audits, `SELECT count(*) FROM audit_log`)
	b.Logf("loaded %d records and %d audit rows in %s", recs, audits, time.Since(start).Round(time.Second))
}

// explainUsesIndexes fails b if the plan of q reads records or audit_log
// with a sequential scan, and logs the plan.
func explainUsesIndexes(b *testing.B, s *store.Store, name, q string, args ...any) {
	b.Helper()
	var lines []string
	if err := s.DB().Select(&lines, `EXPLAIN `+q, args...); err != nil {
		b.Fatalf("EXPLAIN %s: %v", name, err)
	}
	plan := strings.Join(lines, "\n")
	b.Logf("plan of %s:\n%s", name, plan)
	for _, table := range []string{"records", "audit_log"} {
		if strings.Contains(plan, "Seq Scan on "+table) {
			b.Errorf("%s reads %s with a sequential scan", name, table)
		}
	}
}

// BenchmarkDailyReport: one tenant's report with 1,000,000 records and
// 5,000,000 audit rows (target: under 2 s). "today" is the day's report as
// of its end with nothing since (the daily job's report of the running
// day); "finalise yesterday" reports the day before, reconstructing the
// queue of every record whose status changed since (what Daily does each
// morning).
func BenchmarkDailyReport(b *testing.B) {
	s := dbtest.Store(b)
	ctx := b.Context()
	id, err := s.CreateTenant(ctx, &tenant.Tenant{Slug: "acme", Name: "Acme", VirtuousBaseURL: "http://x",
		VirtuousKeyEnc: []byte("k"), WebhookTokenEnc: []byte("w"), IntakeTokenHash: []byte("h")})
	if err != nil {
		b.Fatal(err)
	}
	t, _ := s.TenantByID(ctx, id)
	seedReportBench(b, s, id, 1_000_000)
	end := benchDay.AddDate(0, 0, 1)
	explainUsesIndexes(b, s, "queue state (today)", store.QueueStateQuery, id, end, end.Add(-24*time.Hour))
	explainUsesIndexes(b, s, "queue state (yesterday)", store.QueueStateQuery, id, benchDay, benchDay.Add(-24*time.Hour))
	explainUsesIndexes(b, s, "confirmations", store.ConfirmationsQuery, id, benchDay, end, report.RecoveredAction)
	page := fmt.Sprintf(store.AuditRowsQuery, `ORDER BY a.at DESC, a.id DESC LIMIT 50`)
	explainUsesIndexes(b, s, "audit page, a day", page, id, benchDay, end, nil, nil, nil, nil)
	explainUsesIndexes(b, s, "audit page, a rare action", page, id, nil, nil, "{drift.conflict}", nil, nil, nil)
	explainUsesIndexes(b, s, "audit page, a person", page, id, nil, nil, nil, nil, "user:nobody@example.org", nil)
	explainUsesIndexes(b, s, "audit page, a record", page, id, nil, nil, nil, nil, nil, 777)
	g := &report.Generator{Store: s, Escalate: &escalate.Raiser{Store: s}, Now: time.Now}
	for _, c := range []struct {
		name      string
		day, asOf time.Time
	}{{"today", benchDay, end}, {"finalise yesterday", benchDay.AddDate(0, 0, -1), benchDay}} {
		b.Run(c.name, func(b *testing.B) {
			var r *report.Report
			var took []time.Duration
			for b.Loop() {
				start := time.Now()
				if r, err = g.Generate(ctx, t, c.day, c.asOf); err != nil {
					b.Fatal(err)
				}
				took = append(took, time.Since(start))
			}
			med := median(took)
			b.ReportMetric(med.Seconds(), "median-s/tenant")
			m, _ := r.Metric(report.SubmittedStuck)
			c2, _ := r.Metric(report.Recovered)
			b.Logf("%s: %v, median %s; verdict %s; submitted stuck %d; recovered %s", c.name, took, med, r.Verdict, m.Value, c2.Reason)
		})
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}
