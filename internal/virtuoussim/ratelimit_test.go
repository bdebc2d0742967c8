package virtuoussim

import (
	"strconv"
	"testing"
	"time"
)

func TestRateLimit(t *testing.T) {
	e := newEnv(t, Options{RateLimit: 5, RateWindow: 1500 * time.Millisecond})
	other := e.sim.AddOrg("Other Org", "key-other")
	_ = other
	start := time.Now()
	for i := range 5 {
		r := e.do("GET", "/api/Organization/Current", nil)
		if r.status != 200 {
			t.Fatalf("request %d: %d", i, r.status)
		}
		if got := r.header.Get("X-RateLimit-Remaining"); got != strconv.Itoa(4-i) {
			t.Errorf("request %d: remaining %q", i, got)
		}
		if r.header.Get("X-RateLimit-Limit") != "5" || r.header.Get("X-RateLimit-Reset") == "" {
			t.Errorf("request %d: headers %v", i, r.header)
		}
	}
	r := e.do("POST", "/api/v2/Gift/Transaction", giftTxJSON("S", "x", "x@example.org", "1"))
	if r.status != 429 {
		t.Fatalf("over the limit: %d", r.status)
	}
	ra, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || ra < 1 || ra > 2 {
		t.Errorf("Retry-After %q", r.header.Get("Retry-After"))
	}
	if r.header.Get("X-RateLimit-Remaining") != "0" {
		t.Errorf("remaining on 429: %q", r.header.Get("X-RateLimit-Remaining"))
	}
	reset, _ := strconv.ParseInt(r.header.Get("X-RateLimit-Reset"), 10, 64)
	if d := time.Unix(reset, 0).Sub(start); d < time.Second || d > 3*time.Second {
		t.Errorf("reset %v after the first request", d)
	}
	if len(e.org.PendingTransactions()) != 0 {
		t.Error("a refused request changed state")
	}
	// Another org has its own budget; the control API is free.
	if r := e.doKey("key-other", "GET", "/api/Organization/Current", nil); r.status != 200 {
		t.Errorf("other org: %d", r.status)
	}
	if r := e.do("GET", "/_sim/orgs/Test%20Org/counters", nil); r.status != 200 {
		t.Errorf("control API limited: %d", r.status)
	}
	// Wrong keys are 401 in plain text and cost nothing.
	for _, k := range []string{"", "nope"} {
		r := e.doKey(k, "GET", "/api/Organization/Current", nil)
		if r.status != 401 || string(r.body) != unauthorizedText {
			t.Errorf("key %q: %d %q", k, r.status, r.body)
		}
	}

	time.Sleep(time.Until(start.Add(1600 * time.Millisecond)))
	r = e.do("GET", "/api/Organization/Current", nil)
	if r.status != 200 || r.header.Get("X-RateLimit-Remaining") != "4" {
		t.Errorf("after the window: %d remaining %q", r.status, r.header.Get("X-RateLimit-Remaining"))
	}
	var org struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	}
	r.json(t, &org)
	if org.Name != "Test Org" || org.ID == 0 {
		t.Errorf("organization = %+v", org)
	}
	if c := e.org.Counters(); c.RateLimited != 1 || c.Requests["GET /api/Organization/Current"] != 6 {
		t.Errorf("counters: %d limited, %v", c.RateLimited, c.Requests)
	}
}

// An injected burst refuses every request with 429, Retry-After and no
// remaining budget until it ends, spends nothing of the hourly window, and
// counts the requests that came in after the client had been told to wait.
func TestThrottleBursts(t *testing.T) {
	e := newEnv(t, Options{RateLimit: 100})
	e.org.SetConfig(OrgConfig{ThrottleRate: 1, ThrottleFor: 1500 * time.Millisecond})
	start := time.Now()
	r := e.do("GET", "/api/Organization/Current", nil)
	if r.status != 429 || r.header.Get("Retry-After") != "2" || r.header.Get("X-RateLimit-Remaining") != "0" {
		t.Fatalf("opening request: %d Retry-After %q Remaining %q", r.status, r.header.Get("Retry-After"), r.header.Get("X-RateLimit-Remaining"))
	}
	e.org.SetConfig(OrgConfig{ThrottleRate: 1e-9, ThrottleFor: 1500 * time.Millisecond}) // no new burst after this one
	if r := e.do("GET", "/api/Organization/Current", nil); r.status != 429 {
		t.Fatalf("inside the burst, within the grace: %d", r.status)
	}
	time.Sleep(time.Until(start.Add(throttleGrace + 100*time.Millisecond)))
	if r := e.do("POST", "/api/v2/Gift/Transaction", giftTxJSON("S", "x", "x@example.org", "1")); r.status != 429 {
		t.Fatalf("inside the burst, after the grace: %d", r.status)
	}
	if len(e.org.PendingTransactions()) != 0 {
		t.Error("a throttled request changed state")
	}
	time.Sleep(time.Until(start.Add(1600 * time.Millisecond)))
	r = e.do("GET", "/api/Organization/Current", nil)
	if r.status != 200 || r.header.Get("X-RateLimit-Remaining") != "99" {
		t.Fatalf("after the burst: %d, remaining %q (want 99: the burst spent nothing)", r.status, r.header.Get("X-RateLimit-Remaining"))
	}
	c := e.org.Counters()
	if c.ThrottleBursts != 1 || c.Throttled != 3 || c.RetryAfterIgnored != 1 || c.RateLimited != 0 {
		t.Errorf("got bursts %d, throttled %d, ignored %d, rate limited %d; want 1, 3, 1, 0", c.ThrottleBursts, c.Throttled, c.RetryAfterIgnored, c.RateLimited)
	}
}
