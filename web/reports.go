package web

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"backstop/internal/audit"
	"backstop/internal/derrors"
	"backstop/internal/escalate"
	"backstop/internal/report"
	"backstop/internal/review"
	"backstop/internal/store"
	"backstop/internal/tenant"
	"backstop/views"
)

// trendDays is how far back a report page's charts reach.
const trendDays = 30

func reportsURL(t *tenant.Tenant) string { return "/t/" + t.Slug + "/reports" }

func reportURL(slug string, day time.Time) string {
	return "/t/" + slug + "/reports/" + day.Format(time.DateOnly)
}

// reports is /t/:tenant/reports: a month of daily reports as a calendar
// (?month=YYYY-MM, default this month), each day with its verdict.
func (s *Server) reports(c echo.Context) error {
	t := tenantOf(c)
	today := report.Day(s.now())
	first := time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, time.UTC)
	if m := c.QueryParam("month"); m != "" {
		d, err := time.Parse("2006-01", m)
		if err != nil {
			return derrors.Invalid("month", "%q is not a month: use YYYY-MM, e.g. %s", m, today.Format("2006-01"))
		}
		first = d
	}
	last := first.AddDate(0, 1, -1)
	hist, err := report.History(c.Request().Context(), s.deps.Store, t, last, last.Day())
	if err != nil {
		return err
	}
	p := calendar(t, first, today, hist)
	return render(c, http.StatusOK, views.ReportsPage(s.chrome(c, "Daily reports · "+t.Name, "reports"), p))
}

// calendar lays out the month beginning at first as weeks from Monday.
func calendar(t *tenant.Tenant, first, today time.Time, hist []*report.Report) views.CalendarProps {
	verdicts := make(map[time.Time]report.Verdict, len(hist))
	for _, r := range hist {
		verdicts[r.Day] = r.Verdict
	}
	p := views.CalendarProps{Month: first.Format("January 2006"), Prev: reportsURL(t) + "?month=" + first.AddDate(0, -1, 0).Format("2006-01")}
	if next := first.AddDate(0, 1, 0); !next.After(today) {
		p.Next = reportsURL(t) + "?month=" + next.Format("2006-01")
	}
	if first.Year() == today.Year() && first.Month() == today.Month() {
		p.Today = reportURL(t.Slug, today)
	}
	// Monday of the first week, through Sunday of the last.
	start := first.AddDate(0, 0, -((int(first.Weekday()) + 6) % 7))
	end := first.AddDate(0, 1, 0)
	var week []views.CalendarDay
	for d := start; d.Before(end) || len(week) > 0; d = d.AddDate(0, 0, 1) {
		cd := views.CalendarDay{Day: d.Day(), Date: d.Format(time.DateOnly), InMonth: d.Month() == first.Month(),
			Future: d.After(today), Today: d.Equal(today)}
		if v, ok := verdicts[d]; ok {
			cd.Verdict, cd.Href = string(v), reportURL(t.Slug, d)
		}
		if cd.InMonth && !cd.Future {
			switch cd.Verdict {
			case string(report.Investigate):
				p.Investigate++
			case "":
				p.Missing++
			default:
				p.Healthy++
			}
		}
		week = append(week, cd)
		if len(week) == 7 {
			p.Weeks, week = append(p.Weeks, week), nil
		}
	}
	return p
}

// parseDay reads the :date of a report's path.
func parseDay(v string) (time.Time, error) {
	d, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return time.Time{}, derrors.Invalid("date", "%q is not a date: use YYYY-MM-DD, e.g. 2026-11-02", v)
	}
	return d, nil
}

// reportPage is /t/:tenant/reports/:date: the day's metrics with their
// verdicts, 30-day trends, the day's passes, the API budget, and the
// escalations raised, each open one with its acknowledge button. A day
// without a stored report is a 404 page that says how to generate it.
func (s *Server) reportPage(c echo.Context) error {
	day, err := parseDay(c.Param("date"))
	if err != nil {
		return err
	}
	return s.renderReport(c, day)
}

