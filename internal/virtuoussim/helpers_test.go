package virtuoussim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// t0 is a Thursday morning, so midnight is 14 hours away.
var t0 = time.Date(2024, 6, 6, 10, 0, 0, 0, time.UTC)

const testKey = "key-test"

// env is a simulator with one org ("Test Org"), served over real HTTP.
type env struct {
	t      *testing.T
	sim    *Sim
	org    *Org
	clock  *ManualClock
	url    string
	client *http.Client
}

func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	clock := NewManualClock(t0)
	if opts.Clock == nil {
		opts.Clock = clock
	}
	if opts.Seed == 0 {
		opts.Seed = 42
	}
	s := New(opts)
	url, err := s.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, sim: s, org: s.AddOrg("Test Org", testKey), clock: clock, url: url,
		client: &http.Client{Transport: &http.Transport{}, Timeout: 20 * time.Second}}
	t.Cleanup(func() {
		e.client.CloseIdleConnections()
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return e
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// do sends an API request with the test key; body may be a string, []byte
// or a value to marshal.
func (e *env) do(method, path string, body any) resp {
	return e.doKey(testKey, method, path, body)
}

func (e *env) doKey(key, method, path string, body any) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatalf("%s %s: read: %v", method, path, err)
	}
	return resp{res.StatusCode, res.Header, b}
}

func giftPath(src, id string) string {
	return "/api/Gift/" + url.PathEscape(src) + "/" + url.PathEscape(id)
}

// giftTx builds a transaction body the way the spec template spells it.
func giftTxJSON(src, id, email, amount string) map[string]any {
	return map[string]any{
		"transactionSource": src, "transactionId": id,
		"contact": map[string]any{"referenceId": "donor-" + id, "firstname": "Ada", "lastname": "Lovelace",
			"email": email, "phone": "555-0100",
			"address": map[string]any{"address1": "1 Main St", "city": "Springfield", "state": "IL", "postal": "62701", "country": "US"}},
		"giftDate": "2024-06-05", "giftType": "Credit", "amount": amount, "currencyCode": "USD",
		"designations": []map[string]any{{"code": "GEN", "amountDesignated": amount}},
		"notes":        "pi_" + id, "customFields": map[string]any{"Receipt Status": "Sent"},
	}
}

func (e *env) submit(src, id, email, amount string) {
	e.t.Helper()
	r := e.do("POST", "/api/v2/Gift/Transaction", giftTxJSON(src, id, email, amount))
	if r.status != 200 || len(r.body) != 0 {
		e.t.Fatalf("submit %s/%s: %d %s", src, id, r.status, r.body)
	}
}

func (e *env) waitIdle() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.sim.WaitIdle(ctx); err != nil {
		e.t.Fatalf("webhooks did not settle: %v", err)
	}
}

// query posts a FullGift query and decodes {list,total}.
func (e *env) query(path string, body any) (list []map[string]any, total int) {
	e.t.Helper()
	r := e.do("POST", path, body)
	if r.status != 200 {
		e.t.Fatalf("query %s: %d %s", path, r.status, r.body)
	}
	var out struct {
		List  []map[string]any `json:"list"`
		Total int              `json:"total"`
	}
	r.json(e.t, &out)
	return out.List, out.Total
}

func cond(param, op, value string) map[string]any {
	return map[string]any{"parameter": param, "operator": op, "value": value}
}

func groups(gs ...[]map[string]any) map[string]any {
	var out []map[string]any
	for _, g := range gs {
		out = append(out, map[string]any{"conditions": g})
	}
	return map[string]any{"groups": out}
}

// receiver is a webhook endpoint that records deliveries and can be told to
// fail.
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []delivered
	status int
}

type delivered struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{status: 200}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, delivered{r.Header.Clone(), b})
		st := rc.status
		rc.mu.Unlock()
		w.WriteHeader(st)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) deliveries() []delivered {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]delivered(nil), rc.got...)
}

// events decodes the deliveries' envelopes.
func (rc *receiver) events(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, d := range rc.deliveries() {
		var m map[string]any
		if err := json.Unmarshal(d.body, &m); err != nil {
			t.Fatalf("webhook body %s: %v", d.body, err)
		}
		out = append(out, m)
	}
	return out
}

func countEvents(evs []map[string]any, name string) int {
	n := 0
	for _, e := range evs {
		if e["event"] == name {
			n++
		}
	}
	return n
}

func itoa(i int) string { return strconv.Itoa(i) }

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}
