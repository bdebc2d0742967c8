//go:build faults

package faults_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"backstop/internal/apptest"
	"backstop/internal/loadgen"
	"backstop/internal/pgcluster"
	"backstop/internal/tenant"
	"backstop/migrations"
)

// PostgreSQL crashes (immediate stop: no shutdown checkpoint, as a power
// cut) and stays down for 10 s while eight senders POST signed webhooks to
// `backstop serve`. The receiver answers 503 while the database is away —
// Virtuous retries those — serves again by itself once it is back, and
// every event it acknowledged with a 2xx is stored. The cluster is a
// durable one (fsync and synchronous commit on), unlike the other tests'.
func TestPostgresDownUnderWebhookLoad(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	root, err := os.MkdirTemp("", "backstop-outage-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(root, 0o755) // the postgres user must be able to enter it
	t.Cleanup(func() { os.RemoveAll(root) })
	dir := filepath.Join(root, "pg")
	c, err := pgcluster.Start(ctx, dir, pgcluster.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop() })
	url := createDatabase(t, c)

	_, _, token := apptest.CreateTenant(t, url, secretKey, tenant.NewTenant{Slug: "acme", Name: "Acme",
		VirtuousBaseURL: "http://127.0.0.1:9", VirtuousKey: simKey, WebhookSecret: hookSecret})
	srv, base := apptest.Serve(t, []string{"DATABASE_URL=" + url, "BACKSTOP_SECRET_KEY=" + secretKey, "BACKSTOP_LOG_FORMAT=json"})

	const lead, outage, tail = 5 * time.Second, 10 * time.Second, 15 * time.Second
	loaded := make(chan *loadgen.Result, 1)
	go func() {
		res, err := loadgen.Run(ctx, loadgen.Config{URL: tenant.WebhookURL(base, "acme", token), Secret: hookSecret,
			Concurrency: 8, Duration: lead + outage + tail, DupRate: 0.2, Seed: 5})
		if err != nil {
			t.Error(err)
		}
		loaded <- res
	}()
	time.Sleep(lead)
	crash := time.Now()
	if err := c.Crash(); err != nil {
		t.Fatal(err)
	}
	down := time.Now() // pg_ctl has seen the server gone
	time.Sleep(outage)
	restart := time.Now()
	if c, err = pgcluster.Start(ctx, dir, pgcluster.Options{Port: c.Port}); err != nil {
		t.Fatal(err)
	}
	up := time.Now()
	t.Logf("crash took %s, restart %s", down.Sub(crash), up.Sub(restart))
	res := <-loaded
	if res == nil {
		t.FailNow()
	}

	// What was answered when: before, during and after the outage.
	type tally struct{ ok, unavailable, other int }
	var before, during, after, settled tally
	for _, o := range res.Outcomes {
		var tl *tally
		switch {
		case o.Answered.Before(crash):
			tl = &before
		case o.Sent.After(down) && o.Answered.Before(restart):
			tl = &during
		case o.Sent.After(up.Add(5 * time.Second)):
			tl = &settled
		case o.Sent.After(up):
			tl = &after
		default:
			continue // in flight as the database went down
		}
		switch {
		case o.Status == 200 || o.Status == 202:
			tl.ok++
		case o.Status == 503:
			tl.unavailable++
		default:
			tl.other++
			t.Errorf("request sent %s after the crash: status %d, want 2xx or 503", o.Sent.Sub(crash), o.Status)
		}
	}
	t.Logf("before %+v, during %+v, first 5s after %+v, later %+v; %d sent, %d transport errors",
		before, during, after, settled, res.Sent, res.Errors)
	if before.ok == 0 || before.unavailable != 0 {
		t.Errorf("before the outage: %+v, want only 2xx\n%s", before, srv.Output())
	}
	if during.unavailable == 0 || during.ok != 0 {
		t.Errorf("during the outage: %+v, want only 503s", during)
	}
	if settled.ok == 0 || settled.unavailable != 0 {
		t.Errorf("from 5s after the restart: %+v, want only 2xx (the receiver recovers by itself)", settled)
	}

	stored := apptest.StoredEvents(t, url)
	lost := loadgen.Lost(res.Acked, stored)
	t.Logf("%d events acknowledged, %d stored, %d acknowledged but lost", len(res.Acked), len(stored), lost)
	if lost != 0 {
		t.Errorf("%d events were acknowledged with a 2xx but are not stored", lost)
	}
}

// createDatabase makes a migrated database named backstop on c.
func createDatabase(t *testing.T, c *pgcluster.Cluster) string {
	t.Helper()
	ctx := context.Background()
	admin, err := sql.Open("postgres", c.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE backstop`); err != nil {
		t.Fatal(err)
	}
	url := c.URL("backstop")
	db, err := sql.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := migrations.Up(ctx, db); err != nil {
		t.Fatal(fmt.Errorf("migrate: %w", err))
	}
	return url
}
