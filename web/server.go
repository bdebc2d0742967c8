// Package web is Backstop's HTTP layer: the Echo router and middleware, the
// review dashboard's handlers, the partner platform's JSON API and the
// Virtuous webhook receiver. Handlers load, render, or return an error to the
// one error handler; business rules live in the domain packages.
package web

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"backstop/internal/auth"
	"backstop/internal/inbound"
	"backstop/internal/intake"
	"backstop/internal/jobs"
	"backstop/internal/review"
	"backstop/internal/secret"
	"backstop/internal/store"
	"backstop/static"
)

// Deps are what the handlers need. Each handler uses a few of them.
type Deps struct {
	Store  *store.Store
	Box    *secret.Box
	Jobs   jobs.Inserter
	Intake *intake.Service
	// Ingester stores webhook deliveries (group commit).
	Ingester *inbound.Ingester
	// Now is the clock (tests fix it).
	Now        func() time.Time
	Log        *slog.Logger
	BaseURL    string
	TrustProxy bool
	// Ready reports whether the database answers and its schema is current.
	Ready func(ctx context.Context) error
	// Review carries out what people do on the dashboard (check now,
	// discard, resolve, retry, the runbook's lookups).
	Review *review.Service
	// SessionIdle and SessionLifetime end a session after inactivity and
	// absolutely (defaults DefaultSessionIdle, DefaultSessionLifetime).
	SessionIdle, SessionLifetime time.Duration
	// Throttle overrides auth.DefaultThrottle (tests).
	Throttle *auth.Throttle
}

// Server is the web app.
type Server struct {
	e           *echo.Echo
	deps        Deps
	hooks       *hookCache
	sm          *scs.SessionManager
	crossOrigin *http.CrossOriginProtection
}

// New builds the router.
func New(d Deps) *Server {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	// Echo's default extractor trusts X-Forwarded-For and X-Real-IP from
	// anyone; login throttling and logs need the address that really
	// connected unless an operator has put a proxy of their own in front.
	if d.TrustProxy {
		e.IPExtractor = echo.ExtractIPFromXFFHeader()
	} else {
		e.IPExtractor = echo.ExtractIPDirect()
	}
	s := &Server{e: e, deps: d, hooks: &hookCache{store: d.Store, box: d.Box},
		sm: newSessions(d), crossOrigin: newCrossOrigin(d.BaseURL)}
	e.HTTPErrorHandler = s.handleError
	e.Use(middleware.RequestID())
	e.Use(middleware.Recover())
	e.Use(s.logRequests)
	e.Use(middleware.SecureWithConfig(middleware.SecureConfig{
		XSSProtection: "0", ContentTypeNosniff: "nosniff", XFrameOptions: "DENY",
		ReferrerPolicy:        "same-origin",
		ContentSecurityPolicy: "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'",
	}))

	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	staticFiles := echo.StaticDirectoryHandler(static.FS, false)
	e.GET("/static/*", staticFiles, cacheForever)
	e.GET("/favicon.ico", func(c echo.Context) error {
		return c.Redirect(http.StatusMovedPermanently, static.URL("img/favicon.svg"))
	})
	s.routes()
	return s
}

// Handler is the router as an http.Handler (for tests and http.Server).
func (s *Server) Handler() http.Handler { return s.e }

// Serve listens on addr until ctx is done, then shuts down gracefully.
func (s *Server) Serve(ctx context.Context, addr string, ready func(net string)) error {
	srv := &http.Server{
		Addr:              addr,
		Handler:           s.e,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      5 * time.Minute, // CSV exports stream for a while
		IdleTimeout:       2 * time.Minute,
	}
	ln, err := listen(addr)
	if err != nil {
		return err
	}
	if ready != nil {
		ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	pctx, stopPrune := context.WithCancel(ctx)
	defer stopPrune()
	go s.pruneSignInState(pctx)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

func (s *Server) now() time.Time {
	if s.deps.Now != nil {
		return s.deps.Now().UTC()
	}
	return time.Now().UTC()
}

func cacheForever(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if c.QueryParam("v") != "" {
			c.Response().Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		}
		return next(c)
	}
}

func (s *Server) logRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		// Pages render into a buffer before the headers go out, so this is
		// the server's whole time (the queue benchmark reads it).
		c.Response().Before(func() {
			ms := float64(time.Since(start).Microseconds()) / 1000
			c.Response().Header().Set("Server-Timing", string(strconv.AppendFloat([]byte("app;dur="), ms, 'f', 3, 64)))
		})
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		status := c.Response().Status
		if status >= 500 || s.deps.Log.Enabled(c.Request().Context(), slog.LevelDebug) {
			s.deps.Log.Info("request",
				slog.String("method", c.Request().Method),
				slog.String("path", c.Path()), // the route pattern: no tokens from webhook URLs
				slog.Int("status", status),
				slog.Duration("took", time.Since(start)),
				slog.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID)))
		}
		return nil
	}
}

func (s *Server) healthz(c echo.Context) error {
	return c.String(http.StatusOK, "ok\n")
}

func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 3*time.Second)
	defer cancel()
	if err := s.deps.Ready(ctx); err != nil {
		return c.String(http.StatusServiceUnavailable, "not ready: "+err.Error()+"\n")
	}
	return c.String(http.StatusOK, "ready\n")
}
