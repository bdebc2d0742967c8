package virtuous_test

// The client against the Virtuous simulator over real HTTP: every endpoint,
// the 404s, a 429 with Retry-After, 5xx retries and timeouts. The
// httptest-based tests in client_test.go pin exact requests and edge
// cases; these check that the client and the simulator agree.

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"backstop/internal/derrors"
	"backstop/internal/money"
	"backstop/internal/virtuous"
	"backstop/internal/virtuoussim"
)

const simKey = "sim-key-client-test"

// simEnv is a simulator with one organization and a client for it.
type simEnv struct {
	sim   *virtuoussim.Sim
	org   *virtuoussim.Org
	clock *virtuoussim.ManualClock
	url   string
}

func newSim(t *testing.T, opts virtuoussim.Options) *simEnv {
	t.Helper()
	clock := virtuoussim.NewManualClock(time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC))
	opts.Clock, opts.Seed = clock, 11
	s := virtuoussim.New(opts)
	url, err := s.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return &simEnv{sim: s, org: s.AddOrg("Client Test", simKey), clock: clock, url: url}
}

// client makes a client with millisecond backoff; edit adjusts its config.
func (e *simEnv) client(t *testing.T, edit ...func(*virtuous.Config)) *virtuous.Client {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	cfg := virtuous.Config{BaseURL: e.url, APIKey: simKey, HTTPClient: &http.Client{Transport: tr},
		BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, Timeout: 5 * time.Second, QueryTimeout: 5 * time.Second}
	for _, f := range edit {
		f(&cfg)
	}
	c, err := virtuous.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func simCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func giftTx(id, email string) json.RawMessage {
	return json.RawMessage(`{"transactionSource":"Backstop-Stripe","transactionId":"` + id + `",
		"contact":{"referenceId":"cus_` + id + `","firstname":"Ada","lastname":"Lovelace","email":"` + email + `"},
		"giftDate":"2026-11-01","giftType":"Credit","amount":"25.50","currencyCode":"USD",
		"designations":[{"code":"GEN","amountDesignated":"25.50"}]}`)
}

func contactTx(id string) json.RawMessage {
	return json.RawMessage(`{"referenceSource":"Backstop-Eventbrite","referenceId":"` + id + `","contactType":"Household",
		"firstName":"Grace","lastName":"Hopper","email":"grace` + id + `@example.org"}`)
}

// Every endpoint the client has, in the order a gift lives through them.
func TestSimEndpoints(t *testing.T) {
	t.Parallel()
	e := newSim(t, virtuoussim.Options{})
	c := e.client(t)
	ctx := simCtx(t)

	if err := c.SubmitGift(ctx, giftTx("pi_100", "ada@example.org")); err != nil {
		t.Fatalf("SubmitGift: %v", err)
	}
	if err := c.SubmitContact(ctx, contactTx("8001")); err != nil {
		t.Fatalf("SubmitContact: %v", err)
	}
	// Accepted into the holding state: not found until the nightly batch.
	if g, ok, err := c.GiftByTransaction(ctx, "Backstop-Stripe", "pi_100"); err != nil || ok || g != nil {
		t.Fatalf("GiftByTransaction before the batch: got %v %v %v, want a plain not-found", g, ok, err)
	}
	if ct, ok, err := c.ContactByReference(ctx, "Backstop-Eventbrite", "8001"); err != nil || ok || ct != nil {
		t.Fatalf("ContactByReference before the batch: got %v %v %v, want a plain not-found", ct, ok, err)
	}
	e.org.RunBatch()

	g, ok, err := c.GiftByTransaction(ctx, "Backstop-Stripe", "pi_100")
	if err != nil || !ok || g.ID == 0 || g.TransactionID != "pi_100" || minor(g.Amount) != 2550 || g.ContactID == 0 {
		t.Fatalf("GiftByTransaction after the batch: got %+v %v %v", g, ok, err)
	}
	if byID, ok, err := c.Gift(ctx, g.ID); err != nil || !ok || byID.ID != g.ID || byID.TransactionSource != "Backstop-Stripe" {
		t.Fatalf("Gift(%d): got %+v %v %v", g.ID, byID, ok, err)
	}
	donor, ok, err := c.Contact(ctx, g.ContactID)
	if err != nil || !ok || donor.ID != g.ContactID || donor.PrimaryEmail() != "ada@example.org" {
		t.Fatalf("Contact(%d): got %+v %v %v", g.ContactID, donor, ok, err)
	}
	ct, ok, err := c.ContactByReference(ctx, "Backstop-Eventbrite", "8001")
	if err != nil || !ok || ct.ID == 0 || ct.PrimaryEmail() != "grace8001@example.org" {
		t.Fatalf("ContactByReference after the batch: got %+v %v %v", ct, ok, err)
	}

	// Drift resolutions pushed to Virtuous come back on the next read.
	if err := c.UpdateGift(ctx, g.ID, map[string]any{"amount": "30.00", "notes": "corrected"}); err != nil {
		t.Fatalf("UpdateGift: %v", err)
	}
	if g2, _, err := c.Gift(ctx, g.ID); err != nil || minor(g2.Amount) != 3000 || g2.Notes != "corrected" {
		t.Errorf("after UpdateGift: got %+v, %v", g2, err)
	}
	if err := c.UpdateContact(ctx, ct.ID, map[string]any{"email": "grace@navy.example"}); err != nil {
		t.Fatalf("UpdateContact: %v", err)
	}
	if ct2, _, err := c.Contact(ctx, ct.ID); err != nil || ct2.PrimaryEmail() != "grace@navy.example" {
		t.Errorf("after UpdateContact: got %+v, %v", ct2, err)
	}

	// Query: a day of overlap on Last Modified Date finds both contacts and
	// the gift, a page at a time.
	q := virtuous.Query{Groups: []virtuous.Group{{Conditions: []virtuous.Condition{
		virtuous.ModifiedOnOrAfter(e.clock.Now().AddDate(0, 0, -1))}}}, SortBy: "Id"}
	gp, err := c.QueryGifts(ctx, q, 0, 10)
	if err != nil || gp.Total != 1 || len(gp.List) != 1 || gp.List[0].ID != g.ID {
		t.Fatalf("QueryGifts: got %+v, %v", gp, err)
	}
	var seen []int64
	err = c.EachContactPage(ctx, q, 0, 1, func(p *virtuous.Page[virtuous.Contact], skip int) error {
		if p.Total != 2 || len(p.List) != 1 || skip != len(seen) {
			t.Errorf("contact page at skip %d: %+v", skip, p)
		}
		seen = append(seen, p.List[0].ID)
		return nil
	})
	if err != nil || len(seen) != 2 || seen[0] == seen[1] {
		t.Errorf("EachContactPage: got %v, %v; want both contacts one per page", seen, err)
	}
	cp, err := c.QueryContacts(ctx, q, 1, 5)
	if err != nil || cp.Total != 2 || len(cp.List) != 1 || cp.List[0].ID != seen[1] {
		t.Errorf("QueryContacts from skip 1: got %+v, %v", cp, err)
	}
	var gifts int
	if err := c.EachGiftPage(ctx, q, 0, 1000, func(p *virtuous.Page[virtuous.Gift], _ int) error {
		gifts += len(p.List)
		return nil
	}); err != nil || gifts != 1 {
		t.Errorf("EachGiftPage: got %d gifts, %v", gifts, err)
	}
	for name, f := range map[string]func(context.Context) (*virtuous.QueryOptions, error){
		"GiftQueryOptions": c.GiftQueryOptions, "ContactQueryOptions": c.ContactQueryOptions,
	} {
		if o, err := f(ctx); err != nil || !hasOption(o, "Last Modified Date") {
			t.Errorf("%s: got %+v, %v; want Last Modified Date among the parameters", name, o, err)
		}
	}

	counts := e.org.Counters().Requests
	for _, route := range []string{
		"POST /api/v2/Gift/Transaction", "POST /api/Contact/Transaction",
		"GET /api/Gift/{transactionSource}/{transactionId}", "GET /api/Contact/{referenceSource}/{referenceId}",
		"GET /api/Gift/{id}", "GET /api/Contact/{id}", "PUT /api/Gift/{id}", "PUT /api/Contact/{id}",
		"POST /api/Gift/Query/FullGift", "POST /api/Contact/Query/FullContact",
		"GET /api/Gift/QueryOptions", "GET /api/Contact/QueryOptions",
	} {
		if counts[route] == 0 {
			t.Errorf("the simulator saw no %s", route)
		}
	}
	var total int64
	for _, n := range counts {
		total += n
	}
	if total != c.Calls() {
		t.Errorf("the client sent %d requests, the simulator counted %d", c.Calls(), total)
	}
}

func hasOption(o *virtuous.QueryOptions, name string) bool {
	if o == nil {
		return false
	}
	for _, opt := range o.Options {
		if opt.Parameter == name {
			return true
		}
	}
	return false
}

// minor is an amount in cents, or -1 when it does not parse.
func minor(d money.Decimal) int64 {
	n, err := d.Minor("USD")
	if err != nil {
		return -1
	}
	return n
}

// A 404 from a read is "not found", not an error; from a write it is an
// error that says NotFound.
func TestSimNotFound(t *testing.T) {
	t.Parallel()
	e := newSim(t, virtuoussim.Options{})
	c := e.client(t)
	ctx := simCtx(t)
	if g, ok, err := c.Gift(ctx, 424242); err != nil || ok || g != nil {
		t.Errorf("Gift: got %v %v %v", g, ok, err)
	}
	if ct, ok, err := c.Contact(ctx, 424242); err != nil || ok || ct != nil {
		t.Errorf("Contact: got %v %v %v", ct, ok, err)
	}
	if g, ok, err := c.GiftByTransaction(ctx, "Face to Face 012025", "no/such id"); err != nil || ok || g != nil {
		t.Errorf("GiftByTransaction (spaces and a slash in the path): got %v %v %v", g, ok, err)
	}
	if ct, ok, err := c.ContactByReference(ctx, "Backstop-Stripe", "cus_none"); err != nil || ok || ct != nil {
		t.Errorf("ContactByReference: got %v %v %v", ct, ok, err)
	}
	for name, err := range map[string]error{
		"UpdateGift":    c.UpdateGift(ctx, 424242, map[string]any{"notes": "x"}),
		"UpdateContact": c.UpdateContact(ctx, 424242, map[string]any{"email": "x@example.org"}),
	} {
		var ae *virtuous.APIError
		if !errors.As(err, &ae) || ae.Status != 404 || !errors.Is(err, derrors.NotFound) {
			t.Errorf("%s: got %v, want a 404 APIError that is NotFound", name, err)
		}
	}
	if n := c.Calls(); n != 6 {
		t.Errorf("sent %d requests, want 6 (a 404 is never retried)", n)
	}
}

// waitRecorder records the client's waits and then sits them out for real,
// so that a retry after Retry-After lands in the simulator's next window.
type waitRecorder struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (w *waitRecorder) sleep(ctx context.Context, d time.Duration) error {
	w.mu.Lock()
	w.waits = append(w.waits, d)
	w.mu.Unlock()
	return virtuous.Sleep(ctx, d)
}

func (w *waitRecorder) got() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Duration(nil), w.waits...)
}

