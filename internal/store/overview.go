package store

import (
	"context"
	"strings"
	"time"

	"github.com/lib/pq"

	"backstop/internal/derrors"
)

// TenantOverview is one tenant as the engineering page sees it: its
// settings that judge freshness, its queues, its latest report, its budget
// and its open escalations. The queue counts stop at QueueCountCap+1.
type TenantOverview struct {
	TenantID       int64  `db:"tenant_id"`
	Slug           string `db:"slug"`
	Name           string `db:"name"`
	StuckAfterS    int    `db:"stuck_after_s"`
	MissedEveryS   int    `db:"missed_every_s"`
	StuckEveryS    int    `db:"stuck_every_s"`
	DriftEveryS    int    `db:"drift_every_s"`
	RateReservePct int    `db:"rate_reserve_pct"`

	NeedsReview    int `db:"needs_review"`
	Conflict       int `db:"conflict"`
	Failed         int `db:"failed"`
	Pending        int `db:"pending"`
	SubmittedStuck int `db:"submitted_stuck"`

	// ReportDay and ReportVerdict are the latest stored report on or
	// before the day asked for (nil: none).
	ReportDay     *time.Time `db:"report_day"`
	ReportVerdict *string    `db:"report_verdict"`

	// The rate budget row (nil until the tenant's first call) and the
	// calls counted for the day.
	LimitPerHour *int       `db:"limit_per_hour"`
	Remaining    *int       `db:"remaining"`
	ResetAt      *time.Time `db:"reset_at"`
	CallsToday   int        `db:"calls_today"`

	OpenEscalations int `db:"open_escalations"`
}

// overviewQuery reads every tenant in one statement. Each count is a
// bounded scan of records_queue_age (tenant, status, age_at), the latest
// report one probe of daily_reports' key, the open escalations the partial
// index escalations_open: the cost grows with the number of tenants, not
// with their records.
const overviewQuery = `
	SELECT t.id AS tenant_id, t.slug, t.name, t.stuck_after_s, t.missed_every_s, t.stuck_every_s,
	       t.drift_every_s, t.rate_reserve_pct,
	       (SELECT count(*) FROM (SELECT 1 FROM records r WHERE r.tenant_id = t.id AND r.status = 'needs_review' LIMIT $3) c) AS needs_review,
	       (SELECT count(*) FROM (SELECT 1 FROM records r WHERE r.tenant_id = t.id AND r.status = 'conflict' LIMIT $3) c) AS conflict,
	       (SELECT count(*) FROM (SELECT 1 FROM records r WHERE r.tenant_id = t.id AND r.status = 'failed' LIMIT $3) c) AS failed,
	       (SELECT count(*) FROM (SELECT 1 FROM records r WHERE r.tenant_id = t.id AND r.status = 'pending' LIMIT $3) c) AS pending,
	       (SELECT count(*) FROM (SELECT 1 FROM records r WHERE r.tenant_id = t.id AND r.status = 'submitted'
	                              AND r.age_at <= $2::timestamptz - t.stuck_after_s * interval '1 second' LIMIT $3) c) AS submitted_stuck,
	       dr.day AS report_day, dr.verdict AS report_verdict,
	       b.limit_per_hour, b.remaining, b.reset_at,
	       coalesce(u.calls, 0) AS calls_today,
	       (SELECT count(*) FROM escalations e WHERE e.tenant_id = t.id AND e.acknowledged_at IS NULL) AS open_escalations
	FROM tenants t
	LEFT JOIN LATERAL (SELECT d.day, d.verdict FROM daily_reports d
	                   WHERE d.tenant_id = t.id AND d.day <= $1::date
	                   ORDER BY d.day DESC LIMIT 1) dr ON true
	LEFT JOIN rate_budgets b ON b.tenant_id = t.id
	LEFT JOIN api_usage u ON u.tenant_id = t.id AND u.day = $1::date
	ORDER BY t.slug`

// TenantOverviews returns every tenant's overview as of now, with the
// latest report on or before day and day's API calls.
func (s *Store) TenantOverviews(ctx context.Context, day, now time.Time) (_ []*TenantOverview, err error) {
	defer derrors.Wrap(&err, "Store.TenantOverviews(ctx, %s)", day.Format(time.DateOnly))
	var rows []*TenantOverview
	if err := s.db.SelectContext(ctx, &rows, overviewQuery, day.Format(time.DateOnly), now.UTC(), QueueCountCap+1); err != nil {
		return nil, err
	}
	return rows, nil
}

// LastRuns returns the latest run of each of passes for each tenant, by
// tenant and pass: one index probe of reconciliation_runs_recent per pair.
// Ordering by started_at alone keeps it one probe (an id tie-break made
// the benchmark's 3,000 probes 60% slower); two runs of one pass never
// start at the same instant, as they hold the pass's lock in turn.
func (s *Store) LastRuns(ctx context.Context, tenantIDs []int64, passes []string) (_ map[int64]map[string]*Run, err error) {
	defer derrors.Wrap(&err, "Store.LastRuns(ctx)")
	var runs []*Run
	err = s.db.SelectContext(ctx, &runs, `
		SELECT r.id, r.tenant_id, r.pass, r.trigger, r.slot, r.started_at, r.finished_at, r.status, r.api_calls,
		       r.examined, r.recovered, r.needs_review, r.applied, r.drift_found, r.error
		FROM unnest($1::bigint[]) AS t (id)
		CROSS JOIN unnest($2::text[]) AS p (pass)
		CROSS JOIN LATERAL (SELECT `+runColumns+` FROM reconciliation_runs x
		                    WHERE x.tenant_id = t.id AND x.pass = p.pass
		                    ORDER BY x.started_at DESC LIMIT 1) r`, pq.Array(tenantIDs), pq.Array(passes))
	if err != nil {
		return nil, err
	}
	out := make(map[int64]map[string]*Run, len(tenantIDs))
	for _, r := range runs {
		if out[r.TenantID] == nil {
			out[r.TenantID] = map[string]*Run{}
		}
		out[r.TenantID][r.Pass] = r
	}
	return out, nil
}

// ExplainTenantOverviews is the executed plan of TenantOverviews' statement,
// for the benchmark that checks it stays on indexes.
func (s *Store) ExplainTenantOverviews(ctx context.Context, day, now time.Time) (_ string, err error) {
	defer derrors.Wrap(&err, "Store.ExplainTenantOverviews(ctx)")
	var lines []string
	if err := s.db.SelectContext(ctx, &lines, `EXPLAIN (ANALYZE, BUFFERS) `+overviewQuery, day.Format(time.DateOnly), now.UTC(), QueueCountCap+1); err != nil {
		return "", err
	}
	return strings.Join(lines, "\n"), nil
}
