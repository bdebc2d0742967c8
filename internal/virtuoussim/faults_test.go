package virtuoussim

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestServerErrors(t *testing.T) {
	e := newEnv(t, Options{})
	e.org.SetConfig(OrgConfig{ServerErrorRate: 1})
	seen := map[int]bool{}
	for i := range 30 {
		r := e.do("POST", "/api/v2/Gift/Transaction", giftTxJSON("Stripe", "pi_5xx_"+itoa(i), "f@example.org", "1"))
		if r.status < 500 {
			t.Fatalf("request %d: %d", i, r.status)
		}
		if r.header.Get("X-RateLimit-Remaining") == "" {
			t.Error("5xx without rate-limit headers")
		}
		seen[r.status] = true
	}
	if len(seen) < 3 {
		t.Errorf("5xx statuses not varied: %v", seen)
	}
	// Some of the failed writes took effect anyway: a client must retry, and
	// Virtuous's dedupe makes that safe.
	c := e.org.Counters()
	if c.ServerErrors != 30 || c.ServerErrorsAfterWrite == 0 || int(c.ServerErrorsAfterWrite) != len(e.org.PendingTransactions()) {
		t.Errorf("server errors %d, after write %d, pending %d", c.ServerErrors, c.ServerErrorsAfterWrite, len(e.org.PendingTransactions()))
	}
	e.org.SetConfig(OrgConfig{})
	if r := e.do("GET", "/api/Organization/Current", nil); r.status != 200 {
		t.Errorf("after clearing faults: %d", r.status)
	}
}

func TestMalformedResponses(t *testing.T) {
	e := newEnv(t, Options{})
	if _, err := e.org.BulkLoadGifts(3, BulkGifts{}); err != nil {
		t.Fatal(err)
	}
	e.org.SetConfig(OrgConfig{MalformedRate: 1})
	for _, path := range []string{"/api/Gift/Query/FullGift?take=3", "/api/Organization/Current"} {
		method := "POST"
		if path == "/api/Organization/Current" {
			method = "GET"
		}
		r := e.do(method, path, nil)
		var v any
		if r.status != 200 || json.Unmarshal(r.body, &v) == nil {
			t.Errorf("%s: %d %q should be a 200 that does not parse", path, r.status, r.body)
		}
	}
	if e.org.Counters().Malformed != 2 {
		t.Errorf("malformed = %d", e.org.Counters().Malformed)
	}
}

func TestTimeoutsHangUntilTheClientGivesUp(t *testing.T) {
	e := newEnv(t, Options{})
	e.org.SetConfig(OrgConfig{TimeoutRate: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.url+"/api/Organization/Current", nil)
	req.Header.Set("Authorization", "Bearer "+testKey)
	// An answer of any kind would beat the deadline: the error is the proof
	// that none came.
	_, err := e.client.Do(req)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the client's deadline", err)
	}
	// Without a client deadline the hang is bounded.
	e.org.SetConfig(OrgConfig{TimeoutRate: 1, TimeoutHang: 100 * time.Millisecond})
	if r := e.do("GET", "/api/Organization/Current", nil); r.status != http.StatusGatewayTimeout {
		t.Errorf("bounded hang: %d", r.status)
	}
	if e.org.Counters().Timeouts != 2 {
		t.Errorf("timeouts = %d", e.org.Counters().Timeouts)
	}
}

