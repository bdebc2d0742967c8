package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"backstop/internal/auth"
)

// TestSignInThrottleUnderRapidAttempts fires 1,000 sign-in attempts at once
// from 20 clients and counts how many reached the password check. The
// throttle counts an attempt before its bcrypt comparison, under a lock, so
// however many arrive together exactly the limit get a verdict on their
// password; every other one is refused, the right password too.
func TestSignInThrottleUnderRapidAttempts(t *testing.T) {
	t.Parallel()
	lim := auth.DefaultThrottle
	for _, tc := range []struct {
		name  string
		email func(i int) string
		limit int
	}{
		{"one account", func(int) string { return "eng@example.org" }, lim.AccountLimit},
		{"one address, many accounts", func(i int) string { return fmt.Sprintf("guess%d@example.org", i) }, lim.AddrLimit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			pw := addUser(t, e.store, "eng@example.org", auth.Engineer, nil)
			got := attemptAll(t, e.srv.URL, 1000, 20, tc.email)
			t.Logf("1,000 wrong passwords from 20 clients at once: %d reached the password check (401), %d refused (429), answers %v",
				got[http.StatusUnauthorized], got[http.StatusTooManyRequests], got)
			if got[http.StatusUnauthorized] != tc.limit || got[http.StatusTooManyRequests] != 1000-tc.limit {
				t.Errorf("got answers %v, want %d × 401 (password checked) and %d × 429", got, tc.limit, 1000-tc.limit)
			}
			if n := e.count("login_failures"); n != tc.limit {
				t.Errorf("got %d failures recorded, want %d", n, tc.limit)
			}
			b := newBrowser(t, e.srv.URL)
			resp, body := b.post("/signin", url.Values{"email": {"eng@example.org"}, "password": {pw}})
			if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "Too many failed sign-ins") {
				t.Errorf("the right password while throttled: got %d %s, want 429 saying why", resp.StatusCode, excerpt(body))
			}
		})
	}
}

// attemptAll sends n sign-ins with a wrong password from clients sessions
// in parallel and counts the answers by status.
func attemptAll(t *testing.T, base string, n, clients int, email func(int) string) map[int]int {
	t.Helper()
	type session struct {
		c    *http.Client
		csrf string
	}
	ss := make([]session, clients)
	for i := range ss {
		b := newBrowser(t, base)
		b.get("/signin")
		ss[i] = session{c: b.c, csrf: b.csrf}
	}
	var mu sync.Mutex
	got := map[int]int{}
	var wg sync.WaitGroup
	next := make(chan int)
	for _, s := range ss {
		wg.Go(func() {
			for i := range next {
				form := url.Values{"_csrf": {s.csrf}, "email": {email(i)}, "password": {"not the password"}}
				req, _ := http.NewRequest("POST", base+"/signin", strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Origin", base)
				status := -1
				if resp, err := s.c.Do(req); err == nil {
					resp.Body.Close()
					status = resp.StatusCode
				}
				mu.Lock()
				got[status]++
				mu.Unlock()
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return got
}
