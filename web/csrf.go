package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"
)

// csrfField and csrfHeader are where a state-changing request carries the
// session's token: the hidden form field every form has, or the header htmx
// sends (set on <body> by the layout).
const (
	csrfField  = "_csrf"
	csrfHeader = "X-CSRF-Token"
)

// newCrossOrigin is net/http's CrossOriginProtection: it refuses a
// state-changing request that a browser marks as cross-site (Sec-Fetch-Site)
// or whose Origin is not this host. BaseURL's origin is trusted as well, for
// a proxy that rewrites Host.
func newCrossOrigin(baseURL string) *http.CrossOriginProtection {
	p := http.NewCrossOriginProtection()
	if u, err := url.Parse(baseURL); err == nil && u.Scheme != "" && u.Host != "" {
		p.AddTrustedOrigin(u.Scheme + "://" + u.Host)
	}
	return p
}

// csrf protects every state-changing request of the browser app twice: the
// origin check above, and a token kept in the server-side session (made on
// first use, replaced at sign-in) that the request must echo. Echo's own
// CSRF middleware waives the token whenever Sec-Fetch-Site says
// same-origin; this one always asks for it.
func (s *Server) csrf(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		ctx := r.Context()
		token := s.sm.GetString(ctx, sessCSRF)
		if token == "" {
			token = newCSRFToken()
			s.sm.Put(ctx, sessCSRF, token)
		}
		c.Set(sessCSRF, token)
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			return next(c)
		}
		if err := s.crossOrigin.Check(r); err != nil {
			return echo.NewHTTPError(http.StatusForbidden, "Refused: this request came from another site")
		}
		sent := r.Header.Get(csrfHeader)
		if sent == "" {
			sent = c.FormValue(csrfField)
		}
		if subtle.ConstantTimeCompare([]byte(sent), []byte(token)) != 1 {
			return echo.NewHTTPError(http.StatusForbidden, "Refused: the form has expired or did not come from Backstop")
		}
		return next(c)
	}
}

func newCSRFToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// csrfToken is the current request's token, for forms.
func csrfToken(c echo.Context) string {
	t, _ := c.Get(sessCSRF).(string)
	return t
}
