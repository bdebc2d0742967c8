package web_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"backstop/internal/virtuous"
)

const giftEvent = `{"event":"GiftCreate","gift":{"id":42,"transactionSource":"Backstop-Stripe","transactionId":"pi_1","contactId":7,
  "giftType":"Credit","giftDate":"2026-11-01T00:00:00","amount":25.5,"currencyCode":"USD","modifiedDateTimeUtc":"2026-11-02T10:00:00.123"}}`

func (e *env) postHook(path, body string, header map[string]string) (*http.Response, string) {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestWebhookReceiver(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, _, signedHook := e.addTenant("signed", "s3cret")
	sig := func(body string) map[string]string {
		return map[string]string{"X-Virtuous-Signature": virtuous.Sign("s3cret", []byte(body))}
	}
	wrongToken := e.hook[:strings.LastIndex(e.hook, "/")+1] + "not-the-token"
	big := `{"event":"GiftCreate","gift":{"id":1,"notes":"` + strings.Repeat("x", 1<<20) + `"}}`
	// Larger than the receiver reads into a buffer made before it
	// arrives, smaller than it accepts.
	large := `{"event":"GiftCreate","gift":{"id":43,"notes":"` + strings.Repeat("x", 200<<10) + `"}}`
	for _, tc := range []struct {
		name   string
		path   string
		body   string
		header map[string]string
		status int
		stored int // inbound_events rows after this request
	}{
		{"unknown tenant", "/webhooks/virtuous/nobody/abc", giftEvent, nil, 404, 0},
		{"wrong token", wrongToken, giftEvent, nil, 404, 0},
		{"malformed json", e.hook, `{"event":"GiftCreate","gift":`, nil, 400, 0},
		{"gift event without gift", e.hook, `{"event":"GiftCreate"}`, nil, 400, 0},
		{"gift amount of the wrong type", e.hook, `{"event":"GiftCreate","gift":{"id":42,"amount":{}}}`, nil, 400, 0},
		{"gift designations of the wrong type", e.hook, `{"event":"GiftUpdate","gift":{"id":42,"giftDesignations":5}}`, nil, 400, 0},
		{"contact id of the wrong type", e.hook, `{"event":"ContactCreate","contact":{"id":7,"contactIndividuals":"x"}}`, nil, 400, 0},
		{"too large", e.hook, big, nil, 413, 0},
		{"unsubscribed event type", e.hook, `{"event":"ProjectCreate","project":{"id":3}}`, nil, 200, 0},
		{"missing signature", signedHook, giftEvent, nil, 401, 0},
		{"bad signature", signedHook, giftEvent, map[string]string{"X-Virtuous-Signature": virtuous.Sign("wrong", []byte(giftEvent))}, 401, 0},
		{"accepted", e.hook, giftEvent, nil, 202, 1},
		{"duplicate delivery", e.hook, giftEvent, nil, 200, 1},
		{"signed and accepted", signedHook, giftEvent, sig(giftEvent), 202, 2},
		{"hex signature accepted as duplicate", signedHook, giftEvent, map[string]string{"X-Virtuous-Signature": hexSig("s3cret", giftEvent)}, 200, 2},
		{"large but within the limit", e.hook, large, nil, 202, 3},
	} {
		resp, body := e.postHook(tc.path, tc.body, tc.header)
		if resp.StatusCode != tc.status {
			t.Errorf("%s: got %d %s, want %d", tc.name, resp.StatusCode, body, tc.status)
		}
		if n := e.count("inbound_events"); n != tc.stored {
			t.Errorf("%s: got %d stored events, want %d", tc.name, n, tc.stored)
		}
	}
	// A stored event is its own queue entry until the drain applies it.
	if n := e.count(`inbound_events WHERE applied_at IS NULL`); n != 3 {
		t.Errorf("got %d events waiting to be applied, want 3", n)
	}
}

// When the database cannot store the event, the receiver answers 503 so
// Virtuous retries, rather than acknowledging an event it lost.
func TestWebhookReceiverDatabaseDown(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if _, err := e.store.DB().Exec(`ALTER TABLE inbound_events RENAME TO inbound_events_away`); err != nil {
		t.Fatal(err)
	}
	resp, body := e.postHook(e.hook, giftEvent, nil)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("got %d %s, want 503", resp.StatusCode, body)
	}
	if strings.Contains(body, "inbound_events") {
		t.Errorf("the 503 leaks internals: %s", body)
	}
}

func hexSig(secret, body string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(body))
	return hex.EncodeToString(m.Sum(nil))
}

// Every answer says how long the server took, in milliseconds (the queue
// benchmark reads it).
func TestServerTiming(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	resp, _ := e.postHook(e.hook, giftEvent, nil)
	if st := resp.Header.Get("Server-Timing"); !regexp.MustCompile(`^app;dur=\d+\.\d{3}$`).MatchString(st) {
		t.Errorf("got Server-Timing %q, want app;dur=<ms with 3 decimals>", st)
	}
}
