//go:build faults

package faults_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"backstop/internal/apptest"
	"backstop/internal/jobs"
	"backstop/internal/reconcile"
	"backstop/internal/record"
	"backstop/internal/store"
	"backstop/internal/virtuoussim"
)

// Secrets of the test system, distinctive enough to grep for.
const (
	simKey     = "vkey-7c1f0e9a44d2b6"
	hookSecret = "whsec-3b8d1c55e0a917"
	secretKey  = "faults-secret-key-5f0c2a9e7d41b8"
)

// system is Backstop run the way an operator runs it: `backstop serve` and
// `backstop worker` as subprocesses of the built binary on one database,
// the Virtuous simulator on loopback (in the test process, so that the test
// can read its counters and play the Virtuous user), and a tenant created
// with `backstop tenant add`.
type system struct {
	t       *testing.T
	env     []string     // the subprocesses' environment
	db      *store.Store // the test's own connection, for assertions
	sim     *virtuoussim.Sim
	org     *virtuoussim.Org
	base    string // backstop serve's URL
	serve   *apptest.Proc
	procs   []*apptest.Proc // every process started, for the secrets grep
	slug    string
	tenant  int64
	token   string // the intake token
	hookURL string
	ins     *jobs.Client // enqueues pass jobs as the scheduler would
}

// newSystem boots a system on the database at dbURL with the simulated
// organization misbehaving as cfg says.
func newSystem(t *testing.T, dbURL string, cfg virtuoussim.OrgConfig) *system {
	t.Helper()
	s := &system{t: t, slug: "acme"}
	s.sim = virtuoussim.New(virtuoussim.Options{Seed: 11})
	s.org = s.sim.AddOrg("acme", simKey)
	s.org.SetConfig(cfg)
	simURL, err := s.sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.sim.Close() })

	addr := apptest.FreeAddr(t)
	s.base = "http://" + addr
	s.env = []string{"DATABASE_URL=" + dbURL, "BACKSTOP_SECRET_KEY=" + secretKey, "BACKSTOP_ADDR=" + addr, "BACKSTOP_LOG_FORMAT=json"}
	var added struct {
		IntakeToken string `json:"intake_token"`
		WebhookURL  string `json:"webhook_url"`
	}
	out := apptest.Run(t, s.env, "", "tenant", "add", "--slug", s.slug, "--name", "Acme", "--virtuous-url", simURL,
		"--virtuous-key", simKey, "--webhook-secret", hookSecret)
	if err := json.Unmarshal([]byte(out), &added); err != nil || added.IntakeToken == "" {
		t.Fatalf("tenant add printed %q (%v)", out, err)
	}
	s.token, s.hookURL = added.IntakeToken, added.WebhookURL
	s.org.Subscribe(s.hookURL, hookSecret, "")

	if s.db, err = store.Open(context.Background(), dbURL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.db.Close() })
	tn, err := s.db.TenantBySlug(context.Background(), s.slug)
	if err != nil {
		t.Fatal(err)
	}
	s.tenant = tn.ID
	if s.ins, err = jobs.New(s.db.DB().DB, jobs.Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}); err != nil {
		t.Fatal(err)
	}
	s.serve = apptest.Start(t, s.env, "serve")
	s.procs = append(s.procs, s.serve)
	apptest.WaitReady(t, s.serve, s.base)
	return s
}

// cli runs a one-shot backstop command.
func (s *system) cli(stdin string, args ...string) string {
	s.t.Helper()
	return apptest.Run(s.t, s.env, stdin, args...)
}

// workerFlags make a dead worker's jobs come back within seconds instead of
// minutes (River cannot tell a dead worker from a slow one any sooner than
// the job's timeout), and leave scheduling to the test.
var workerFlags = []string{"--tick", "-1s", "--job-timeout", "4s", "--rescue-after", "5s", "--pass-timeout", "8s"}

// worker starts `backstop worker` and waits until River runs.
func (s *system) worker() *apptest.Proc {
	s.t.Helper()
	p := apptest.Start(s.t, s.env, append([]string{"worker"}, workerFlags...)...)
	s.procs = append(s.procs, p)
	p.WaitOutput(s.t, `"msg":"worker started"`, 60*time.Second)
	return p
}

// put sends one record through the partner API.
func (s *system) put(kind record.Kind, platformID, body string) {
	s.t.Helper()
	req, _ := http.NewRequest(http.MethodPut, s.base+"/api/v1/records/"+string(kind)+"/"+platformID, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		s.t.Fatalf("put %s %s: %d %s", kind, platformID, resp.StatusCode, b)
	}
}

// enqueuePass enqueues a pass sequence for a period of its own, as the
// scheduler does each period.
func (s *system) enqueuePass(p reconcile.Pass, slot string) {
	s.t.Helper()
	_, err := s.ins.Insert(context.Background(), reconcile.PassArgs{TenantID: s.tenant, Slot: slot, Steps: []reconcile.Step{{Pass: p, Slot: slot}}},
		&river.InsertOpts{Queue: jobs.QueuePasses, MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByArgs: true}})
	if err != nil {
		s.t.Fatal(err)
	}
}

// statuses counts the tenant's records by status.
func (s *system) statuses() map[record.Status]int {
	s.t.Helper()
	var rows []struct {
		Status record.Status `db:"status"`
		N      int           `db:"n"`
	}
	if err := s.db.DB().Select(&rows, `SELECT status, count(*) AS n FROM records WHERE tenant_id = $1 GROUP BY status`, s.tenant); err != nil {
		s.t.Fatal(err)
	}
	out := map[record.Status]int{}
	for _, r := range rows {
		out[r.Status] = r.N
	}
	return out
}

// count runs a count query.
func (s *system) count(q string, args ...any) int {
	s.t.Helper()
	var n int
	if err := s.db.DB().Get(&n, q, args...); err != nil {
		s.t.Fatalf("%s: %v", q, err)
	}
	return n
}

// eventually polls cond until it holds, failing after timeout.
func eventually(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// giftBody and contactBody are intake bodies: gift n from donor n (whom the
// simulator's batch cannot match when unmatched), contact n.
func giftBody(n int, unmatched bool) string {
	domain := "example.org"
	if unmatched {
		domain = "unmatched.example"
	}
	return fmt.Sprintf(`{"source":"stripe","source_ref":"pi_%014d","livemode":false,"transaction":{
		"contact":{"firstname":"Donor","lastname":"Number %d","email":"donor%d@%s"},
		"giftDate":"2026-11-01","giftType":"Credit","amount":"%d.00","currencyCode":"USD"}}`, n, n, n, domain, 10+n%90)
}

func contactBody(n int) string {
	return fmt.Sprintf(`{"source":"other","source_ref":"crm-%d","transaction":{"firstName":"Member","lastName":"Number %d","email":"member%d@example.org"}}`, n, n, n)
}
