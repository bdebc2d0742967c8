package reconcile_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"backstop/internal/app"
	"backstop/internal/apptest"
	"backstop/internal/config"
	"backstop/internal/reconcile"
	"backstop/internal/tenant"
)

// Three worker processes with a five-minute schedule: every pass runs once
// per tenant per period. The shared clock runs 600× faster than real time
// (a five-minute period every half second) while the workers' schedulers
// tick every 100ms.
func TestThreeWorkersRunEachPassOncePerPeriod(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	e := apptest.New(t, apptest.Options{Start: start})
	e.AddTenant("beta", "sim-key-beta", "", e.Sim.AddOrg("beta", "sim-key-beta"))
	if _, err := e.App.Store.DB().Exec(`UPDATE tenants SET missed_every_s = 300, stuck_every_s = 300, daily_at_hour = 9`); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{}, 3)
	for range 3 {
		a, err := app.Open(ctx, config.Config{DatabaseURL: e.App.Cfg.DatabaseURL, SecretKey: e.App.Cfg.SecretKey, DataDir: t.TempDir()},
			slog.New(slog.NewTextHandler(io.Discard, nil)), app.OpenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		a.Now = e.Clock.Now
		t.Cleanup(func() { a.Close() })
		go func() {
			a.Work(ctx, app.WorkOptions{Tick: 100 * time.Millisecond})
			done <- struct{}{}
		}()
	}
	// River elects a leader before its scheduler runs: start the clock
	// once the first heartbeat has been worked.
	e.Eventually("the first scheduler tick", 30*time.Second, func() bool {
		var n int
		e.App.Store.DB().Get(&n, `SELECT count(*) FROM river_job WHERE kind = 'schedule_tick' AND state = 'completed'`)
		return n > 0
	})
	const periods = 8
	for range periods * 5 {
		time.Sleep(100 * time.Millisecond)
		e.Clock.Advance(time.Minute)
	}
	e.Eventually("the last period's sequences to finish", 30*time.Second, func() bool {
		var n int
		e.App.Store.DB().Get(&n, `SELECT count(*) FROM river_job WHERE kind = 'reconcile' AND state NOT IN ('completed', 'discarded', 'cancelled')`)
		return n == 0
	})
	cancel()
	for range 3 {
		<-done
	}

	var runs []struct {
		Slug string `db:"slug"`
		Pass string `db:"pass"`
		Slot string `db:"slot"`
		N    int    `db:"n"`
	}
	if err := e.App.Store.DB().Select(&runs, `
		SELECT t.slug, r.pass, r.slot, count(*) AS n FROM reconciliation_runs r JOIN tenants t ON t.id = r.tenant_id
		WHERE r.slot <> '' GROUP BY 1, 2, 3 ORDER BY 1, 3, 2`); err != nil {
		t.Fatal(err)
	}
	missedSlots := map[string]int{}
	for _, r := range runs {
		if r.N != 1 {
			t.Errorf("%s %s in slot %s ran %d times, want once", r.Slug, r.Pass, r.Slot, r.N)
		}
		if strings.HasPrefix(r.Slot, "missed:") {
			missedSlots[r.Slug]++
		}
	}
	for _, slug := range []string{"acme", "beta"} {
		if n := missedSlots[slug]; n < periods-2 || n > periods+1 {
			t.Errorf("%s: the missed pass ran in %d five-minute periods of %d, want one run in (nearly) each", slug, n, periods)
		}
	}
	t.Logf("%d scheduled runs over %d periods for 2 tenants; missed per tenant %v", len(runs), periods, missedSlots)
	// The daily sequence ends with app.DailyReport: yesterday's report
	// finalised and today's, for each tenant.
	var reports []string
	e.App.Store.DB().Select(&reports, `SELECT t.slug || ' ' || d.day::text FROM daily_reports d JOIN tenants t ON t.id = d.tenant_id ORDER BY 1`)
	if strings.Join(reports, ", ") != "acme 2026-11-01, acme 2026-11-02, beta 2026-11-01, beta 2026-11-02" {
		t.Errorf("got reports %v, want yesterday's and today's for each tenant", reports)
	}
}

// Due schedules per the tenant's cadences and the daily hour.
func TestDue(t *testing.T) {
	t.Parallel()
	tn := &tenant.Tenant{ID: 1, MissedEveryS: 6 * 3600, StuckEveryS: 3 * 3600, DriftEveryS: 24 * 3600, DailyAtHour: 6}
	early := reconcile.Due(tn, time.Date(2026, 11, 2, 5, 59, 0, 0, time.UTC))
	if len(early) != 2 || early[0].Slot != "missed:2026-11-02T00:00:00Z" || early[1].Slot != "stuck:2026-11-02T03:00:00Z" {
		t.Errorf("before the daily hour: got %+v", early)
	}
	later := reconcile.Due(tn, time.Date(2026, 11, 2, 6, 0, 0, 0, time.UTC))
	if len(later) != 3 || later[2].Slot != "daily:2026-11-02" || !later[2].Daily || len(later[2].Passes) != 3 {
		t.Errorf("from the daily hour: got %+v", later)
	}
	tn.DriftEveryS = 3600
	hourly := reconcile.Due(tn, time.Date(2026, 11, 2, 7, 30, 0, 0, time.UTC))
	if len(hourly) != 4 || hourly[2].Slot != "drift:2026-11-02T07:00:00Z" || hourly[2].Passes[0] != reconcile.Drift {
		t.Errorf("hourly drift: got %+v", hourly)
	}
}
