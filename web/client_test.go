package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"backstop/internal/auth"
	"backstop/internal/store"
)

// browser is a cookie-keeping HTTP client that does not follow redirects,
// so tests see each 303, and that sends the page's CSRF token with posts.
type browser struct {
	t    testing.TB
	base string
	c    *http.Client
	csrf string
}

func newBrowser(t testing.TB, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

var csrfRE = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

func (b *browser) do(req *http.Request) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if m := csrfRE.FindSubmatch(body); m != nil {
		b.csrf = string(m[1])
	}
	return resp, string(body)
}

func (b *browser) get(path string) (*http.Response, string) {
	b.t.Helper()
	req, _ := http.NewRequest("GET", b.base+path, nil)
	return b.do(req)
}

// post sends a form with the CSRF token of the last page read, unless the
// form carries its own _csrf (tests of refusal set it, or set it empty).
func (b *browser) post(path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["_csrf"]; !ok {
		if b.csrf == "" {
			b.get("/signin")
		}
		form.Set("_csrf", b.csrf)
	}
	req, _ := http.NewRequest("POST", b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// signIn signs in through the form and fails the test unless it succeeds.
func (b *browser) signIn(email, password string) {
	b.t.Helper()
	b.get("/signin")
	resp, body := b.post("/signin", url.Values{"email": {email}, "password": {password}})
	if resp.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("sign in as %s: got %d %s", email, resp.StatusCode, excerpt(body))
	}
	// Follow to a page, which carries the new session's CSRF token.
	for i := 0; i < 3 && resp.StatusCode == http.StatusSeeOther; i++ {
		resp, _ = b.get(resp.Header.Get("Location"))
	}
}

func (b *browser) cookie(name string) *http.Cookie {
	u, _ := url.Parse(b.base)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// addUser creates a user with a password of its email's length (≥ 10).
func addUser(t testing.TB, s *store.Store, email string, role auth.Role, tenantID *int64) string {
	t.Helper()
	pw := "pw-" + email
	hash, err := auth.HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(context.Background(), email, role, tenantID, hash); err != nil {
		t.Fatal(err)
	}
	return pw
}

// excerpt keeps failure messages readable.
func excerpt(body string) string {
	if len(body) > 600 {
		return body[:600] + "…"
	}
	return body
}
