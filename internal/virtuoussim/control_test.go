package virtuoussim

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestControlAPI drives a whole scenario over HTTP the way the demo does
// from another process.
func TestControlAPI(t *testing.T) {
	e := newEnv(t, Options{})
	rc := newReceiver(t)
	ctl := func(method, path string, body any, want int) map[string]any {
		t.Helper()
		r := e.doKey("", method, "/_sim"+path, body)
		if r.status != want {
			t.Fatalf("%s %s: %d %s, want %d", method, path, r.status, r.body, want)
		}
		var m map[string]any
		if len(r.body) > 0 && r.body[0] == '{' {
			r.json(t, &m)
		}
		return m
	}
	ctl("GET", "/healthz", nil, 200)
	ctl("POST", "/orgs", map[string]any{"name": "Demo", "apiKey": "key-demo"}, 200)
	ctl("POST", "/orgs/Demo/webhooks", map[string]any{"url": rc.srv.URL, "secret": "s"}, 200)
	cfg := ctl("PUT", "/orgs/Demo/config", map[string]any{"unmatchedEmailDomain": "nomatch.example", "webhookRetries": []string{"10ms"}}, 200)
	if cfg["unmatchedEmailDomain"] != "nomatch.example" || cfg["invalidEmailDomain"] != "invalid.example" {
		t.Errorf("config = %v", cfg)
	}
	ctl("PUT", "/orgs/Demo/config", map[string]any{"webhookLossRat": 1}, 400)

	for _, email := range []string{"a@example.org", "b@nomatch.example"} {
		r := e.doKey("key-demo", "POST", "/api/v2/Gift/Transaction", giftTxJSON("Web", email, email, "15"))
		if r.status != 200 {
			t.Fatalf("submit: %d %s", r.status, r.body)
		}
	}
	res := ctl("POST", "/orgs/Demo/clock/advance", map[string]any{"duration": "24h"}, 200)
	if res["now"] == nil {
		t.Errorf("advance: %v", res)
	}
	r := e.doKey("", "GET", "/_sim/orgs/Demo/bucket", nil)
	var bucket []Pending
	r.json(t, &bucket)
	if len(bucket) != 1 || bucket[0].Email != "b@nomatch.example" {
		t.Fatalf("bucket = %+v", bucket)
	}
	ctl("POST", "/orgs/Demo/bucket/resolve", map[string]any{"transactionSource": "Web", "transactionId": "b@nomatch.example"}, 200)
	ctl("POST", "/orgs/Demo/bucket/resolve", map[string]any{"transactionSource": "Web", "transactionId": "nope"}, 404)

	r = e.doKey("", "GET", "/_sim/orgs/Demo/gifts", nil)
	var gifts []GiftSnapshot
	r.json(t, &gifts)
	if len(gifts) != 2 {
		t.Fatalf("gifts = %+v", gifts)
	}
	id := itoa(int(gifts[0].ID))
	g := ctl("POST", "/orgs/Demo/gifts/"+id+"/edit", map[string]any{"amount": "16.25"}, 200)
	if g["amount"] != "16.25" {
		t.Errorf("edited = %v", g)
	}
	ctl("POST", "/orgs/Demo/contacts/"+itoa(int(gifts[0].ContactID))+"/edit", map[string]any{"phone": "555-0000"}, 200)
	ctl("POST", "/orgs/Demo/contacts/merge", map[string]any{"from": gifts[1].ContactID, "into": gifts[0].ContactID}, 200)
	ctl("POST", "/orgs/Demo/gifts/"+itoa(int(gifts[1].ID))+"/delete", nil, 200)
	ctl("POST", "/orgs/Demo/gifts/"+itoa(int(gifts[1].ID))+"/delete", nil, 404)
	direct := ctl("POST", "/orgs/Demo/gifts", map[string]any{"firstName": "Only", "lastName": "Virtuous", "amount": 5}, 200)
	if direct["transactionSource"] != nil {
		t.Errorf("direct = %v", direct)
	}
	bulk := ctl("POST", "/orgs/Demo/gifts/bulk", map[string]any{"n": 50, "transactionSource": "Bulk"}, 200)
	if bulk["count"] != 50.0 {
		t.Errorf("bulk = %v", bulk)
	}
	mod := ctl("POST", "/orgs/Demo/gifts/bulk-modify", map[string]any{"first": bulk["first"], "last": bulk["last"]}, 200)
	if mod["modified"] != 50.0 {
		t.Errorf("bulk-modify = %v", mod)
	}
	ctl("POST", "/wait-idle?timeout=5s", nil, 200)

	r = e.doKey("", "GET", "/_sim/orgs/Demo/counters", nil)
	var c Counters
	r.json(t, &c)
	if c.Posts("Web", "a@example.org") != 1 || c.WebhooksDelivered == 0 || c.WebhooksByEvent[EventGiftCreate] != 3 {
		t.Errorf("counters = %+v", c)
	}
	ctl("POST", "/orgs/Demo/counters/reset", nil, 200)
	ctl("GET", "/orgs/Nope/counters", nil, 404)
	ctl("POST", "/orgs/Demo/batch", nil, 200)
}

func TestRunServesUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, "127.0.0.1:0", Options{}, map[string]string{"A": "ka"}) }()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
}

func TestPathsAndStyles(t *testing.T) {
	e := newEnv(t, Options{})
	e.submit("Face to Face 012025", "a/b?c d", "p@example.org", "1")
	e.org.RunBatch()
	// Case-insensitive literals, escaped values with spaces, slashes and '?'.
	for _, p := range []string{
		"/api/Gift/Face%20to%20Face%20012025/a%2Fb%3Fc%20d",
		"/API/gift/Face%20to%20Face%20012025/a%2Fb%3Fc%20d",
	} {
		if r := e.do("GET", p, nil); r.status != 200 {
			t.Errorf("GET %s: %d %s", p, r.status, r.body)
		}
	}
	if r := e.do("POST", "/api/gift/query/fullgift?Take=5", nil); r.status != 200 {
		t.Errorf("lower-case query path: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/Nope", nil); r.status != 404 || !isErrorBody(r.body) {
		t.Errorf("unknown route: %d %s", r.status, r.body)
	}

	// Both timestamp styles occur, and each object keeps its own.
	if _, err := e.org.BulkLoadGifts(40, BulkGifts{}); err != nil {
		t.Fatal(err)
	}
	first := map[string]string{}
	styles := map[string]int{}
	for range 2 {
		list, _ := e.query("/api/Gift/Query/FullGift?take=100", nil)
		for _, g := range list {
			s := g["modifiedDateTimeUtc"].(string)
			id := itoa(int(g["id"].(float64)))
			if prev, ok := first[id]; ok && prev != s {
				t.Errorf("gift %s changed style: %s vs %s", id, prev, s)
			}
			first[id] = s
			switch {
			case shortStamp.MatchString(s):
				styles["short"]++
			case strings.HasSuffix(s, "Z") && longStamp.MatchString(s):
				styles["longZ"]++
			case longStamp.MatchString(s):
				styles["long"]++
			default:
				t.Errorf("odd stamp %q", s)
			}
		}
	}
	if styles["short"] == 0 || styles["longZ"] == 0 {
		t.Errorf("styles = %v", styles)
	}

	// Webhook subscriptions over the API.
	r := e.do("POST", "/api/Webhook", map[string]any{"payloadUrl": "http://127.0.0.1:1/hook", "secret": "x", "giftCreate": true, "active": true})
	var sub map[string]any
	r.json(t, &sub)
	if r.status != 200 || sub["id"] == nil || sub["giftCreate"] != true || sub["contactCreate"] != false {
		t.Fatalf("POST webhook: %d %s", r.status, r.body)
	}
	wid := itoa(int(sub["id"].(float64)))
	r = e.do("PUT", "/api/Webhook/"+wid, map[string]any{"payloadUrl": "http://127.0.0.1:1/hook2", "active": false})
	r.json(t, &sub)
	if sub["payloadUrl"] != "http://127.0.0.1:1/hook2" || sub["giftCreate"] != false {
		t.Errorf("PUT replaces: %v", sub)
	}
	if r := e.do("PUT", "/api/Webhook/"+wid+"/Active?active=true", nil); r.status != 200 || !strings.Contains(string(r.body), `"active":true`) {
		t.Errorf("activate: %d %s", r.status, r.body)
	}
	if r := e.do("DELETE", "/api/Webhook/"+wid, nil); r.status != 200 {
		t.Errorf("delete: %d", r.status)
	}
	if r := e.do("GET", "/api/Webhook/"+wid, nil); r.status != http.StatusNotFound {
		t.Errorf("get deleted: %d", r.status)
	}
}

func TestBatchEvery(t *testing.T) {
	e := newEnv(t, Options{BatchEvery: 30 * time.Millisecond})
	e.submit("Stripe", "pi_tick", "tick@example.org", "1")
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, ok := e.org.GiftByTransaction("Stripe", "pi_tick"); ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the periodic batch never ran")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestStartListensOnLoopbackOnly(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	if _, err := s.Start("0.0.0.0:0"); err == nil {
		t.Fatal("listened on every interface")
	}
	u, err := s.Start(":0")
	if err != nil || !strings.HasPrefix(u, "http://127.0.0.1:") {
		t.Fatalf("Start(:0) = %q, %v", u, err)
	}
	if _, err := s.Start("127.0.0.1:0"); err == nil {
		t.Error("started twice")
	}
}
