package report

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"backstop/internal/store"
	"backstop/internal/tenant"
)

// Load returns t's stored report of day with the day's passes and
// escalations, or derrors.NotFound when none was generated.
func Load(ctx context.Context, s *store.Store, t *tenant.Tenant, day time.Time) (*Report, error) {
	day = Day(day)
	row, err := s.DailyReport(ctx, t.ID, day)
	if err != nil {
		return nil, err
	}
	r, err := decode(t, row)
	if err != nil {
		return nil, err
	}
	if r.Passes, err = s.Runs(ctx, t.ID, day, day.AddDate(0, 0, 1)); err != nil {
		return nil, err
	}
	if r.Escalations, err = s.Escalations(ctx, t.ID, day, day); err != nil {
		return nil, err
	}
	return r, nil
}

// History returns t's stored reports of the days days up to and including
// last, oldest first, without passes and escalations: what the calendar
// list and the 30-day trend charts draw. Days without a report are left out
// (Trend fills them in).
func History(ctx context.Context, s *store.Store, t *tenant.Tenant, last time.Time, days int) ([]*Report, error) {
	last = Day(last)
	rows, err := s.DailyReports(ctx, t.ID, last.AddDate(0, 0, 1-days), last)
	if err != nil {
		return nil, err
	}
	out := make([]*Report, 0, len(rows))
	for _, row := range rows {
		r, err := decode(t, row)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func decode(t *tenant.Tenant, row *store.DailyReportRow) (*Report, error) {
	var doc stored
	if err := json.Unmarshal(row.Metrics, &doc); err != nil {
		return nil, fmt.Errorf("report of %s for %s: %w", row.Day.Format(time.DateOnly), t.Slug, err)
	}
	day := Day(row.Day)
	return &Report{TenantID: t.ID, Tenant: t.Slug, Day: day, Date: day.Format(time.DateOnly), AsOf: doc.AsOf,
		GeneratedAt: row.GeneratedAt.UTC(), Verdict: Verdict(row.Verdict), Metrics: doc.Metrics,
		APICalls: doc.APICalls, BudgetLeft: doc.Budget.Left, Budget: doc.Budget}, nil
}

// Point is one day of a metric's trend.
type Point struct {
	Day     time.Time
	Value   int64
	Display string
	Verdict Verdict
	// Missing: no report that day, or a report without this metric.
	Missing bool
}

// Trend is metric name over the days days up to and including last, one
// point per day, oldest first, from History's reports.
func Trend(reports []*Report, name string, last time.Time, days int) []Point {
	last = Day(last)
	byDay := make(map[time.Time]*Report, len(reports))
	for _, r := range reports {
		byDay[r.Day] = r
	}
	out := make([]Point, days)
	for i := range out {
		d := last.AddDate(0, 0, i+1-days)
		out[i] = Point{Day: d, Missing: true}
		if r, ok := byDay[d]; ok {
			if m, ok := r.Metric(name); ok {
				out[i] = Point{Day: d, Value: m.Value, Display: m.Display, Verdict: m.Verdict}
			}
		}
	}
	return out
}
