package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"backstop/internal/apptest"
	"backstop/internal/auth"
	"backstop/internal/record"
)

// Every state-changing request of the browser app needs the session's
// token and must not come from another origin.
func TestCSRFRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pw := addUser(t, e.store, "eng@example.org", auth.Engineer, nil)
	b := newBrowser(t, e.srv.URL)
	b.signIn("eng@example.org", pw)
	sessions := e.count("sessions")

	postRaw := func(path string, form url.Values, header map[string]string) int {
		req, _ := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, _ := b.do(req)
		return resp.StatusCode
	}
	for _, tc := range []struct {
		name   string
		form   url.Values
		header map[string]string
	}{
		{"no token", url.Values{}, nil},
		{"empty token", url.Values{"_csrf": {""}}, nil},
		{"wrong token", url.Values{"_csrf": {"forged"}}, nil},
		{"token of another session", url.Values{"_csrf": {otherToken(t, e.srv.URL)}}, nil},
		{"valid token, cross-site fetch", url.Values{"_csrf": {b.csrf}}, map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"valid token, foreign Origin", url.Values{"_csrf": {b.csrf}}, map[string]string{"Origin": "https://evil.example"}},
		{"valid header token, foreign Origin", url.Values{}, map[string]string{"X-CSRF-Token": b.csrf, "Origin": "https://evil.example"}},
	} {
		if got := postRaw("/signout", tc.form, tc.header); got != http.StatusForbidden {
			t.Errorf("%s: got %d, want 403", tc.name, got)
		}
	}
	if resp, _ := b.get("/"); resp.StatusCode != 200 {
		t.Fatalf("a refused sign-out signed the user out: got %d", resp.StatusCode)
	}
	if n := e.count("sessions"); n < sessions {
		t.Errorf("sessions went from %d to %d after refused requests", sessions, n)
	}
	// The same request with the token, from this origin, goes through; htmx's
	// header works as well as the form field.
	if got := postRaw("/signout", url.Values{}, map[string]string{"X-CSRF-Token": b.csrf, "Origin": e.srv.URL, "Sec-Fetch-Site": "same-origin"}); got != http.StatusSeeOther {
		t.Errorf("valid request: got %d, want 303", got)
	}
}

// Sign-in itself is protected, so a foreign page cannot sign a browser in
// to an account of the attacker's.
func TestCSRFSignIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pw := addUser(t, e.store, "eng@example.org", auth.Engineer, nil)
	b := newBrowser(t, e.srv.URL)
	b.get("/signin")
	resp, body := b.post("/signin", url.Values{"_csrf": {"x"}, "email": {"eng@example.org"}, "password": {pw}})
	if resp.StatusCode != http.StatusForbidden || strings.Contains(body, "eng@example.org") {
		t.Errorf("sign-in without token: got %d", resp.StatusCode)
	}
	if resp, _ := b.get("/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("refused sign-in left the browser signed in")
	}
}

// otherToken is the CSRF token of a different, anonymous session.
func otherToken(t *testing.T, base string) string {
	o := newBrowser(t, base)
	o.get("/signin")
	if o.csrf == "" {
		t.Fatal("no token on the sign-in page")
	}
	return o.csrf
}

// The dashboard's actions are refused the same way, and write nothing.
func TestCSRFOnActions(t *testing.T) {
	t.Parallel()
	d := newDash(t, apptest.Options{})
	r := d.put(seed{n: 1, status: record.NeedsReview})
	b := d.as(staffA)
	b.get(recPath(r, ""))
	audits := d.count("audit_log")
	for name, tc := range map[string]struct {
		form   url.Values
		header map[string]string
	}{
		"no token":        {vform(r, "reason", "x", "_csrf", ""), nil},
		"forged token":    {vform(r, "reason", "x", "_csrf", "forged"), nil},
		"foreign origin":  {vform(r, "reason", "x", "_csrf", b.csrf), map[string]string{"Origin": "https://evil.example"}},
		"cross-site form": {vform(r, "reason", "x", "_csrf", b.csrf), map[string]string{"Sec-Fetch-Site": "cross-site"}},
	} {
		req, _ := http.NewRequest("POST", d.Web.URL+recPath(r, "/discard"), strings.NewReader(tc.form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range tc.header {
			req.Header.Set(k, v)
		}
		if resp, _ := b.do(req); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: got %d, want 403", name, resp.StatusCode)
		}
	}
	if d.status(r.ID) != record.NeedsReview || d.count("audit_log") != audits {
		t.Errorf("a refused discard wrote something: status %s", d.status(r.ID))
	}
	if resp, _ := b.post(recPath(r, "/discard"), vform(r, "reason", "x")); resp.StatusCode != http.StatusSeeOther || d.status(r.ID) != record.Discarded {
		t.Errorf("with the token: got %d, status %s", resp.StatusCode, d.status(r.ID))
	}
}
