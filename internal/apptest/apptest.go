// Package apptest boots Backstop for end-to-end tests: the Virtuous
// simulator on a loopback port (real HTTP), Backstop's own web server and
// River workers, a fresh database per test, and one manual clock shared by
// Backstop and the simulator so tests can move time by hours or days.
package apptest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"backstop/internal/app"
	"backstop/internal/config"
	"backstop/internal/dbtest"
	"backstop/internal/jobs"
	"backstop/internal/reconcile"
	"backstop/internal/record"
	"backstop/internal/store"
	"backstop/internal/tenant"
	"backstop/internal/virtuous"
	"backstop/internal/virtuoussim"
)

// Options shape an environment.
type Options struct {
	// Workers starts River workers (submission, webhooks, passes).
	Workers bool
	// WebhookSecret, when set, signs deliveries and makes Backstop check them.
	WebhookSecret string
	// Start is the shared clock's start (default 2026-11-02 09:00 UTC).
	Start time.Time
	// Org configures the simulated organization.
	Org virtuoussim.OrgConfig
	// RateLimit for the simulated organization (default 5000/hour).
	RateLimit int
	// Tick is the scheduler heartbeat when Workers is set (default: no
	// scheduler, so a test runs passes itself).
	Tick time.Duration
}

// Env is one booted Backstop.
type Env struct {
	T      testing.TB
	App    *app.App
	Sim    *virtuoussim.Sim
	Org    *virtuoussim.Org
	Clock  *virtuoussim.ManualClock
	Web    *httptest.Server
	Tenant *tenant.Tenant
	Token  string // the tenant's intake token
	Jobs   *jobs.Client
	SimURL string
}

// New boots an environment for t; everything stops when t ends.
func New(t testing.TB, o Options) *Env {
	t.Helper()
	if o.Start.IsZero() {
		o.Start = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	}
	e := &Env{T: t, Clock: virtuoussim.NewManualClock(o.Start)}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("BACKSTOP_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	e.Sim = virtuoussim.New(virtuoussim.Options{Clock: e.Clock, RateLimit: o.RateLimit, Seed: 7, Logger: log})
	e.Org = e.Sim.AddOrg("acme", "sim-key-acme")
	e.Org.SetConfig(o.Org)
	url, err := e.Sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.SimURL = url
	t.Cleanup(func() { e.Sim.Close() })

	cfg := config.Config{DatabaseURL: dbtest.URL(t), SecretKey: "apptest secret key 0123456789", Addr: "127.0.0.1:0", DataDir: t.TempDir()}
	a, err := app.Open(context.Background(), cfg, log, app.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a.Now = e.Clock.Now
	a.Tune = fastRetries
	e.App = a
	t.Cleanup(func() { a.Close() })

	ins, err := a.NewInserter()
	if err != nil {
		t.Fatal(err)
	}
	var handler http.Handler = a.Handler(ins)
	if o.Workers {
		tick := o.Tick
		if tick == 0 {
			tick = -1
		}
		rc, err := a.NewWorkerClient(app.WorkOptions{Tick: tick, Tune: fastRetries})
		if err != nil {
			t.Fatal(err)
		}
		e.Jobs = rc
		handler = a.Handler(rc)
		ctx, cancel := context.WithCancel(context.Background())
		if err := rc.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			cancel()
			sctx, c2 := context.WithTimeout(context.Background(), 10*time.Second)
			defer c2()
			rc.Stop(sctx)
		})
	}
	e.Web = httptest.NewServer(handler)
	t.Cleanup(e.Web.Close)
	e.Tenant, e.Token = e.AddTenant("acme", "sim-key-acme", o.WebhookSecret, e.Org)
	return e
}

// fastRetries keeps the client's backoff and timeouts short so fault tests
// finish quickly.
func fastRetries(c *virtuous.Config) {
	c.BaseBackoff, c.MaxBackoff, c.Timeout, c.QueryTimeout = 20*time.Millisecond, 200*time.Millisecond, 5*time.Second, 20*time.Second
}

