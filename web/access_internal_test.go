package web

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	"backstop/internal/auth"
	"backstop/internal/derrors"
)

// requireEngineer is what the engineering and report pages will use:
// engineers pass, anyone else gets the 404 of a page that does not exist.
func TestRequireEngineer(t *testing.T) {
	e := echo.New()
	slug := "acme"
	tid := int64(1)
	for _, tc := range []struct {
		name string
		user *auth.User
		pass bool
	}{
		{"anonymous", nil, false},
		{"staff", &auth.User{Role: auth.Staff, TenantID: &tid, TenantSlug: &slug}, false},
		{"engineer", &auth.User{Role: auth.Engineer}, true},
	} {
		c := e.NewContext(httptest.NewRequest("GET", "/engineering", nil), httptest.NewRecorder())
		if tc.user != nil {
			c.Set(ctxUser, tc.user)
		}
		reached := false
		err := requireEngineer(func(echo.Context) error { reached = true; return c.NoContent(http.StatusOK) })(c)
		if reached != tc.pass {
			t.Errorf("%s: reached the page = %v, want %v", tc.name, reached, tc.pass)
		}
		if !tc.pass && !errors.Is(err, derrors.NotFound) {
			t.Errorf("%s: got %v, want NotFound (404)", tc.name, err)
		}
	}
}

func TestLocalPath(t *testing.T) {
	for in, want := range map[string]string{
		"/t/acme/queues/failed?page=2": "/t/acme/queues/failed?page=2",
		"":                             "/",
		"https://evil.example/":        "/",
		"//evil.example":               "/",
		"/\\evil.example":              "/",
		"javascript:alert(1)":          "/",
		"/ok\r\nSet-Cookie: x":         "/",
	} {
		if got := localPath(in, "/"); got != want {
			t.Errorf("localPath(%q) = %q, want %q", in, got, want)
		}
	}
}