// retryAfters records the Retry-After of every 429 the client receives.
type retryAfters struct {
	mu   sync.Mutex
	secs []int
}

func (r *retryAfters) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err == nil && resp.StatusCode == http.StatusTooManyRequests {
		n, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		r.mu.Lock()
		r.secs = append(r.secs, n)
		r.mu.Unlock()
	}
	return resp, err
}

// The simulator allows two requests a second: the third gets 429 with
// Retry-After; the client waits exactly that long and succeeds.
func TestSimRateLimitedWaitsRetryAfter(t *testing.T) {
	t.Parallel()
	e := newSim(t, virtuoussim.Options{RateLimit: 2, RateWindow: time.Second})
	ra := &retryAfters{}
	c := e.client(t, func(cfg *virtuous.Config) { cfg.HTTPClient = &http.Client{Transport: ra} })
	w := &waitRecorder{}
	virtuous.SetSleep(c, w.sleep)
	ctx := simCtx(t)
	for i := range 3 {
		if _, _, err := c.Gift(ctx, int64(i+1)); err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
	}
	ra.mu.Lock()
	secs := ra.secs
	ra.mu.Unlock()
	if len(secs) != 1 || secs[0] < 1 {
		t.Fatalf("got Retry-After %v, want one 429 asking for at least a second", secs)
	}
	if got := w.got(); len(got) != 1 || got[0] != time.Duration(secs[0])*time.Second {
		t.Errorf("waited %v, want once for the %ds Retry-After", got, secs[0])
	}
	if c.Calls() != 4 || e.org.Counters().RateLimited != 1 {
		t.Errorf("sent %d requests with %d refused, want 4 and 1", c.Calls(), e.org.Counters().RateLimited)
	}
}

