package ratebudget_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"backstop/internal/dbtest"
	"backstop/internal/derrors"
	"backstop/internal/ratebudget"
	"backstop/internal/store"
	"backstop/internal/tenant"
	"backstop/internal/virtuous"
	"backstop/internal/virtuoussim"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(dbtestMain{m}, goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"))
}

// dbtestMain adapts dbtest.Main (which exits) to goleak's TestingM.
type dbtestMain struct{ m *testing.M }

func (d dbtestMain) Run() int { dbtest.Main(d.m); return 0 }

// clock is a settable time source shared by a test's budgets.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)} }

// newTenant creates a tenant keeping reservePct of its budget back.
func newTenant(t *testing.T, s *store.Store, reservePct int) int64 {
	t.Helper()
	ctx := dbtest.Ctx(t)
	id, err := s.CreateTenant(ctx, &tenant.Tenant{
		Slug: "acme", Name: "Acme", VirtuousBaseURL: "http://127.0.0.1:1", VirtuousKeyEnc: []byte("k"),
		WebhookTokenEnc: []byte("w"), IntakeTokenHash: []byte("h"),
	})
	if err != nil {
		t.Fatal(err)
	}
	tn, err := s.TenantByID(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	tn.RateReservePct = reservePct
	if err := s.UpdateTenantSettings(ctx, tn); err != nil {
		t.Fatal(err)
	}
	return id
}

func setBudget(t *testing.T, s *store.Store, tenantID int64, limit, remaining int, reset time.Time) {
	t.Helper()
	if err := s.SetRateBudget(dbtest.Ctx(t), tenantID, limit, remaining, reset); err != nil {
		t.Fatal(err)
	}
}

// reserveAll reserves until refused and returns how many succeeded and the refusal.
func reserveAll(t *testing.T, b *ratebudget.Budget) (int, error) {
	t.Helper()
	ctx := dbtest.Ctx(t)
	for n := 0; n < 100000; n++ {
		if err := b.Reserve(ctx); err != nil {
			return n, err
		}
	}
	t.Fatal("budget never ran out")
	return 0, nil
}

func TestReserveKeepsTheReserve(t *testing.T) {
	t.Parallel()
	tests := []struct{ limit, pct, want int }{
		{50, 20, 40},
		{50, 0, 50},
		{50, 90, 5},
		{7, 20, 6}, // reserve floor(1.4) = 1
		{4, 20, 4}, // reserve floor(0.8) = 0
		{0, 20, 0},
		{1000, 20, 800},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d_%d", tt.limit, tt.pct), func(t *testing.T) {
			t.Parallel()
			s := dbtest.Store(t)
			id := newTenant(t, s, tt.pct)
			clk := newClock()
			reset := clk.Now().Add(30 * time.Minute)
			setBudget(t, s, id, tt.limit, tt.limit, reset)
			b := ratebudget.New(s, id, ratebudget.WithClock(clk.Now))
			got, err := reserveAll(t, b)
			if got != tt.want {
				t.Errorf("got %d reservations, want %d", got, tt.want)
			}
			var ee *ratebudget.ExhaustedError
			if !errors.Is(err, derrors.BudgetExhausted) || !errors.As(err, &ee) {
				t.Fatalf("got %v, want an ExhaustedError that is BudgetExhausted", err)
			}
			if !ee.ResetAt.Equal(reset) || !strings.Contains(err.Error(), "resets at 2026-03-02T09:30:00Z") {
				t.Errorf("got %q (reset %v), want it to say the window resets at %v", err, ee.ResetAt, reset)
			}
			if ee.Limit != tt.limit || ee.Remaining != tt.limit-tt.want {
				t.Errorf("got limit %d remaining %d, want %d and %d", ee.Limit, ee.Remaining, tt.limit, tt.limit-tt.want)
			}
			calls, err := s.APIUsage(dbtest.Ctx(t), id, clk.Now())
			if err != nil || calls != tt.want {
				t.Errorf("got api_usage %d (%v), want %d", calls, err, tt.want)
			}
		})
	}
}

func TestNewWindowRefills(t *testing.T) {
	t.Parallel()
	s := dbtest.Store(t)
	id := newTenant(t, s, 20)
	clk := newClock()
	// A window that ended a second ago, spent to nothing.
	setBudget(t, s, id, 50, 0, clk.Now().Add(-time.Second))
	b := ratebudget.New(s, id, ratebudget.WithClock(clk.Now))
	ctx := dbtest.Ctx(t)
	if err := b.Reserve(ctx); err != nil {
		t.Fatalf("expired window: got %v, want a fresh one", err)
	}
	remaining, limit, reset, err := b.Left(ctx)
	if err != nil || remaining != 49 || limit != 50 || !reset.Equal(clk.Now().Add(time.Hour)) {
		t.Errorf("got %d/%d resetting %v (%v), want 49/50 resetting in an hour", remaining, limit, reset, err)
	}
	if n, _ := reserveAll(t, b); n != 39 {
		t.Errorf("got %d more reservations, want 39", n)
	}
	clk.Advance(time.Hour)
	if err := b.Reserve(ctx); err != nil {
		t.Fatalf("at the reset: got %v, want a refilled window", err)
	}
	if n, _ := reserveAll(t, b); n != 39 {
		t.Errorf("second window: got %d more reservations, want 39", n)
	}
	if calls, _ := s.APIUsage(ctx, id, clk.Now()); calls != 80 {
		t.Errorf("got api_usage %d, want 80 over both windows", calls)
	}
}

