// Package report writes each tenant's daily reconciliation report — the
// spec's "Building a reconciliation report" table, every metric with its
// healthy value, the threshold at which it says "investigate" and its
// verdict — stores it (one row per tenant per day), and raises the
// engineering escalation of every metric that investigates, so that the
// escalations and the report never disagree.
//
// A report describes its day as of an instant: now for today, the day's end
// for a past day. Everything in it is read from what the database recorded
// up to that instant (the queue is reconstructed from the audit trail), so
// regenerating a report — the next morning, or a month later — stores the
// same bytes, and the rules that look back over several days ("persistent",
// "growing", "sustained") read the previous days' stored reports.
package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"backstop/internal/derrors"
	"backstop/internal/escalate"
	"backstop/internal/record"
	"backstop/internal/store"
	"backstop/internal/tenant"
)

// Verdict is a metric's (or a whole report's) judgement.
type Verdict string

const (
	Healthy     Verdict = "healthy"
	Investigate Verdict = "investigate"
	// NoData: the day gave nothing to measure (no confirmation for a
	// latency, no drift run). It never makes a report investigate.
	NoData Verdict = "no_data"
)

// Metric is one row of the report's table.
type Metric struct {
	Name  string `json:"name"`  // stable key (the constants above)
	Label string `json:"label"` // as people read it
	Value int64  `json:"value"` // in Unit; 0 with NoData
	Unit  string `json:"unit"`  // records, seconds or basis_points
	// Display is Value as people read it: "3", "2h 5m", "1.25%", "—".
	Display string `json:"display"`
	// Healthy is the spec's healthy value; Investigate the rule, with this
	// tenant's threshold, at which the metric says "investigate".
	Healthy     string  `json:"healthy"`
	Investigate string  `json:"investigate"`
	Verdict     Verdict `json:"verdict"`
	// Reason says what the verdict was decided on.
	Reason string `json:"reason"`
	// Escalation is the kind of engineering escalation an investigate
	// verdict raises.
	Escalation string `json:"escalation"`
}

// Budget is the day's Virtuous API budget: Backstop's share of the
// organization's 24 hourly windows (the limit less the reserve kept for the
// customer's other integrations) and what the day's calls left of it.
type Budget struct {
	LimitPerHour int `json:"limit_per_hour"`
	ReservePct   int `json:"reserve_pct"`
	Allowance    int `json:"allowance"`
	Left         int `json:"left"`
}

// Report is a tenant's daily report, as the web pages render it.
type Report struct {
	TenantID int64  `json:"-"`
	Tenant   string `json:"tenant"`
	// Day is the UTC day reported (midnight); Date is the same as YYYY-MM-DD.
	Day  time.Time `json:"-"`
	Date string    `json:"date"`
	// AsOf is the instant the report describes: its generation time for
	// today, the day's end for a day that is over.
	AsOf        time.Time `json:"as_of"`
	GeneratedAt time.Time `json:"generated_at"`
	// Verdict is Investigate when any metric investigates.
	Verdict  Verdict  `json:"verdict"`
	Metrics  []Metric `json:"metrics"`
	APICalls int      `json:"api_calls"`
	// BudgetLeft is Budget.Left: calls the day's allowance still holds.
	BudgetLeft int    `json:"budget_left"`
	Budget     Budget `json:"budget"`
	// Passes are the day's reconciliation runs, newest first, and
	// Escalations the day's escalations, newest first — read when the
	// report is loaded (History leaves both nil).
	Passes      []*store.Run        `json:"passes"`
	Escalations []*store.Escalation `json:"escalations"`
}

// Metric returns the named metric.
func (r *Report) Metric(name string) (Metric, bool) {
	for _, m := range r.Metrics {
		if m.Name == name {
			return m, true
		}
	}
	return Metric{}, false
}

// stored is what daily_reports.metrics holds: everything computed, nothing
// read live. Its bytes depend only on the recorded history up to AsOf and
// the tenant's settings.
type stored struct {
	Version  int       `json:"version"`
	AsOf     time.Time `json:"as_of"`
	Metrics  []Metric  `json:"metrics"`
	APICalls int       `json:"api_calls"`
	Budget   Budget    `json:"budget"`
}

// Generator makes, stores and escalates reports.
type Generator struct {
	Store *store.Store
	// Escalate raises the escalations of investigating metrics; nil only
	// records the verdicts.
	Escalate *escalate.Raiser
	// Now is the clock of generated_at and of the escalations' created_at.
	Now func() time.Time
}

// Day returns the UTC day (midnight) containing t.
func Day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Daily is the hook the daily sequence of passes (and the demo) calls: it
// finalises yesterday's report as of the day's end — so every day ends with
// a report of the whole day, which the multi-day rules read — and writes
// today's as of now.
func (g *Generator) Daily(ctx context.Context, t *tenant.Tenant, now time.Time) error {
	today := Day(now)
	if _, err := g.Generate(ctx, t, today.AddDate(0, 0, -1), today); err != nil {
		return fmt.Errorf("report of %s: %w", today.AddDate(0, 0, -1).Format(time.DateOnly), err)
	}
	if !now.After(today) {
		return nil
	}
	if _, err := g.Generate(ctx, t, today, now); err != nil {
		return fmt.Errorf("report of %s: %w", today.Format(time.DateOnly), err)
	}
	return nil
}

