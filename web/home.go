package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"backstop/internal/auth"
	"backstop/internal/record"
	"backstop/internal/tenant"
	"backstop/views"
)

// home is the start page. Staff work one tenant, so they go straight to its
// queues; engineers get every tenant with its queue counts.
func (s *Server) home(c echo.Context) error {
	u := userOf(c)
	if u.Role == auth.Staff && u.TenantSlug != nil {
		return seeOther(c, "/t/"+*u.TenantSlug+"/queues/needs-review")
	}
	ctx := c.Request().Context()
	ts, err := s.deps.Store.Tenants(ctx)
	if err != nil {
		return err
	}
	counts, err := s.deps.Store.QueueCounts(ctx, tenantIDs(ts))
	if err != nil {
		return err
	}
	cards := make([]views.HomeTenant, 0, len(ts))
	for _, t := range ts {
		n := counts[t.ID]
		cards = append(cards, views.HomeTenant{Slug: t.Slug, Name: t.Name,
			NeedsReview: n[record.NeedsReview], Conflict: n[record.Conflict], Failed: n[record.Failed]})
	}
	return render(c, http.StatusOK, views.HomePage(s.chrome(c, "Start", ""), cards))
}

// tenantHome sends /t/:tenant to its first queue.
func (s *Server) tenantHome(c echo.Context) error {
	return seeOther(c, "/t/"+tenantOf(c).Slug+"/queues/needs-review")
}

func tenantIDs(ts []*tenant.Tenant) []int64 {
	ids := make([]int64, len(ts))
	for i, t := range ts {
		ids[i] = t.ID
	}
	return ids
}
