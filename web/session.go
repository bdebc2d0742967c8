package web

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/alexedwards/scs/postgresstore"
	"github.com/alexedwards/scs/v2"
	"github.com/labstack/echo/v4"
)

// Session keys.
const (
	sessUserID = "uid"
	sessCSRF   = "csrf"
	sessFlash  = "flash"
	// ctxSession marks a request the sessions middleware has loaded.
	ctxSession = "session_loaded"
)

// Default session timeouts: a day's work without signing in again, and an
// hour away from the desk ends the session.
const (
	DefaultSessionIdle     = time.Hour
	DefaultSessionLifetime = 12 * time.Hour
)

// newSessions builds the session manager: server-side sessions in the
// sessions table (alexedwards/scs with its Postgres store, over the shared
// pool), an HttpOnly SameSite=Lax cookie that is Secure whenever Backstop is
// served over HTTPS, and idle and absolute timeouts.
func newSessions(d Deps) *scs.SessionManager {
	sm := scs.New()
	// No cleanup goroutine per manager: Serve prunes expired rows, so tests
	// that build many servers start no background work.
	sm.Store = postgresstore.NewWithCleanupInterval(d.Store.DB().DB, 0)
	sm.IdleTimeout = d.SessionIdle
	if sm.IdleTimeout <= 0 {
		sm.IdleTimeout = DefaultSessionIdle
	}
	sm.Lifetime = d.SessionLifetime
	if sm.Lifetime <= 0 {
		sm.Lifetime = DefaultSessionLifetime
	}
	sm.Cookie.Name = "backstop_session"
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Secure = strings.HasPrefix(d.BaseURL, "https://")
	sm.Cookie.Path = "/"
	return sm
}

// sessions is scs's LoadAndSave for Echo: it loads the session before the
// handler and commits it just before the response headers go out, so the
// cookie is written with every response, error pages included. It handles
// the handler's error itself, inside the session, so an error page can show
// the signed-in frame and a flash can survive a redirect.
func (s *Server) sessions(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		var token string
		if ck, err := r.Cookie(s.sm.Cookie.Name); err == nil {
			token = ck.Value
		}
		ctx, err := s.sm.Load(r.Context(), token)
		if err != nil {
			return err
		}
		c.SetRequest(r.WithContext(ctx))
		c.Set(ctxSession, true)
		w := c.Response()
		w.Header().Add(echo.HeaderVary, "Cookie")
		w.Before(func() { s.commitSession(ctx, w) })
		if err := next(c); err != nil {
			c.Error(err)
		}
		if !w.Committed {
			s.commitSession(ctx, w)
		}
		return nil
	}
}

func (s *Server) commitSession(ctx context.Context, w http.ResponseWriter) {
	switch s.sm.Status(ctx) {
	case scs.Modified:
		token, expiry, err := s.sm.Commit(ctx)
		if err != nil {
			s.deps.Log.Error("commit session", slog.Any("error", err))
			return
		}
		s.sm.WriteSessionCookie(ctx, w, token, expiry)
	case scs.Destroyed:
		s.sm.WriteSessionCookie(ctx, w, "", time.Time{})
	}
}

// pruneSignInState removes expired sessions and old sign-in failures every
// few minutes while the server runs.
func (s *Server) pruneSignInState(ctx context.Context) {
	t := time.NewTicker(5 * time.Minute)
	defer t.Stop()
	for {
		if err := s.deps.Store.PruneSignInState(ctx, time.Now().Add(-24*time.Hour)); err != nil && ctx.Err() == nil {
			s.deps.Log.Warn("prune sessions", slog.Any("error", err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
