package web

// # Adding a page to the web app
//
// Browser pages hang off three groups built in browserRoutes, each with its
// middleware already in place:
//
//   - s.e.GET("/x", h, s.signedIn()...): any signed-in user.
//   - tenantRoutes(g): the group /t/:tenant. Its middleware (sessions, csrf,
//     requireUser, tenantScope) has loaded the tenant and answered 404 for a
//     tenant the user may not see, so a handler reads tenantOf(c) and
//     userOf(c) and never checks access again. Add engineer-only pages with
//     requireEngineer as route middleware:
//     g.GET("/reports", s.reports, requireEngineer).
//   - engineeringRoutes(g): the group /engineering, engineers only.
//
// Then:
//
//  1. Write the page as a templ component taking views.Chrome first; build
//     the Chrome with s.chrome(c, title, section) and render with
//     render(c, http.StatusOK, views.X(chrome, props)).
//  2. Give it a navigation entry by adding a navItem to nav below (Tenant:
//     true for a path under /t/:tenant, Engineer: true to show it to
//     engineers only); the section string marks it current.
//  3. Store reads go through s.deps.Store with the tenant's id; a record or
//     row of another tenant must come back derrors.NotFound (404).
//  4. State-changing routes are POST. The csrf middleware already refuses a
//     request without the session's token or from another origin; forms
//     include @CSRFField(c.CSRF) (htmx sends the header set on <body>).
//     After the change, s.flash(c, kind, text) and redirect with 303 (see
//     seeOther), so every form works without JavaScript. A form that
//     changes nothing (a wrong input, a record someone else moved) is
//     refused instead: s.refuse(c, status, msg, page) renders the page the
//     person came from with the message and a 4xx (see forms.go).
//  5. Add the route to the authorization matrix in web/authz_test.go.

import (
	"encoding/json"
	"net/http"

	"github.com/labstack/echo/v4"

	"backstop/internal/auth"
	"backstop/views"
)

// navItem is one entry of the top navigation.
type navItem struct {
	Section  string // the section a page passes to chrome
	Label    string
	Path     string // under /t/:tenant when Tenant is set, else absolute
	Tenant   bool
	Engineer bool
}

// nav is the top navigation, in order. A page adds its entry here.
var nav = []navItem{
	{Section: "engineering", Label: "Engineering", Path: "/engineering", Engineer: true},
	{Section: "queues", Label: "Queues", Path: "/queues/needs-review", Tenant: true},
	{Section: "lookup", Label: "Missing record", Path: "/lookup", Tenant: true},
	{Section: "reports", Label: "Reports", Path: "/reports", Tenant: true, Engineer: true},
	{Section: "audit", Label: "Audit trail", Path: "/audit", Tenant: true},
}

func (s *Server) routes() {
	s.apiRoutes()
	s.webhookRoutes()
	s.browserRoutes()
}

// browser is the middleware of every page: the session, the form read
// whole and within its limit, then CSRF (which reads the form's token).
func (s *Server) browser() []echo.MiddlewareFunc {
	return []echo.MiddlewareFunc{s.sessions, s.formBody, s.csrf}
}

// signedIn is browser() plus requireUser.
func (s *Server) signedIn() []echo.MiddlewareFunc {
	return append(s.browser(), s.requireUser)
}

func (s *Server) browserRoutes() {
	s.e.GET("/signin", s.signInPage, s.browser()...)
	s.e.POST("/signin", s.signIn, s.browser()...)
	s.e.POST("/signout", s.signOut, s.browser()...)
	s.e.GET("/", s.home, s.signedIn()...)
	s.tenantRoutes(s.e.Group("/t/:tenant", append(s.signedIn(), s.tenantScope)...))
	s.engineeringRoutes(s.e.Group("/engineering", append(s.signedIn(), requireEngineer)...))
}

// engineeringRoutes are the pages under /engineering.
func (s *Server) engineeringRoutes(g *echo.Group) {
	g.GET("", s.engineering)
}

// chrome builds the page frame for the current request: who is signed in,
// the navigation they may use, the CSRF token, and the flash messages left
// by the last action (which it consumes).
func (s *Server) chrome(c echo.Context, title, section string) views.Chrome {
	ch := views.Chrome{Title: title, Section: section, CSRF: csrfToken(c), Now: s.now()}
	if t := tenantOf(c); t != nil {
		ch.Tenant = &views.TenantRef{Slug: t.Slug, Name: t.Name}
	}
	if c.Get(ctxSession) == nil {
		return ch // outside the browser routes (e.g. an unknown path)
	}
	ch.Flashes = append(s.popFlashes(c), refusalFlash(c)...)
	u := userOf(c)
	if u == nil {
		return ch
	}
	ch.User = &views.Viewer{Email: u.Email, Engineer: u.Role == auth.Engineer}
	if ch.User.Engineer {
		if ts, err := s.deps.Store.Tenants(c.Request().Context()); err == nil {
			for _, t := range ts {
				ch.User.Tenants = append(ch.User.Tenants, views.TenantRef{Slug: t.Slug, Name: t.Name})
			}
		}
	}
	for _, n := range nav {
		if n.Engineer && !ch.User.Engineer || n.Tenant && ch.Tenant == nil {
			continue
		}
		href := n.Path
		if n.Tenant {
			href = "/t/" + ch.Tenant.Slug + n.Path
		}
		ch.Nav = append(ch.Nav, views.NavLink{Href: href, Label: n.Label, Current: n.Section == section})
	}
	return ch
}

// flash leaves a message for the next page this session renders.
func (s *Server) flash(c echo.Context, kind, text string) {
	ctx := c.Request().Context()
	var fs []views.Flash
	json.Unmarshal([]byte(s.sm.GetString(ctx, sessFlash)), &fs)
	fs = append(fs, views.Flash{Kind: kind, Text: text})
	b, _ := json.Marshal(fs)
	s.sm.Put(ctx, sessFlash, string(b))
}

func (s *Server) popFlashes(c echo.Context) []views.Flash {
	var fs []views.Flash
	json.Unmarshal([]byte(s.sm.PopString(c.Request().Context(), sessFlash)), &fs)
	return fs
}

// seeOther ends a form post: back to where the person was (a local path
// only), with 303 so the browser follows with a GET.
func seeOther(c echo.Context, to string) error {
	return c.Redirect(http.StatusSeeOther, to)
}
