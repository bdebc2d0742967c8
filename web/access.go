package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"backstop/internal/auth"
	"backstop/internal/derrors"
	"backstop/internal/tenant"
)

// Context keys set by the access middleware.
const (
	ctxUser       = "user"
	ctxPageTenant = "page_tenant"
)

// userOf is the signed-in user (nil before requireUser).
func userOf(c echo.Context) *auth.User {
	u, _ := c.Get(ctxUser).(*auth.User)
	return u
}

// tenantOf is the tenant of a /t/:tenant page, already checked to be one
// the user may see.
func tenantOf(c echo.Context) *tenant.Tenant {
	t, _ := c.Get(ctxPageTenant).(*tenant.Tenant)
	return t
}

// loadUser reads the session's user, if any, into the context. A session
// whose user no longer exists is ended.
func (s *Server) loadUser(c echo.Context) (*auth.User, error) {
	if u := userOf(c); u != nil {
		return u, nil
	}
	ctx := c.Request().Context()
	id := s.sm.GetInt64(ctx, sessUserID)
	if id == 0 {
		return nil, nil
	}
	u, err := s.deps.Store.UserByID(ctx, id)
	if errors.Is(err, derrors.NotFound) {
		return nil, s.sm.Destroy(ctx)
	}
	if err != nil {
		return nil, err
	}
	c.Set(ctxUser, u)
	return u, nil
}

// requireUser sends anyone not signed in to the sign-in page, remembering
// where they were going (for a GET); htmx is told to redirect the page.
func (s *Server) requireUser(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		u, err := s.loadUser(c)
		if err != nil {
			return err
		}
		if u != nil {
			return next(c)
		}
		to := "/signin"
		if r := c.Request(); r.Method == http.MethodGet && r.URL.Path != "/" {
			to += "?next=" + url.QueryEscape(r.URL.RequestURI())
		}
		if isHTMX(c) {
			c.Response().Header().Set("HX-Redirect", to)
			return c.NoContent(http.StatusUnauthorized)
		}
		return c.Redirect(http.StatusSeeOther, to)
	}
}

// requireEngineer admits engineers only. Anyone else gets the same 404 as
// for a page that does not exist: staff learn nothing from probing.
func requireEngineer(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if u := userOf(c); u == nil || u.Role != auth.Engineer {
			return derrors.NotFound
		}
		return next(c)
	}
}

// tenantScope loads the :tenant of the path and admits only users who may
// see it. A tenant that does not exist and one the user may not see both
// answer 404, so a page never confirms another customer's existence.
func (s *Server) tenantScope(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		u := userOf(c)
		slug := c.Param("tenant")
		if u == nil || tenant.ValidateSlug(slug) != nil {
			return derrors.NotFound
		}
		if u.Role != auth.Engineer && (u.TenantSlug == nil || *u.TenantSlug != slug) {
			return derrors.NotFound
		}
		t, err := s.deps.Store.TenantBySlug(c.Request().Context(), slug)
		if err != nil {
			return err
		}
		if !u.CanSee(t.ID) {
			return derrors.NotFound
		}
		c.Set(ctxPageTenant, t)
		return next(c)
	}
}

// localPath returns p if it is a path on this site (for ?next= and back
// links), else def: never an open redirect.
func localPath(p, def string) string {
	if p == "" || !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\\\r\n") {
		return def
	}
	if u, err := url.Parse(p); err != nil || u.Host != "" || u.Scheme != "" {
		return def
	}
	return p
}
