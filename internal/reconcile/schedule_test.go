package reconcile_test

import (
	"context"
	"io"
	"log/slog"
	"reflect"
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
// per tenant per period. The shared clock moves a minute at a time, and
// after each move the test waits for a scheduler tick enqueued after it,
// so every period from 09:00 to 09:40 is seen by the scheduler: nine
// five-minute periods for missed and stuck, and one day for drift (its
// cadence is a day, and it runs in the daily sequence).
//
// Runs are counted per pass across every slot: the stuck and daily
// sequences both begin with a missed pass, and it must be the period's one
// missed run, not another under the sequence's own name.
func TestThreeWorkersRunEachPassOncePerPeriod(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	e := apptest.New(t, apptest.Options{Start: start})
	e.AddTenant("beta", "sim-key-beta", "", e.Sim.AddOrg("beta", "sim-key-beta"))
	db := e.App.Store.DB()
	if _, err := db.Exec(`UPDATE tenants SET missed_every_s = 300, stuck_every_s = 300, daily_at_hour = 9`); err != nil {
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
	// A tick enqueued after the clock moved reads the new time: wait for
	// one to be worked after every move (and before the first).
	tickAfter := func(what string) {
		t.Helper()
		var last int64
		if err := db.Get(&last, `SELECT coalesce(max(id), 0) FROM river_job WHERE kind = 'schedule_tick'`); err != nil {
			t.Fatal(err)
		}
		e.Eventually(what, 30*time.Second, func() bool {
			var n int
			db.Get(&n, `SELECT count(*) FROM river_job WHERE kind = 'schedule_tick' AND state = 'completed' AND id > $1`, last)
			return n > 0
		})
	}
	tickAfter("the first scheduler tick")
	const minutes = 40
	for range minutes {
		e.Clock.Advance(time.Minute)
		tickAfter("a tick at " + e.Clock.Now().Format("15:04"))
	}
	e.Eventually("every sequence to finish", 60*time.Second, func() bool {
		var n int
		db.Get(&n, `SELECT count(*) FROM river_job WHERE kind = 'reconcile' AND state NOT IN ('completed', 'discarded', 'cancelled')`)
		return n == 0
	})
	cancel()
	for range 3 {
		<-done
	}

	var runs []struct {
		Slug  string `db:"slug"`
		Pass  string `db:"pass"`
		N     int    `db:"n"`
		Slots int    `db:"slots"`
	}
	if err := db.Select(&runs, `
		SELECT t.slug, r.pass, count(*) AS n, count(DISTINCT r.slot) AS slots
		FROM reconciliation_runs r JOIN tenants t ON t.id = r.tenant_id
		GROUP BY 1, 2 ORDER BY 1, 2`); err != nil {
		t.Fatal(err)
	}
	const periods = minutes/5 + 1 // 09:00, 09:05, …, 09:40
	want := map[string]int{"missed": periods, "stuck": periods, "drift": 1}
	got := map[string]int{}
	for _, r := range runs {
		got[r.Slug+" "+r.Pass] = r.N
		t.Logf("%s %s: %d runs in %d slots", r.Slug, r.Pass, r.N, r.Slots)
	}
	for _, slug := range []string{"acme", "beta"} {
		for pass, n := range want {
			if g := got[slug+" "+pass]; g != n {
				t.Errorf("%s: %s ran %d times, want %d (once in each of its periods)", slug, pass, g, n)
			}
		}
	}
	// Each stuck run came after its period's missed run had started (and,
	// holding the lock, finished): the lookups are for what the Query left.
	var early int
	if err := db.Get(&early, `
		SELECT count(*) FROM reconciliation_runs s
		WHERE s.pass = 'stuck' AND NOT EXISTS (
			SELECT 1 FROM reconciliation_runs m
			WHERE m.tenant_id = s.tenant_id AND m.pass = 'missed' AND m.id < s.id
			  AND m.slot = 'missed:' || substr(s.slot, length('stuck:') + 1))`); err != nil {
		t.Fatal(err)
	}
	if early != 0 {
		t.Errorf("%d stuck runs started before their period's missed run", early)
	}
	var discarded int
	db.Get(&discarded, `SELECT count(*) FROM river_job WHERE kind = 'reconcile' AND state <> 'completed'`)
	if discarded != 0 {
		t.Errorf("%d sequences did not complete", discarded)
	}
	// The daily sequence ends with app.DailyReport: yesterday's report
	// finalised and today's, for each tenant.
	var reports []string
	e.App.Store.DB().Select(&reports, `SELECT t.slug || ' ' || d.day::text FROM daily_reports d JOIN tenants t ON t.id = d.tenant_id ORDER BY 1`)
	if strings.Join(reports, ", ") != "acme 2026-11-01, acme 2026-11-02, beta 2026-11-01, beta 2026-11-02" {
		t.Errorf("got reports %v, want yesterday's and today's for each tenant", reports)
	}
}

// Due schedules per the tenant's cadences and the daily hour, and every
// step names its own pass's period, whichever sequence it is in.
func TestDue(t *testing.T) {
	t.Parallel()
	tn := &tenant.Tenant{ID: 1, MissedEveryS: 6 * 3600, StuckEveryS: 3 * 3600, DriftEveryS: 24 * 3600, DailyAtHour: 6}
	missed := reconcile.Step{Pass: reconcile.Missed, Slot: "missed:2026-11-02T00:00:00Z"}
	stuck := reconcile.Step{Pass: reconcile.Stuck, Slot: "stuck:2026-11-02T03:00:00Z"}
	daily := reconcile.Step{Pass: reconcile.Drift, Slot: "drift:2026-11-02"}
	missed6 := reconcile.Step{Pass: reconcile.Missed, Slot: "missed:2026-11-02T06:00:00Z"}
	stuck6 := reconcile.Step{Pass: reconcile.Stuck, Slot: "stuck:2026-11-02T06:00:00Z"}
	hourly := reconcile.Step{Pass: reconcile.Drift, Slot: "drift:2026-11-02T07:00:00Z"}
	tests := []struct {
		name  string
		every int // drift_every_s
		now   time.Time
		want  []reconcile.PassArgs
	}{
		{"before the daily hour", 24 * 3600, time.Date(2026, 11, 2, 5, 59, 0, 0, time.UTC), []reconcile.PassArgs{
			{TenantID: 1, Slot: missed.Slot, Steps: []reconcile.Step{missed}},
			{TenantID: 1, Slot: stuck.Slot, Steps: []reconcile.Step{missed, stuck}},
		}},
		{"from the daily hour", 24 * 3600, time.Date(2026, 11, 2, 6, 0, 0, 0, time.UTC), []reconcile.PassArgs{
			{TenantID: 1, Slot: missed6.Slot, Steps: []reconcile.Step{missed6}},
			{TenantID: 1, Slot: stuck6.Slot, Steps: []reconcile.Step{missed6, stuck6}},
			{TenantID: 1, Slot: "daily:2026-11-02", Daily: true, Steps: []reconcile.Step{missed6, stuck6, daily}},
		}},
		{"hourly drift", 3600, time.Date(2026, 11, 2, 7, 30, 0, 0, time.UTC), []reconcile.PassArgs{
			{TenantID: 1, Slot: missed6.Slot, Steps: []reconcile.Step{missed6}},
			{TenantID: 1, Slot: stuck6.Slot, Steps: []reconcile.Step{missed6, stuck6}},
			{TenantID: 1, Slot: hourly.Slot, Steps: []reconcile.Step{hourly}},
			{TenantID: 1, Slot: "daily:2026-11-02", Daily: true, Steps: []reconcile.Step{missed6, stuck6, hourly}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tn := *tn
			tn.DriftEveryS = tc.every
			if got := reconcile.Due(&tn, tc.now); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}