// Latency and a slow response are waits before the answer: the simulator's
// waits are recorded instead of sat out.
func TestLatencyAndSlow(t *testing.T) {
	e := newEnv(t, Options{})
	var mu sync.Mutex
	var waits []time.Duration
	hook := func(_ context.Context, d time.Duration) bool {
		mu.Lock()
		defer mu.Unlock()
		waits = append(waits, d)
		return true
	}
	e.sim.sleepHook.Store(&hook)
	e.org.SetConfig(OrgConfig{Latency: 50 * time.Millisecond, SlowRate: 1, SlowBy: 70 * time.Millisecond})
	if r := e.do("GET", "/api/Organization/Current", nil); r.status != 200 {
		t.Fatal(r.status)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(waits, []time.Duration{50 * time.Millisecond, 70 * time.Millisecond}) {
		t.Errorf("waited %v before answering, want the 50ms latency then 70ms slow", waits)
	}
	if c := e.org.Counters(); c.Slow != 1 {
		t.Errorf("slow = %d, want 1", c.Slow)
	}
}

func TestWebhookOutageAndRetries(t *testing.T) {
	e := newEnv(t, Options{})
	rc := newReceiver(t)
	e.org.Subscribe(rc.srv.URL, "", "")
	retry := []time.Duration{50 * time.Millisecond, 100 * time.Millisecond}
	// Down for the next hour of simulator time.
	e.org.SetConfig(OrgConfig{WebhookRetries: retry, Outages: []Window{{From: t0, To: t0.Add(time.Hour)}}})

	// Exhausted: the outage outlasts every retry.
	if _, err := e.org.CreateGiftDirect(DirectGift{ContactID: 0, FirstName: "Out", LastName: "Age", Amount: "1"}); err != nil {
		t.Fatal(err)
	}
	e.waitIdle()
	c := e.org.Counters()
	if len(rc.deliveries()) != 0 || c.WebhooksLostExhausted != 2 || c.WebhooksRetried != 4 || c.WebhookFailedAttempts != 6 {
		t.Errorf("exhausted: %d delivered, counters %+v", len(rc.deliveries()), c)
	}

	// Recovered: the receiver comes back (simulator time moves past the
	// outage) before the retries run out.
	e.org.SetConfig(OrgConfig{WebhookRetries: []time.Duration{300 * time.Millisecond, time.Second}, Outages: []Window{{From: t0, To: t0.Add(time.Hour)}}})
	e.org.ResetCounters()
	if _, err := e.org.CreateGiftDirect(DirectGift{FirstName: "Back", LastName: "Soon", Amount: "2"}); err != nil {
		t.Fatal(err)
	}
	// Wait for both first attempts to fail inside the outage, then end it.
	for deadline := time.Now().Add(5 * time.Second); e.org.Counters().WebhookFailedAttempts < 2; {
		if time.Now().After(deadline) {
			t.Fatal("first attempts never failed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	e.clock.Advance(2 * time.Hour)
	e.waitIdle()
	c = e.org.Counters()
	if len(rc.deliveries()) != 2 || c.WebhooksDelivered != 2 || c.WebhooksRetried < 2 || c.WebhooksLost != 0 {
		t.Errorf("recovered: %d delivered, counters %+v", len(rc.deliveries()), c)
	}

	// A receiver answering 500 is retried too.
	e.org.SetConfig(OrgConfig{WebhookRetries: []time.Duration{20 * time.Millisecond}})
	e.org.ResetCounters()
	rc.mu.Lock()
	rc.status = 500
	rc.mu.Unlock()
	g := e.org.Gifts()[0]
	if err := e.org.EditGift(g.ID, GiftEdit{Notes: ptr("x")}); err != nil {
		t.Fatal(err)
	}
	e.waitIdle()
	c = e.org.Counters()
	if c.WebhooksLostExhausted == 0 || c.WebhooksRetried == 0 {
		t.Errorf("500 receiver: %+v", c)
	}
}

func TestWebhookDuplicatesAndEnvelope(t *testing.T) {
	e := newEnv(t, Options{Seed: 3})
	rc := newReceiver(t)
	e.org.Subscribe(rc.srv.URL, "", "")
	e.org.SetConfig(OrgConfig{WebhookDupRate: 1, EnvelopeRate: 1})
	if _, err := e.org.CreateGiftDirect(DirectGift{FirstName: "Dup", LastName: "Licate", Amount: "3"}); err != nil {
		t.Fatal(err)
	}
	e.waitIdle()
	evs := rc.events(t)
	if len(evs) != 4 || countEvents(evs, EventGiftCreate) != 2 {
		t.Fatalf("got %d deliveries: %v", len(evs), evs)
	}
	for _, ev := range evs {
		if ev["eventId"] == nil || ev["eventDateTimeUtc"] == nil || ev["organization"].(map[string]any)["name"] != "Test Org" {
			t.Errorf("envelope missing: %v", ev)
		}
	}
	if c := e.org.Counters(); c.WebhooksDuplicated != 2 || c.WebhooksDelivered != 4 {
		t.Errorf("counters %+v", c)
	}
	e.org.SetConfig(OrgConfig{EnvelopeRate: -1})
	if _, err := e.org.CreateGiftDirect(DirectGift{ContactID: e.org.Gifts()[0].ContactID, Amount: "4"}); err != nil {
		t.Fatal(err)
	}
	e.waitIdle()
	last := rc.events(t)[4]
	if _, ok := last["eventId"]; ok {
		t.Errorf("envelope at rate -1: %v", last)
	}
}
