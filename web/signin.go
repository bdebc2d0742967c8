package web

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"backstop/internal/auth"
	"backstop/internal/derrors"
	"backstop/views"
)

// maxEmail is the longest email address an account can have.
const maxEmail = 254

func (s *Server) signInPage(c echo.Context) error {
	u, err := s.loadUser(c)
	if err != nil {
		return err
	}
	next := localPath(c.QueryParam("next"), "/")
	if u != nil {
		return c.Redirect(http.StatusSeeOther, next)
	}
	f := views.SignInForm{Next: next}
	if c.QueryParam("signed_out") != "" {
		f.Info = "You are signed out."
	}
	return s.renderSignIn(c, http.StatusOK, f)
}

func (s *Server) renderSignIn(c echo.Context, status int, f views.SignInForm) error {
	return render(c, status, views.SignInPage(s.chrome(c, "Sign in", ""), f))
}

// signIn checks the throttle before the password, so a throttled account
// costs no bcrypt and reveals nothing; a wrong email and a wrong password
// take the same time and get the same message. Success replaces the
// session token and the CSRF token (no session fixation).
func (s *Server) signIn(c echo.Context) error {
	ctx := c.Request().Context()
	f := views.SignInForm{Email: strings.TrimSpace(c.FormValue("email")), Next: localPath(c.FormValue("next"), "/")}
	password := c.FormValue("password")
	if f.Email == "" || password == "" {
		f.Error = "Enter your email and password."
		return s.renderSignIn(c, http.StatusBadRequest, f)
	}
	// No account has a longer address (RFC 5321 allows 254 characters);
	// refused before the throttle counts it, so it never reaches
	// login_failures.
	if len(f.Email) > maxEmail {
		f.Email, f.Error = "", "That is not an email address."
		return s.renderSignIn(c, http.StatusBadRequest, f)
	}
	account, addr, now := auth.AccountKey(f.Email), c.RealIP(), s.now()
	th := s.throttle()
	err := s.deps.Store.BeginSignIn(ctx, account, addr, now.Add(-th.Window), now, func(fails auth.Failures) error {
		return th.Check(fails, now)
	})
	var throttled *auth.ThrottledError
	if errors.As(err, &throttled) {
		f.Error = throttled.Error()
		return s.renderSignIn(c, http.StatusTooManyRequests, f)
	}
	if err != nil {
		return err
	}
	u, err := s.deps.Store.UserByEmail(ctx, f.Email)
	ok := false
	switch {
	case errors.Is(err, derrors.NotFound):
		auth.CheckNoUser(password)
	case err != nil:
		return err
	default:
		ok = auth.CheckPassword(u.PasswordHash, password)
	}
	if !ok { // BeginSignIn already counted the attempt as a failure
		f.Error = "That email and password do not match an account."
		return s.renderSignIn(c, http.StatusUnauthorized, f)
	}
	if err := s.sm.RenewToken(ctx); err != nil {
		return err
	}
	s.sm.Put(ctx, sessUserID, u.ID)
	s.sm.Put(ctx, sessCSRF, newCSRFToken())
	if err := s.deps.Store.SignedIn(ctx, u.ID, account, now); err != nil {
		return err
	}
	s.deps.Log.Info("signed in", slog.Int64("user", u.ID), slog.String("role", string(u.Role)))
	return c.Redirect(http.StatusSeeOther, f.Next)
}

// signOut ends the session in the database, not only in the browser.
func (s *Server) signOut(c echo.Context) error {
	if err := s.sm.Destroy(c.Request().Context()); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/signin?signed_out=1")
}

func (s *Server) throttle() auth.Throttle {
	if s.deps.Throttle != nil {
		return *s.deps.Throttle
	}
	return auth.DefaultThrottle
}