// 5xx answers are retried: reads until they succeed, writes too (the
// simulator, like Virtuous, dedupes a Transaction that a 5xx hid).
func TestSimServerErrorsRetried(t *testing.T) {
	t.Parallel()
	e := newSim(t, virtuoussim.Options{})
	e.org.SetConfig(virtuoussim.OrgConfig{ServerErrorRate: 0.5})
	c := e.client(t, func(cfg *virtuous.Config) { cfg.MaxAttempts = 30 })
	ctx := simCtx(t)
	const n = 20
	for i := range n {
		if _, _, err := c.Gift(ctx, int64(i+1)); err != nil {
			t.Fatalf("read %d: %v", i+1, err)
		}
	}
	if err := c.SubmitGift(ctx, giftTx("pi_5xx", "ada@example.org")); err != nil {
		t.Fatalf("submit: %v", err)
	}
	cs := e.org.Counters()
	if cs.ServerErrors == 0 || c.Calls() != n+1+cs.ServerErrors {
		t.Errorf("sent %d requests and got %d 5xx, want every 5xx retried once more (%d + 5xx)", c.Calls(), cs.ServerErrors, n+1)
	}
	if p := e.org.PendingTransactions(); len(p) != 1 {
		t.Errorf("got %d pending transactions after retried submits, want 1", len(p))
	}

	e.org.SetConfig(virtuoussim.OrgConfig{ServerErrorRate: 1})
	c = e.client(t, func(cfg *virtuous.Config) { cfg.MaxAttempts = 3 })
	_, _, err := c.Gift(ctx, 1)
	var ae *virtuous.APIError
	if !errors.As(err, &ae) || ae.Status < 500 || !ae.Retryable() || c.Calls() != 3 {
		t.Errorf("always 5xx: got %v after %d attempts, want the last 5xx after 3", err, c.Calls())
	}
}

