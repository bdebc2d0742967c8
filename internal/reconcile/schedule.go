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

// TickWorker enqueues each tenant's due passes, once per period: the job's
// arguments carry the period (slot), River refuses a second job with the
// same arguments, and reconciliation_runs refuses a second run of a pass
// in one slot.
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
				return fmt.Errorf("enqueue %v for %s: %w", a.Passes, t.Slug, err)
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
func Due(t *tenant.Tenant, now time.Time) []PassArgs {
	slot := func(prefix string, every time.Duration) string {
		return prefix + ":" + now.Truncate(every).Format(time.RFC3339)
	}
	out := []PassArgs{
		{TenantID: t.ID, Passes: []Pass{Missed}, Slot: slot("missed", secs(t.MissedEveryS))},
		{TenantID: t.ID, Passes: []Pass{Missed, Stuck}, Slot: slot("stuck", secs(t.StuckEveryS))},
	}
	if every := secs(t.DriftEveryS); every < 24*time.Hour {
		out = append(out, PassArgs{TenantID: t.ID, Passes: []Pass{Drift}, Slot: slot("drift", every)})
	}
	if now.Hour() >= t.DailyAtHour {
		out = append(out, PassArgs{TenantID: t.ID, Passes: []Pass{Missed, Stuck, Drift}, Slot: "daily:" + now.Format("2006-01-02"), Daily: true})
	}
	return out
}

func secs(n int) time.Duration { return time.Duration(n) * time.Second }

// PassArgs runs a sequence of passes for one tenant.
type PassArgs struct {
	TenantID int64  `json:"tenant_id"`
	Passes   []Pass `json:"passes"`
	Slot     string `json:"slot"`
	// Daily also generates the day's report after the passes.
	Daily bool `json:"daily,omitempty"`
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

// Work runs each pass in order. A pass already run in this slot is skipped.
// A pass running elsewhere (another sequence of the same tenant) makes the
// job wait and start over: the passes it already ran are then skipped, so
// no period loses a pass. A pass that ran out of budget ends the sequence
// (the rest would only fail the same way) and the next period resumes.
func (w *PassWorker) Work(ctx context.Context, job *river.Job[PassArgs]) error {
	e := w.Engine
	t, err := e.Store.TenantByID(ctx, job.Args.TenantID)
	if err != nil {
		return err
	}
	for _, p := range job.Args.Passes {
		run, err := e.Run(ctx, t, p, RunOpts{Trigger: "schedule", Slot: job.Args.Slot, Now: w.Now()})
		switch {
		case errors.Is(err, ErrBusy):
			return river.JobSnooze(busyWait)
		case errors.Is(err, store.ErrSlotTaken):
			e.Log.Debug("pass already ran in this period", slog.String("tenant", t.Slug), slog.String("pass", string(p)), slog.String("slot", job.Args.Slot))
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