// Generate computes t's report of day as of asOf (after day's start, at
// most its end), stores it in place of any earlier one, raises the
// escalation of every metric that investigates (once per kind and day), and
// returns it with the day's passes and escalations.
func (g *Generator) Generate(ctx context.Context, t *tenant.Tenant, day, asOf time.Time) (*Report, error) {
	day = Day(day)
	if !asOf.After(day) || asOf.After(day.AddDate(0, 0, 1)) {
		return nil, derrors.Invalid("as_of", "%s is not within %s", asOf.UTC().Format(time.RFC3339), day.Format(time.DateOnly))
	}
	asOf = asOf.UTC()
	doc, err := g.compute(ctx, t, day, asOf)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	row := &store.DailyReportRow{TenantID: t.ID, Day: day, GeneratedAt: g.Now().UTC(), Verdict: string(verdictOf(doc.Metrics)), Metrics: b}
	if err := g.Store.SaveDailyReport(ctx, row); err != nil {
		return nil, err
	}
	if err := g.escalate(ctx, t, day, doc.Metrics); err != nil {
		return nil, err
	}
	return Load(ctx, g.Store, t, day)
}

func (g *Generator) compute(ctx context.Context, t *tenant.Tenant, day, asOf time.Time) (*stored, error) {
	th := t.ReportThresholds()
	f := facts{day: day, asOf: asOf}
	st, err := g.Store.QueueStateAt(ctx, t.ID, asOf, asOf.Add(-t.StuckAfter()))
	if err != nil {
		return nil, err
	}
	conf, err := g.Store.ConfirmationsIn(ctx, t.ID, day, asOf, RecoveredAction)
	if err != nil {
		return nil, err
	}
	f.state, f.conf = *st, *conf
	runs, err := g.Store.Runs(ctx, t.ID, day, asOf)
	if err != nil {
		return nil, err
	}
	for _, r := range runs {
		if r.Pass == "drift" {
			f.driftRuns++
			f.driftMax = max(f.driftMax, r.DriftFound)
		}
	}
	h, err := loadHistory(ctx, g.Store, t.ID, day, daysNeeded(th))
	if err != nil {
		return nil, err
	}
	calls, err := g.Store.APIUsage(ctx, t.ID, day)
	if err != nil {
		return nil, err
	}
	rb, err := g.Store.RateBudget(ctx, t.ID)
	switch {
	case errors.Is(err, derrors.NotFound):
		// A tenant that never reserved a call has no budget row yet.
		rb = &store.RateBudget{ReservePct: t.RateReservePct}
	case err != nil:
		return nil, err
	}
	return &stored{Version: 1, AsOf: asOf, Metrics: evaluate(t, f, h), APICalls: calls,
		Budget: BudgetOf(rb.LimitPerHour, rb.ReservePct, calls)}, nil
}

// RecoveredAction is the audit action of a confirmation by a
// reconciliation pass (internal/inbound writes "confirmed." + the route).
var RecoveredAction = "confirmed." + string(record.ViaReconciliation)

func loadHistory(ctx context.Context, s *store.Store, tenantID int64, day time.Time, days int) (history, error) {
	h := history{}
	if days <= 0 {
		return h, nil
	}
	rows, err := s.DailyReports(ctx, tenantID, day.AddDate(0, 0, -days), day.AddDate(0, 0, -1))
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		var doc stored
		if err := json.Unmarshal(r.Metrics, &doc); err != nil {
			return nil, fmt.Errorf("report of %s: %w", r.Day.Format(time.DateOnly), err)
		}
		h[Day(r.Day).Format(time.DateOnly)] = &doc
	}
	return h, nil
}

func verdictOf(ms []Metric) Verdict {
	for _, m := range ms {
		if m.Verdict == Investigate {
			return Investigate
		}
	}
	return Healthy
}

// escalate raises one escalation per kind among the investigating metrics.
func (g *Generator) escalate(ctx context.Context, t *tenant.Tenant, day time.Time, ms []Metric) error {
	if g.Escalate == nil {
		return nil
	}
	seen := map[string]bool{}
	for _, m := range ms {
		if m.Verdict != Investigate || seen[m.Escalation] {
			continue
		}
		seen[m.Escalation] = true
		if err := Escalate(ctx, g.Escalate, t.ID, day, g.Now(), m); err != nil {
			return err
		}
	}
	return nil
}

// Escalate raises m's engineering escalation for day if m investigates.
// The report, the submission worker (failed) and the drift pass (drift)
// all raise through it, with the metric's own words.
func Escalate(ctx context.Context, r *escalate.Raiser, tenantID int64, day, at time.Time, m Metric) error {
	if m.Verdict != Investigate || r == nil {
		return nil
	}
	msg := fmt.Sprintf("%s: %s — investigate when %s (%s)", m.Label, m.Display, m.Investigate, m.Reason)
	return r.RaiseFor(ctx, tenantID, m.Escalation, day, at, msg, map[string]any{
		"metric": m.Name, "value": m.Value, "unit": m.Unit, "investigate": m.Investigate, "reason": m.Reason})
}

// CheckFailed applies the failed rule to t's records as they are now and
// escalates when it investigates: the submission worker calls it when a
// record fails, rather than waiting for the day's report.
func CheckFailed(ctx context.Context, s *store.Store, r *escalate.Raiser, t *tenant.Tenant, now time.Time) error {
	n, err := s.CountStatus(ctx, t.ID, string(record.Failed))
	if err != nil {
		return err
	}
	return Escalate(ctx, r, t.ID, Day(now), now, FailedMetric(n, t.ReportThresholds()))
}