// AddTenant creates a tenant pointing at the simulator and subscribes org's
// webhooks to it.
func (e *Env) AddTenant(slug, apiKey, secret string, org *virtuoussim.Org) (*tenant.Tenant, string) {
	e.T.Helper()
	n := tenant.NewTenant{Slug: slug, Name: strings.ToUpper(slug[:1]) + slug[1:], VirtuousBaseURL: e.SimURL, VirtuousKey: apiKey, WebhookSecret: secret}
	tn, token, hook := n.Build(e.App.Box)
	id, err := e.App.Store.CreateTenant(context.Background(), tn)
	if err != nil {
		e.T.Fatal(err)
	}
	if tn, err = e.App.Store.TenantByID(context.Background(), id); err != nil {
		e.T.Fatal(err)
	}
	if org != nil {
		org.Subscribe(tenant.WebhookURL(e.Web.URL, slug, hook), secret, "")
	}
	return tn, token
}

// Engine is the reconciliation engine, enqueueing through the workers when
// they run.
func (e *Env) Engine() *reconcile.Engine {
	var ins jobs.Inserter = e.Jobs
	if e.Jobs == nil {
		rc, err := e.App.NewInserter()
		if err != nil {
			e.T.Fatal(err)
		}
		ins = rc
	}
	eng := e.App.Engine(ins, fastRetries)
	eng.Log = e.App.Log
	return eng
}

// Reconcile runs one pass now (on the shared clock) and returns its run.
func (e *Env) Reconcile(p reconcile.Pass) *store.Run {
	e.T.Helper()
	run, err := e.Engine().Run(context.Background(), e.Tenant, p, reconcile.RunOpts{Trigger: "test", Now: e.Clock.Now()})
	if err != nil {
		e.T.Fatalf("%s pass: %v", p, err)
	}
	return run
}

// Put sends one record through the partner API.
func (e *Env) Put(kind record.Kind, platformID, body string) (int, map[string]any) {
	e.T.Helper()
	req, _ := http.NewRequest("PUT", e.Web.URL+"/api/v1/records/"+string(kind)+"/"+platformID, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.T.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// Gift is an intake body for a Stripe gift of amount to donor n.
func Gift(n int, amount string) string {
	return fmt.Sprintf(`{"source":"stripe","source_ref":"pi_%014d","livemode":false,"transaction":{
		"contact":{"firstname":"Donor","lastname":"Number %d","email":"donor%d@example.org"},
		"giftDate":"2026-11-01","giftType":"Credit","amount":%q,"currencyCode":"USD"}}`, n, n, n, amount)
}

// UnmatchedGift is a gift whose donor the simulator's batch never matches.
func UnmatchedGift(n int, amount string) string {
	return strings.Replace(Gift(n, amount), fmt.Sprintf("donor%d@example.org", n), fmt.Sprintf("donor%d@unmatched.example", n), 1)
}

// Statuses counts the tenant's records by status.
func (e *Env) Statuses() map[record.Status]int {
	e.T.Helper()
	rows, err := e.App.Store.DB().Query(`SELECT status, count(*) FROM records WHERE tenant_id = $1 GROUP BY status`, e.Tenant.ID)
	if err != nil {
		e.T.Fatal(err)
	}
	defer rows.Close()
	out := map[record.Status]int{}
	for rows.Next() {
		var s record.Status
		var n int
		rows.Scan(&s, &n)
		out[s] = n
	}
	return out
}

// Eventually polls cond until it holds or timeout passes.
func (e *Env) Eventually(what string, timeout time.Duration, cond func() bool) {
	e.T.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			e.T.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Quiet waits until River has no job left to work, every stored delivery
// has been applied and the simulator has no delivery in flight.
func (e *Env) Quiet(timeout time.Duration) {
	e.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var mu sync.Mutex
	e.Eventually("jobs and deliveries to settle", timeout, func() bool {
		mu.Lock()
		defer mu.Unlock()
		if err := e.Sim.WaitIdle(ctx); err != nil {
			return false
		}
		var jobs, events int
		e.App.Store.DB().Get(&jobs, `SELECT count(*) FROM river_job WHERE state IN ('available','running','retryable','scheduled','pending') AND kind NOT IN ('schedule_tick', 'apply_events')`)
		e.App.Store.DB().Get(&events, `SELECT count(*) FROM inbound_events WHERE applied_at IS NULL`)
		return jobs == 0 && events == 0
	})
}