// A request the simulator never answers times out and is retried; when
// every attempt hangs the call fails saying so.
func TestSimTimeouts(t *testing.T) {
	t.Parallel()
	e := newSim(t, virtuoussim.Options{})
	e.org.SetConfig(virtuoussim.OrgConfig{TimeoutRate: 0.5})
	c := e.client(t, func(cfg *virtuous.Config) { cfg.Timeout, cfg.MaxAttempts = 100*time.Millisecond, 30 })
	ctx := simCtx(t)
	const n = 8
	for i := range n {
		if _, _, err := c.Gift(ctx, int64(i+1)); err != nil {
			t.Fatalf("read %d: %v", i+1, err)
		}
	}
	if hung := e.org.Counters().Timeouts; hung == 0 || c.Calls() != n+hung {
		t.Errorf("sent %d requests of which %d hung, want each hung one retried", c.Calls(), hung)
	}

	e.org.SetConfig(virtuoussim.OrgConfig{TimeoutRate: 1})
	c = e.client(t, func(cfg *virtuous.Config) { cfg.Timeout, cfg.MaxAttempts = 50*time.Millisecond, 2 })
	_, _, err := c.Gift(ctx, 1)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no response within 50ms") || c.Calls() != 2 {
		t.Errorf("always hanging: got %v after %d attempts, want a per-attempt timeout after 2", err, c.Calls())
	}
}