func TestObserve(t *testing.T) {
	t.Parallel()
	start := newClock().Now()
	r := start.Add(30 * time.Minute) // the stored window's reset
	tests := []struct {
		name          string
		info          virtuous.RateInfo
		wantLimit     int
		wantRemaining int
		wantReset     time.Time
	}{
		{"SameWindowServerLower",
			virtuous.RateInfo{Status: 200, Limit: 50, Remaining: 30, Reset: r, HasHeaders: true}, 50, 30, r},
		{"SameWindowServerHigher",
			virtuous.RateInfo{Status: 200, Limit: 50, Remaining: 45, Reset: r, HasHeaders: true}, 50, 40, r},
		{"ServerStartedNewWindow",
			virtuous.RateInfo{Status: 200, Limit: 5000, Remaining: 4990, Reset: r.Add(time.Hour), HasHeaders: true}, 5000, 4990, r.Add(time.Hour)},
		{"ServerResetsSooner",
			virtuous.RateInfo{Status: 200, Limit: 50, Remaining: 44, Reset: start.Add(10 * time.Minute), HasHeaders: true}, 50, 40, start.Add(10 * time.Minute)},
		{"StaleWindowIgnored",
			virtuous.RateInfo{Status: 200, Limit: 60, Remaining: 0, Reset: start.Add(-time.Minute), HasHeaders: true}, 60, 40, r},
		{"RemainingWithoutReset",
			virtuous.RateInfo{Status: 200, Remaining: 12, HasHeaders: true}, 50, 12, r},
		{"LimitOnly",
			virtuous.RateInfo{Status: 200, Limit: 1500}, 1500, 40, r},
		{"ResetOnly",
			virtuous.RateInfo{Status: 200, Reset: r.Add(time.Hour)}, 50, 40, r},
		{"TooManyRequestsRetryAfter",
			virtuous.RateInfo{Status: 429, RetryAfter: 30 * time.Second}, 50, 0, start.Add(30 * time.Second)},
		{"TooManyRequestsReset",
			virtuous.RateInfo{Status: 429, Limit: 50, Remaining: 0, Reset: start.Add(5 * time.Minute), HasHeaders: true}, 50, 0, start.Add(5 * time.Minute)},
		{"TooManyRequestsSilent",
			virtuous.RateInfo{Status: 429}, 50, 0, start.Add(time.Minute)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := dbtest.Store(t)
			id := newTenant(t, s, 20)
			clk := newClock()
			setBudget(t, s, id, 50, 40, r)
			b := ratebudget.New(s, id, ratebudget.WithClock(clk.Now))
			b.Observe(dbtest.Ctx(t), tt.info)
			rb, err := s.RateBudget(dbtest.Ctx(t), id)
			if err != nil {
				t.Fatal(err)
			}
			if rb.LimitPerHour != tt.wantLimit || rb.Remaining != tt.wantRemaining || !rb.ResetAt.Equal(tt.wantReset) {
				t.Errorf("got limit %d remaining %d reset %v, want %d %d %v",
					rb.LimitPerHour, rb.Remaining, rb.ResetAt.UTC(), tt.wantLimit, tt.wantRemaining, tt.wantReset)
			}
		})
	}
}

func TestTooManyRequestsPausesUntilRetryAfter(t *testing.T) {
	t.Parallel()
	s := dbtest.Store(t)
	id := newTenant(t, s, 20)
	clk := newClock()
	setBudget(t, s, id, 50, 45, clk.Now().Add(40*time.Minute))
	b := ratebudget.New(s, id, ratebudget.WithClock(clk.Now))
	ctx := dbtest.Ctx(t)
	b.Observe(ctx, virtuous.RateInfo{Status: 429, RetryAfter: 30 * time.Second})
	if err := b.Reserve(ctx); !errors.Is(err, derrors.BudgetExhausted) {
		t.Fatalf("after a 429: got %v, want BudgetExhausted", err)
	}
	clk.Advance(31 * time.Second)
	if err := b.Reserve(ctx); err != nil {
		t.Errorf("after Retry-After: got %v, want calls to resume", err)
	}
}

