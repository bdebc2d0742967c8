package app_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"backstop/internal/app"
	"backstop/internal/apptest"
	"backstop/internal/config"
	"backstop/internal/dbtest"
	"backstop/internal/record"
	"backstop/internal/virtuoussim"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

const contactBody = `{"source":"other","source_ref":"crm-%d","transaction":{"firstName":"Member","lastName":"%d","email":"member%d@example.org"}}`

// The platform PUTs gifts and contacts → the worker submits them → the
// nightly batch → webhooks → records confirmed.
func TestPipelineEndToEnd(t *testing.T) {
	t.Parallel()
	e := apptest.New(t, apptest.Options{Workers: true, WebhookSecret: "hook-secret"})
	putAll(t, e, 40, 10)
	e.Eventually("every record submitted", 30*time.Second, func() bool { return e.Statuses()[record.Submitted] == 50 })

	res := e.Org.RunBatch()
	t.Logf("batch: %+v", res)
	e.Eventually("every record confirmed by webhook", 30*time.Second, func() bool { return e.Statuses()[record.Confirmed] == 50 })
	var viaWebhook int
	e.App.Store.DB().Get(&viaWebhook, `SELECT count(*) FROM records WHERE confirmed_via = 'webhook' AND virtuous_id IS NOT NULL`)
	if viaWebhook != 50 {
		t.Errorf("got %d records confirmed via webhook with a Virtuous id, want 50", viaWebhook)
	}
	c := e.Org.Counters()
	if n := c.Requests["POST /api/v2/Gift/Transaction"]; n != 40 {
		t.Errorf("got %d gift Transaction POSTs, want 40 (one per record)", n)
	}
	if n := c.Requests["POST /api/Contact/Transaction"]; n != 10 {
		t.Errorf("got %d contact Transaction POSTs, want 10", n)
	}
}

// With 30% of webhooks lost, the unconfirmed records stay submitted: only
// reconciliation can find them.
func TestPipelineWebhookLoss(t *testing.T) {
	t.Parallel()
	e := apptest.New(t, apptest.Options{Workers: true, Org: virtuoussim.OrgConfig{WebhookLossRate: 0.3}})
	putAll(t, e, 100, 0)
	e.Eventually("every record submitted", 30*time.Second, func() bool { return e.Statuses()[record.Submitted] == 100 })
	e.Org.RunBatch()
	e.Quiet(30 * time.Second)
	st := e.Statuses()
	c := e.Org.Counters()
	t.Logf("statuses %v; webhooks delivered %d lost %d", st, c.WebhooksDelivered, c.WebhooksLost)
	if st[record.Confirmed]+st[record.Submitted] != 100 {
		t.Fatalf("got %v, want every record confirmed or submitted", st)
	}
	if st[record.Submitted] == 0 || st[record.Confirmed] == 0 {
		t.Fatalf("got %v, want some confirmed and some left submitted at 30%% loss", st)
	}
	if c.WebhooksLost == 0 {
		t.Fatalf("the simulator lost no webhooks")
	}
}

// Two worker processes against one database submit each pending record
// exactly once: the simulator counts the POSTs per transaction. Both
// workers are running before the records arrive, and each must have
// submitted a share (River records the client that worked each job), so
// the test cannot pass with one worker doing everything.
func TestTwoWorkersSubmitOnce(t *testing.T) {
	t.Parallel()
	// The environment's web server enqueues; it works no jobs itself.
	e := apptest.New(t, apptest.Options{Org: virtuoussim.OrgConfig{Latency: 5 * time.Millisecond}})
	var ids []string
	for range 2 {
		a, err := app.Open(context.Background(), config.Config{DatabaseURL: e.App.Cfg.DatabaseURL, SecretKey: e.App.Cfg.SecretKey, DataDir: t.TempDir()},
			slog.New(slog.NewTextHandler(io.Discard, nil)), app.OpenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		a.Now = e.Clock.Now
		t.Cleanup(func() { a.Close() })
		rc, err := a.NewWorkerClient(app.WorkOptions{Tick: -1})
		if err != nil {
			t.Fatal(err)
		}
		if err := rc.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			rc.Stop(ctx)
		})
		ids = append(ids, rc.ID())
	}
	if ids[0] == ids[1] {
		t.Fatalf("both worker clients are named %s: their shares cannot be told apart", ids[0])
	}
	putAll(t, e, 200, 0)
	e.Eventually("every record submitted", 60*time.Second, func() bool { return e.Statuses()[record.Submitted] == 200 })
	c := e.Org.Counters()
	for n := 1; n <= 200; n++ {
		if got := c.Posts("Backstop-Stripe", fmt.Sprintf("pi_%014d", n)); got != 1 {
			t.Errorf("record %d: POSTed %d times, want exactly 1", n, got)
		}
	}
	var shares []struct {
		Client string `db:"client"`
		N      int    `db:"n"`
	}
	if err := e.App.Store.DB().Select(&shares, `SELECT attempted_by[1] AS client, count(*) AS n FROM river_job WHERE kind = 'submit' GROUP BY 1`); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, s := range shares {
		got[s.Client] = s.N
	}
	t.Logf("submissions per worker process: %v", got)
	if got[ids[0]] == 0 || got[ids[1]] == 0 || got[ids[0]]+got[ids[1]] != 200 {
		t.Errorf("submissions per worker: got %v, want all 200 shared by both %v", got, ids)
	}
}

func putAll(t *testing.T, e *apptest.Env, gifts, contacts int) {
	t.Helper()
	for n := 1; n <= gifts; n++ {
		if code, body := e.Put(record.Gift, fmt.Sprintf("order-%d", n), apptest.Gift(n, "25.00")); code != 201 {
			t.Fatalf("put gift %d: %d %v", n, code, body)
		}
	}
	for n := 1; n <= contacts; n++ {
		if code, body := e.Put(record.Contact, fmt.Sprintf("member-%d", n), fmt.Sprintf(contactBody, n, n, n)); code != 201 {
			t.Fatalf("put contact %d: %d %v", n, code, body)
		}
	}
}
