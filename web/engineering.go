package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"backstop/internal/report"
	"backstop/views"
)

// openListed bounds the open escalations the engineering page lists.
const openListed = 20

// engineering is /engineering: every tenant on one screen, worst first —
// today's verdict, queue counts, the last run of each pass and its age,
// the API budget, open escalations — and the open escalations to
// acknowledge. Three queries however many tenants there are.
func (s *Server) engineering(c echo.Context) error {
	ctx := c.Request().Context()
	now := s.now()
	hs, err := report.Overview(ctx, s.deps.Store, now)
	if err != nil {
		return err
	}
	p := views.EngineeringProps{Order: report.WorstFirst}
	names := map[string]string{}
	total := 0
	for _, h := range hs {
		names[h.Slug] = h.Name
		total += h.OpenEscalations
		p.Tenants = append(p.Tenants, engTenant(h))
	}
	open, err := s.deps.Store.OpenEscalations(ctx, 0, openListed)
	if err != nil {
		return err
	}
	for _, e := range open {
		p.Open = append(p.Open, escalationRow(e, names[e.TenantSlug], "/engineering"))
	}
	p.OpenMore = max(0, total-len(open))
	return render(c, http.StatusOK, views.EngineeringPage(s.chrome(c, "Engineering", "engineering"), p))
}

func engTenant(h *report.TenantHealth) views.EngTenant {
	t := views.EngTenant{Slug: h.Slug, Name: h.Name, Verdict: string(h.Verdict), Reports: "/t/" + h.Slug + "/reports",
		NeedsReview: h.NeedsReview, Conflict: h.Conflict, Failed: h.Failed, Pending: h.Pending,
		SubmittedStuck: h.SubmittedStuck, StuckAfter: views.Long(h.StuckAfter), OpenEscalations: h.OpenEscalations}
	if h.ReportDay != nil {
		t.ReportDate, t.Report = h.ReportDay.Format("2006-01-02"), reportURL(h.Slug, *h.ReportDay)
	}
	for _, ps := range h.Passes {
		ep := views.EngPass{Pass: ps.Pass, Every: views.Long(ps.Every), Overdue: ps.Overdue, Failing: ps.Failing}
		if ps.Last != nil {
			ep.Started, ep.Status = &ps.Last.StartedAt, ps.Last.Status
		}
		t.Passes = append(t.Passes, ep)
	}
	if h.Budget != nil {
		t.HasBudget, t.BudgetLeft, t.BudgetAllowance = true, h.Budget.Left, h.Budget.Allowance
		t.HourLeft, t.HourLimit = h.HourLeft, h.HourLimit
	}
	return t
}