func TestObserveSurvivesCancelledContext(t *testing.T) {
	t.Parallel()
	s := dbtest.Store(t)
	id := newTenant(t, s, 20)
	clk := newClock()
	setBudget(t, s, id, 50, 40, clk.Now().Add(time.Minute))
	b := ratebudget.New(s, id, ratebudget.WithClock(clk.Now))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b.Observe(ctx, virtuous.RateInfo{Status: 200, Remaining: 3, HasHeaders: true})
	if rem, _, _, _ := b.Left(dbtest.Ctx(t)); rem != 3 {
		t.Errorf("got remaining %d, want 3 recorded although the caller had gone", rem)
	}
}

func TestLeft(t *testing.T) {
	t.Parallel()
	s := dbtest.Store(t)
	id := newTenant(t, s, 20)
	clk := newClock()
	b := ratebudget.New(s, id, ratebudget.WithClock(clk.Now))
	ctx := dbtest.Ctx(t)
	setBudget(t, s, id, 5000, 1234, clk.Now().Add(20*time.Minute))
	rem, lim, reset, err := b.Left(ctx)
	if err != nil || rem != 1234 || lim != 5000 || !reset.Equal(clk.Now().Add(20*time.Minute)) {
		t.Errorf("got %d/%d at %v (%v), want 1234/5000 in 20m", rem, lim, reset, err)
	}
	setBudget(t, s, id, 5000, 0, clk.Now().Add(-time.Minute))
	rem, lim, reset, err = b.Left(ctx)
	if err != nil || rem != 5000 || lim != 5000 || !reset.Equal(clk.Now().Add(time.Hour)) {
		t.Errorf("expired window: got %d/%d at %v (%v), want it reported full", rem, lim, reset, err)
	}
	if _, _, _, err := ratebudget.New(s, id+99).Left(ctx); !errors.Is(err, derrors.NotFound) {
		t.Errorf("unknown tenant: got %v, want NotFound", err)
	}
}

