package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"backstop/internal/jobs"
	"backstop/internal/store"
	"backstop/internal/tenant"
)

// TickArgs is the scheduler's heartbeat. River's periodic-job scheduler runs
// only on the elected leader, so however many workers are up, one process
// enqueues the due passes.
type TickArgs struct{}

// Kind is the River job kind.
func (TickArgs) Kind() string { return "schedule_tick" }

// PeriodicTick makes the heartbeat a River periodic job.
func PeriodicTick(every time.Duration) *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(every), func() (river.JobArgs, *river.InsertOpts) {
		return TickArgs{}, &river.InsertOpts{Queue: jobs.QueuePasses, MaxAttempts: 1}
	}, &river.PeriodicJobOpts{ID: "schedule_tick", RunOnStart: true})
}

// TickWorker enqueues each tenant's due passes, once per period: a
// sequence's arguments carry its period (slot), River refuses a second job
// with the same tenant and slot, and reconciliation_runs refuses a second
// run of a pass in its own period.
type TickWorker struct {
	river.WorkerDefaults[TickArgs]
	Store *store.Store
	Jobs  jobs.Inserter
	Now   func() time.Time
}

// Work enqueues what is due now.
func (w *TickWorker) Work(ctx context.Context, _ *river.Job[TickArgs]) error {
	ts, err := w.Store.Tenants(ctx)
	if err != nil {
		return err
	}
	now := w.Now().UTC()
	for _, t := range ts {
		for _, a := range Due(t, now) {
			if _, err := w.Jobs.Insert(ctx, a, passOpts()); err != nil {
				return fmt.Errorf("enqueue %s for %s: %w", a.Slot, t.Slug, err)
			}
		}
	}
	return nil
}

// Due lists the sequences t should run in the period that contains now:
//   - missed every missed_every (spec: 4–12h);
//   - stuck and needs-review every stuck_every, after a missed pass, so the
//     lookups are only for what the Query did not find;
//   - the daily sequence from daily_at_hour: missed, stuck, drift, then the
//     daily report;
//   - drift on its own as well when drift_every is shorter than a day.
//
// Each step names its pass's own period, not the sequence's: the stuck and
// daily sequences begin with the current missed period's run (the one the
// missed sequence makes, or they make it first and the missed sequence
// skips it), so every pass runs once per tenant per its own period however
// many sequences include it.
func Due(t *tenant.Tenant, now time.Time) []PassArgs {
	missed, stuck, drift := periods(t, now)
	seq := func(name string, daily bool, steps ...Step) PassArgs {
		return PassArgs{TenantID: t.ID, Slot: name, Steps: steps, Daily: daily}
	}
	out := []PassArgs{
		seq(missed.Slot, false, missed),
		seq(stuck.Slot, false, missed, stuck),
	}
	if secs(t.DriftEveryS) < 24*time.Hour {
		out = append(out, seq(drift.Slot, false, drift))
	}
	if now.Hour() >= t.DailyAtHour {
		out = append(out, seq("daily:"+now.Format(time.DateOnly), true, missed, stuck, drift))
	}
	return out
}

// periods returns each pass's step for the period containing now. Drift's
// period is drift_every when shorter than a day, else the day (it then runs
// only in the daily sequence).
func periods(t *tenant.Tenant, now time.Time) (missed, stuck, drift Step) {
	slot := func(p Pass, every time.Duration) Step {
		return Step{Pass: p, Slot: string(p) + ":" + now.Truncate(every).Format(time.RFC3339)}
	}
	drift = Step{Pass: Drift, Slot: "drift:" + now.Format(time.DateOnly)}
	if every := secs(t.DriftEveryS); every < 24*time.Hour {
		drift = slot(Drift, every)
	}
	return slot(Missed, secs(t.MissedEveryS)), slot(Stuck, secs(t.StuckEveryS)), drift
}

func secs(n int) time.Duration { return time.Duration(n) * time.Second }

// PassArgs runs a sequence of passes for one tenant.
type PassArgs struct {
	TenantID int64 `json:"tenant_id" river:"unique"`
	// Slot names the sequence and its period ("stuck:2026-11-02T03:00:00Z",
	// "daily:2026-11-02"); with the tenant it is what River keeps unique.
	// The steps' own slots are left out of the key: a daily sequence
	// enqueued at 09:00 and again at 15:00 names different missed periods
	// but is the same day's sequence.
	Slot  string `json:"slot" river:"unique"`
	Steps []Step `json:"steps"`
	// Daily also generates the day's report after the passes.
	Daily bool `json:"daily,omitempty"`
}

// Step is one pass of a sequence and the period it runs for.
type Step struct {
	Pass Pass   `json:"pass"`
	Slot string `json:"slot"`
}

// Kind is the River job kind.
func (PassArgs) Kind() string { return "reconcile" }

// busyWait is how long a sequence waits for another run of one of its
// passes to finish.
var busyWait = 2 * time.Second

func passOpts() *river.InsertOpts {
	// The default unique states include completed: a sequence that already
	// ran in this slot is not enqueued again.
	return &river.InsertOpts{Queue: jobs.QueuePasses, MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// PassWorker runs a sequence.
type PassWorker struct {
	river.WorkerDefaults[PassArgs]
	Engine *Engine
	Now    func() time.Time
	// Daily runs after a daily sequence (the report); nil skips it.
	Daily func(ctx context.Context, t *tenant.Tenant, now time.Time) error
	// MaxTime bounds one sequence (default 1h). It is also how long a
	// sequence left running by a worker that died waits before River runs
	// it again.
	MaxTime time.Duration
}

// Timeout: a pass over a large organization can take a while; the pass
// saves its progress, so a timeout costs only the page in flight.
func (w *PassWorker) Timeout(*river.Job[PassArgs]) time.Duration {
	if w.MaxTime > 0 {
		return w.MaxTime
	}
	return time.Hour
}

// Work runs each step in order. A step whose pass already ran in its
// period (in another sequence, or before this job was snoozed) is skipped:
// that run is the period's. A pass running elsewhere makes the job wait
// and start over, so a step is neither run twice nor passed over while its
// period's run is still going. A pass that ran out of budget ends the
// sequence (the rest would only fail the same way) and the next period
// resumes.
func (w *PassWorker) Work(ctx context.Context, job *river.Job[PassArgs]) error {
	e := w.Engine
	t, err := e.Store.TenantByID(ctx, job.Args.TenantID)
	if err != nil {
		return err
	}
	for _, s := range job.Args.Steps {
		run, err := e.Run(ctx, t, s.Pass, RunOpts{Trigger: "schedule", Slot: s.Slot, Now: w.Now()})
		switch {
		case errors.Is(err, ErrBusy):
			return river.JobSnooze(busyWait)
		case errors.Is(err, store.ErrSlotTaken):
			e.Log.Debug("pass already ran in this period", slog.String("tenant", t.Slug), slog.String("pass", string(s.Pass)), slog.String("slot", s.Slot))
		case err != nil && run != nil && run.Status == "partial":
			return nil
		case err != nil:
			return err
		}
	}
	if job.Args.Daily && w.Daily != nil {
		return w.Daily(ctx, t, w.Now())
	}
	return nil
}
