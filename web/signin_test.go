package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"backstop/internal/auth"
	"backstop/web"
)

func TestSignInAndOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pw := addUser(t, e.store, "eng@example.org", auth.Engineer, nil)
	b := newBrowser(t, e.srv.URL)

	resp, _ := b.get("/t/acme/queues/failed?sort=newest")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/signin?next="+url.QueryEscape("/t/acme/queues/failed?sort=newest") {
		t.Fatalf("anonymous: got %d to %q, want 303 to the sign-in page remembering the page", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body := b.get("/signin")
	if resp.StatusCode != 200 || !strings.Contains(body, `name="password"`) || !strings.Contains(body, `<label for="email">`) {
		t.Fatalf("sign-in page: got %d %s", resp.StatusCode, excerpt(body))
	}
	before := b.cookie("backstop_session")
	if before == nil {
		t.Fatal("no session cookie before sign-in (the CSRF token lives in the session)")
	}

	resp, body = b.post("/signin", url.Values{"email": {"eng@example.org"}, "password": {"wrong password"}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "do not match an account") {
		t.Errorf("wrong password: got %d %s", resp.StatusCode, excerpt(body))
	}
	resp, body = b.post("/signin", url.Values{"email": {"nobody@example.org"}, "password": {"wrong password"}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "do not match an account") {
		t.Errorf("unknown email: got %d %s, want the same answer as a wrong password", resp.StatusCode, excerpt(body))
	}

	resp, _ = b.post("/signin", url.Values{"email": {"ENG@example.org "}, "password": {pw}, "next": {"/t/acme/queues/failed"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/t/acme/queues/failed" {
		t.Fatalf("sign in: got %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	var setCookie string
	for _, h := range resp.Header.Values("Set-Cookie") {
		if strings.HasPrefix(h, "backstop_session=") {
			setCookie = h
		}
	}
	for _, attr := range []string{"HttpOnly", "SameSite=Lax", "Path=/"} {
		if !strings.Contains(setCookie, attr) {
			t.Errorf("session cookie %q lacks %s", setCookie, attr)
		}
	}
	if strings.Contains(setCookie, "Secure") {
		t.Errorf("session cookie %q is Secure on plain HTTP; the browser would drop it", setCookie)
	}
	after := b.cookie("backstop_session")
	if after == nil || after.Value == before.Value {
		t.Fatal("the session token was not replaced at sign-in")
	}
	if n := e.count(`sessions WHERE token = '` + before.Value + `'`); n != 0 {
		t.Errorf("the pre-sign-in session still exists (%d rows)", n)
	}
	var lastLogin *time.Time
	e.store.DB().Get(&lastLogin, `SELECT last_login_at FROM users WHERE email = 'eng@example.org'`)
	if lastLogin == nil || !lastLogin.Equal(e.now) {
		t.Errorf("got last_login_at %v, want %v", lastLogin, e.now)
	}
	if resp, body := b.get("/"); resp.StatusCode != 200 || !strings.Contains(body, "eng@example.org") || !strings.Contains(body, "ACME") {
		t.Errorf("signed in: got %d %s", resp.StatusCode, excerpt(body))
	}

	// Sign-out ends the session on the server: the old cookie is worthless.
	stolen := *after
	resp, _ = b.post("/signout", nil)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/signin") {
		t.Fatalf("sign out: got %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if n := e.count(`sessions WHERE token = '` + stolen.Value + `'`); n != 0 {
		t.Errorf("the session row survived sign-out")
	}
	replay := newBrowser(t, e.srv.URL)
	u, _ := url.Parse(e.srv.URL)
	replay.c.Jar.SetCookies(u, []*http.Cookie{&stolen})
	if resp, _ := replay.get("/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("replayed cookie after sign-out: got %d, want 303 to sign in", resp.StatusCode)
	}
}

func TestSignInNextIsLocalOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pw := addUser(t, e.store, "eng@example.org", auth.Engineer, nil)
	for _, next := range []string{"https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"} {
		b := newBrowser(t, e.srv.URL)
		b.get("/signin")
		resp, _ := b.post("/signin", url.Values{"email": {"eng@example.org"}, "password": {pw}, "next": {next}})
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/" {
			t.Errorf("next=%q: got %d to %q, want 303 to /", next, resp.StatusCode, loc)
		}
	}
}

// An address longer than any account's is refused before the throttle
// counts it: nothing is written.
func TestSignInLongEmail(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newBrowser(t, e.srv.URL)
	b.get("/signin")
	resp, body := b.post("/signin", url.Values{"email": {strings.Repeat("a", 250) + "@example.org"}, "password": {"guess"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "That is not an email address.") {
		t.Errorf("got %d %s", resp.StatusCode, excerpt(between(body, `role="alert"`, "</div>")))
	}
	if n := e.count(`login_failures`); n != 0 {
		t.Errorf("got %d failures counted, want 0", n)
	}
}

func TestSignInThrottle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pw := addUser(t, e.store, "staff@example.org", auth.Staff, &e.tenant.ID)
	other := addUser(t, e.store, "other@example.org", auth.Staff, &e.tenant.ID)
	b := newBrowser(t, e.srv.URL)
	b.get("/signin")
	for i := 0; i < auth.DefaultThrottle.AccountLimit; i++ {
		if resp, _ := b.post("/signin", url.Values{"email": {"staff@example.org"}, "password": {"guess"}}); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: got %d", i+1, resp.StatusCode)
		}
	}
	// Locked: even the right password is refused, with a message in words,
	// and no new failure is counted.
	resp, body := b.post("/signin", url.Values{"email": {"Staff@Example.org"}, "password": {pw}})
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "Too many failed sign-ins for this account. Try again in 15 minutes.") {
		t.Fatalf("locked account: got %d %s", resp.StatusCode, excerpt(body))
	}
	if n := e.count(`login_failures`); n != auth.DefaultThrottle.AccountLimit {
		t.Errorf("got %d failures counted, want %d", n, auth.DefaultThrottle.AccountLimit)
	}
	// Another account from the same address is not locked by this one.
	if resp, _ := b.post("/signin", url.Values{"email": {"other@example.org"}, "password": {other}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("other account: got %d, want it to sign in", resp.StatusCode)
	}
	// Once the window has passed, the account may try again.
	e.now = e.now.Add(auth.DefaultThrottle.Window + time.Second)
	b = newBrowser(t, e.srv.URL)
	b.get("/signin")
	if resp, body := b.post("/signin", url.Values{"email": {"staff@example.org"}, "password": {pw}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after the window: got %d %s", resp.StatusCode, excerpt(body))
	}
	if n := e.count(`login_failures WHERE account = 'staff@example.org'`); n != 0 {
		t.Errorf("got %d failures kept for the account after it signed in, want 0", n)
	}
}

func TestSignInThrottlePerAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(d *web.Deps) { d.Throttle = &auth.Throttle{Window: time.Hour, AccountLimit: 100, AddrLimit: 3} })
	pw := addUser(t, e.store, "staff@example.org", auth.Staff, &e.tenant.ID)
	b := newBrowser(t, e.srv.URL)
	b.get("/signin")
	for _, who := range []string{"a@example.org", "b@example.org", "c@example.org"} {
		b.post("/signin", url.Values{"email": {who}, "password": {"guess"}})
	}
	resp, body := b.post("/signin", url.Values{"email": {"staff@example.org"}, "password": {pw}})
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "from your network address") {
		t.Errorf("address over its limit: got %d %s", resp.StatusCode, excerpt(body))
	}
}

func TestSessionCookieSecureOnHTTPS(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(d *web.Deps) { d.BaseURL = "https://backstop.example" })
	resp, _ := newBrowser(t, e.srv.URL).get("/signin")
	var found bool
	for _, h := range resp.Header.Values("Set-Cookie") {
		if strings.HasPrefix(h, "backstop_session=") {
			found = true
			if !strings.Contains(h, "Secure") || !strings.Contains(h, "HttpOnly") {
				t.Errorf("got %q, want Secure and HttpOnly when served over HTTPS", h)
			}
		}
	}
	if !found {
		t.Fatal("no session cookie")
	}
}

// The idle timeout ends a session nobody uses; the absolute lifetime ends
// one however busy it is. (Short real-time timeouts: scs keeps time by the
// wall clock and PostgreSQL's current_timestamp.)
func TestSessionTimeouts(t *testing.T) {
	t.Parallel()
	t.Run("Idle", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, func(d *web.Deps) { d.SessionIdle = time.Second })
		pw := addUser(t, e.store, "eng@example.org", auth.Engineer, nil)
		b := newBrowser(t, e.srv.URL)
		b.signIn("eng@example.org", pw)
		if resp, _ := b.get("/"); resp.StatusCode != 200 {
			t.Fatalf("fresh session: got %d", resp.StatusCode)
		}
		time.Sleep(1500 * time.Millisecond)
		if resp, _ := b.get("/"); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("after the idle timeout: got %d, want 303 to sign in", resp.StatusCode)
		}
	})
	t.Run("Absolute", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, func(d *web.Deps) { d.SessionIdle, d.SessionLifetime = time.Hour, 2*time.Second })
		pw := addUser(t, e.store, "eng@example.org", auth.Engineer, nil)
		b := newBrowser(t, e.srv.URL)
		b.signIn("eng@example.org", pw)
		var expiry time.Time
		e.store.DB().Get(&expiry, `SELECT max(expiry) FROM sessions`)
		if d := time.Until(expiry); d > 3*time.Second {
			t.Errorf("session expires in %s, want within the 2s lifetime despite the 1h idle timeout", d)
		}
		deadline := time.Now().Add(2500 * time.Millisecond)
		for time.Now().Before(deadline) {
			b.get("/") // busy: the idle timeout never bites
			time.Sleep(200 * time.Millisecond)
		}
		if resp, _ := b.get("/"); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("after the lifetime: got %d, want 303 to sign in", resp.StatusCode)
		}
	})
}