func TestReserveWithoutBudgetRow(t *testing.T) {
	t.Parallel()
	s := dbtest.Store(t)
	id := newTenant(t, s, 20)
	ctx := dbtest.Ctx(t)
	if _, err := s.DB().ExecContext(ctx, `DELETE FROM rate_budgets WHERE tenant_id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if err := ratebudget.New(s, id).Reserve(ctx); err != nil {
		t.Errorf("tenant without a budget row: got %v, want one created and a call reserved", err)
	}
	if err := ratebudget.New(s, id+99).Reserve(ctx); !errors.Is(err, derrors.NotFound) {
		t.Errorf("unknown tenant: got %v, want NotFound", err)
	}
}

// virtuousServer counts requests like Virtuous's hourly limit: other is what
// the customer's other integrations already spent this window. It answers
// 429 past the limit and reports X-RateLimit-* on every response.
type virtuousServer struct {
	limit, other int
	reset        time.Time
	served       atomic.Int64
	limited      atomic.Int64
}

func (v *virtuousServer) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	n := int(v.served.Add(1)) + v.other
	w.Header().Set("X-RateLimit-Limit", strconv.Itoa(v.limit))
	w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(max(0, v.limit-n)))
	w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(v.reset.Unix(), 10))
	if n > v.limit {
		v.limited.Add(1)
		w.Header().Set("Retry-After", "3600")
		w.WriteHeader(http.StatusTooManyRequests)
		return
	}
	fmt.Fprint(w, `{"id":1}`)
}

func newVirtuous(t *testing.T, v *virtuousServer, b virtuous.Budget) *virtuous.Client {
	t.Helper()
	srv := httptest.NewServer(v)
	t.Cleanup(srv.Close)
	c, err := virtuous.New(virtuous.Config{BaseURL: srv.URL, APIKey: "k", Budget: b, BaseBackoff: time.Millisecond, MaxBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// twoProcesses opens two stores with their own connection pools on one
// fresh database, as two Backstop processes would.
func twoProcesses(t *testing.T) []*store.Store {
	t.Helper()
	url := dbtest.URL(t)
	var stores []*store.Store
	for range 2 {
		s, err := store.Open(dbtest.Ctx(t), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		stores = append(stores, s)
	}
	return stores
}

// spendAll calls with each client from four goroutines, all starting
// together, until the budget refuses each of them.
func spendAll(t *testing.T, ctx context.Context, clients []*virtuous.Client) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, 4*len(clients))
	start := make(chan struct{})
	for _, c := range clients {
		for range 4 {
			wg.Go(func() {
				<-start
				for {
					if _, _, err := c.Gift(ctx, 1); err != nil {
						errs <- err
						return
					}
				}
			})
		}
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, derrors.BudgetExhausted) {
			t.Errorf("a worker stopped on %v, want BudgetExhausted", err)
		}
	}
}

// TestTwoProcessesShareOneBudget runs two budgets with their own
// connection pools (two processes) and two clients, four goroutines each,
// until the budget is spent: together they send exactly limit − reserve.
func TestTwoProcessesShareOneBudget(t *testing.T) {
	t.Parallel()
	ctx := dbtest.Ctx(t)
	stores := twoProcesses(t)
	id := newTenant(t, stores[0], 20)
	setBudget(t, stores[0], id, 50, 50, time.Now().Add(-time.Second))
	v := &virtuousServer{limit: 50, reset: time.Now().Add(time.Hour).Truncate(time.Second)}
	clients := []*virtuous.Client{
		newVirtuous(t, v, ratebudget.New(stores[0], id)),
		newVirtuous(t, v, ratebudget.New(stores[1], id)),
	}
	spendAll(t, ctx, clients)
	sent := clients[0].Calls() + clients[1].Calls()
	if got := v.served.Load(); got != 40 || sent != 40 {
		t.Errorf("server got %d requests, clients sent %d; want exactly limit − reserve = 40", got, sent)
	}
	if v.limited.Load() != 0 {
		t.Errorf("got %d 429s, want none", v.limited.Load())
	}
	for i, c := range clients {
		if c.Calls() == 0 {
			t.Errorf("client %d sent nothing; the test did not exercise sharing", i)
		}
	}
	rem, _, reset, err := ratebudget.New(stores[1], id).Left(ctx)
	if err != nil || rem != 10 || !reset.Equal(v.reset) {
		t.Errorf("got %d left resetting %v (%v), want the 10 reserved, resetting at the server's %v", rem, reset, err, v.reset)
	}
	if calls, _ := stores[1].APIUsage(ctx, id, time.Now()); calls != 40 {
		t.Errorf("got api_usage %d, want 40", calls)
	}
}

// TestHeadersProtectOtherIntegrations starts a window in which the
// customer's other integrations have already spent 30 of 50 calls: the
// first response's headers correct the budget, and Backstop stops when
// only the reserve is left on the server too.
func TestHeadersProtectOtherIntegrations(t *testing.T) {
	t.Parallel()
	s := dbtest.Store(t)
	id := newTenant(t, s, 20)
	setBudget(t, s, id, 50, 50, time.Now().Add(-time.Second))
	v := &virtuousServer{limit: 50, other: 30, reset: time.Now().Add(time.Hour).Truncate(time.Second)}
	c := newVirtuous(t, v, ratebudget.New(s, id))
	ctx := dbtest.Ctx(t)
	var err error
	for err == nil {
		_, _, err = c.Gift(ctx, 1)
	}
	if !errors.Is(err, derrors.BudgetExhausted) {
		t.Fatalf("got %v, want BudgetExhausted", err)
	}
	// Server remaining after ours: 50 − 30 − n; we stop when that reaches the reserve of 10.
	if got := v.served.Load(); got != 10 {
		t.Errorf("sent %d requests, want 10 (leaving the server's remaining at the reserve)", got)
	}
}

// Two client instances with their own connection pools (two processes)
// share one organization's budget in one database, against the Virtuous
// simulator over real HTTP, four goroutines each, until the budget is
// spent: together they send exactly limit − reserve, neither goes over, and
// the simulator refuses nothing.
func TestTwoClientsShareOneBudgetOnTheSimulator(t *testing.T) {
	t.Parallel()
	ctx := dbtest.Ctx(t)
	stores := twoProcesses(t)
	id := newTenant(t, stores[0], 20)
	setBudget(t, stores[0], id, 200, 200, time.Now().Add(-time.Second))
	sim := virtuoussim.New(virtuoussim.Options{RateLimit: 200, Seed: 1})
	org := sim.AddOrg("acme", "sim-key")
	simURL, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	var clients []*virtuous.Client
	for _, s := range stores {
		tr := &http.Transport{}
		t.Cleanup(tr.CloseIdleConnections)
		c, err := virtuous.New(virtuous.Config{BaseURL: simURL, APIKey: "sim-key", Budget: ratebudget.New(s, id),
			HTTPClient: &http.Client{Transport: tr}, BaseBackoff: time.Millisecond, MaxBackoff: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	spendAll(t, ctx, clients)
	var served int64
	for _, n := range org.Counters().Requests {
		served += n
	}
	sent := clients[0].Calls() + clients[1].Calls()
	if served != 160 || sent != 160 {
		t.Errorf("the simulator got %d requests, the clients sent %d; want exactly limit − reserve = 160", served, sent)
	}
	if n := org.Counters().RateLimited; n != 0 {
		t.Errorf("the simulator refused %d requests with 429, want none", n)
	}
	for i, c := range clients {
		if c.Calls() == 0 {
			t.Errorf("client %d sent nothing; the test did not exercise sharing", i)
		}
	}
}