// renderReport is the report page of day.
func (s *Server) renderReport(c echo.Context, day time.Time) error {
	t := tenantOf(c)
	ctx := c.Request().Context()
	today := report.Day(s.now())
	prev, next := reportURL(t.Slug, day.AddDate(0, 0, -1)), ""
	if day.Before(today) {
		next = reportURL(t.Slug, day.AddDate(0, 0, 1))
	}
	r, err := report.Load(ctx, s.deps.Store, t, day)
	if errors.Is(err, derrors.NotFound) {
		mp := views.ReportMissingProps{Date: day.Format(time.DateOnly), Tenant: t.Slug, Future: day.After(today),
			Prev: prev, Next: next, Calendar: reportsURL(t) + "?month=" + day.Format("2006-01")}
		return render(c, http.StatusNotFound, views.ReportMissingPage(s.chrome(c, "No report for "+mp.Date, "reports"), mp))
	}
	if err != nil {
		return err
	}
	hist, err := report.History(ctx, s.deps.Store, t, day, trendDays)
	if err != nil {
		return err
	}
	p := views.ReportProps{Date: r.Date, DateLong: day.Format("Monday, 2 January 2006"), Verdict: string(r.Verdict),
		AsOf: r.AsOf, GeneratedAt: r.GeneratedAt, Final: !r.AsOf.Before(day.AddDate(0, 0, 1)), APICalls: r.APICalls,
		Budget: views.BudgetView{Known: r.Budget.LimitPerHour > 0, LimitPerHour: r.Budget.LimitPerHour, ReservePct: r.Budget.ReservePct,
			Allowance: r.Budget.Allowance, Left: r.Budget.Left},
		Prev: prev, Next: next, Calendar: reportsURL(t) + "?month=" + day.Format("2006-01")}
	for _, m := range r.Metrics {
		p.Metrics = append(p.Metrics, views.MetricRow{Name: m.Name, Label: m.Label, Display: m.Display, Healthy: m.Healthy,
			Investigate: m.Investigate, Reason: m.Reason, Verdict: string(m.Verdict)})
		p.Trends = append(p.Trends, trendOf(t, m, report.Trend(hist, m.Name, day, trendDays)))
	}
	for _, run := range r.Passes {
		p.Passes = append(p.Passes, views.PassRow{Pass: run.Pass, Trigger: run.Trigger, Status: run.Status, Started: run.StartedAt,
			Finished: run.FinishedAt, APICalls: run.APICalls, Examined: run.Examined, Recovered: run.Recovered,
			NeedsReview: run.NeedsReview, Applied: run.Applied, Drift: run.DriftFound, Error: run.Error})
	}
	for _, e := range r.Escalations {
		p.Escalations = append(p.Escalations, escalationRow(e, "", c.Request().URL.Path))
	}
	return render(c, http.StatusOK, views.ReportPage(s.chrome(c, r.Date+" · "+t.Name, "reports"), p))
}

// trendOf draws a metric's points in a unit people read: records as
// counts, seconds in the largest unit that keeps values above 2, basis
// points as a percentage. A day without data is a gap, never a zero.
func trendOf(t *tenant.Tenant, m report.Metric, pts []report.Point) views.Trend {
	th, hasTh := report.Threshold(t, m.Name)
	top := th
	for _, p := range pts {
		top = max(top, p.Value)
	}
	unit, div := "", 1.0
	switch m.Unit {
	case report.UnitBasisPoints:
		unit, div = "%", 100
	case report.UnitSeconds:
		switch {
		case top >= 2*3600:
			unit, div = "h", 3600
		case top >= 2*60:
			unit, div = "min", 60
		default:
			unit = "s"
		}
	}
	tr := views.Trend{Title: m.Label, Unit: unit}
	if hasTh {
		v := float64(th) / div
		tr.Threshold = &v
	}
	for _, p := range pts {
		tr.Points = append(tr.Points, views.TrendPoint{Day: p.Day, Value: float64(p.Value) / div,
			Missing: p.Missing || p.Verdict == report.NoData, Bad: p.Verdict == report.Investigate})
	}
	return tr
}

func escalationRow(e *store.Escalation, tenantName, back string) views.EscalationRow {
	row := views.EscalationRow{ID: e.ID, Tenant: e.TenantSlug, TenantName: tenantName, Kind: e.Kind, Message: e.Message,
		Day: e.Day.Format(time.DateOnly), Created: e.CreatedAt, AckedAt: e.AcknowledgedAt, Alert: e.AlertStatus,
		Action: "/t/" + e.TenantSlug + "/escalations/" + strconv.FormatInt(e.ID, 10) + "/acknowledge",
		Report: reportURL(e.TenantSlug, e.Day), Back: back}
	if e.AcknowledgedBy != nil {
		row.AckedBy = review.ActorName(*e.AcknowledgedBy)
	}
	return row
}

// acknowledge is POST /t/:tenant/escalations/:id/acknowledge: an engineer
// has seen the escalation. It is recorded with an audit row naming them;
// a second acknowledgement changes nothing and is refused (409) on the page
// it came from, saying who was first.
func (s *Server) acknowledge(c echo.Context) error {
	t := tenantOf(c)
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return derrors.NotFound
	}
	e, err := escalate.Acknowledge(c.Request().Context(), s.deps.Store, t.ID, id, audit.ActorUser(userOf(c).Email), s.now())
	switch {
	case errors.Is(err, derrors.WrongState):
		who := "someone"
		if e.AcknowledgedBy != nil {
			who = review.ActorName(*e.AcknowledgedBy)
		}
		page := func(c echo.Context) error { return s.renderReport(c, e.Day) }
		if c.FormValue("back") == "/engineering" {
			page = s.engineering
		}
		return s.refuse(c, http.StatusConflict, "Already acknowledged by "+who+": "+views.EscalationLabel(e.Kind)+", "+e.Day.Format(time.DateOnly)+". Nothing was changed.", page)
	case err != nil:
		return err
	}
	s.flash(c, "ok", "Acknowledged: "+views.EscalationLabel(e.Kind)+", "+e.Day.Format(time.DateOnly)+".")
	return seeOther(c, ackBack(c, reportURL(t.Slug, e.Day)))
}

// ackBack is where an acknowledgement returns: the form's "back" when it
// is one of the tenant's pages or the engineering page, else def.
func ackBack(c echo.Context, def string) string {
	if c.FormValue("back") == "/engineering" {
		return "/engineering"
	}
	return backTo(c, def)
}
