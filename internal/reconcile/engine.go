// Package reconcile runs the backstop passes of the spec's "Reconcile sync
// failures" guide against each tenant's Virtuous organization:
//
//   - missed (Category 3): Query gifts and contacts modified since the
//     watermark and apply every result through the inbound handler;
//   - stuck (Categories 1 and 2): look up submitted records the missed pass
//     did not confirm; found → confirmed via reconciliation; still 404 past
//     needs_review_after → needs_review for the customer;
//   - drift (Category 4): compare confirmed pairs field by field and resolve
//     by the tenant's policy.
//
// Each run is a reconciliation_runs row; two runs of one tenant's pass never
// overlap (a PostgreSQL advisory lock held for the run), and a run that ends
// early — out of rate budget, cancelled, killed — leaves nothing half
// applied and a resume point the next run continues from.
package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"backstop/internal/derrors"
	"backstop/internal/escalate"
	"backstop/internal/inbound"
	"backstop/internal/jobs"
	"backstop/internal/store"
	"backstop/internal/tenant"
	"backstop/internal/virtuous"
)

// Pass names a pass.
type Pass string

const (
	Missed Pass = "missed"
	Stuck  Pass = "stuck"
	Drift  Pass = "drift"
)

// Passes in the order a full sequence runs them: missed first, so an outage
// of thousands of deliveries is recovered with a few Query pages and the
// per-record lookups of the stuck pass are only for what it did not find.
var Passes = []Pass{Missed, Stuck, Drift}

// Valid reports whether p is a pass.
func (p Pass) Valid() bool { return p == Missed || p == Stuck || p == Drift }

// Engine runs passes.
type Engine struct {
	Store    *store.Store
	Clients  func(ctx context.Context, t *tenant.Tenant) (*virtuous.Client, error)
	Inbound  *inbound.Handler
	Jobs     jobs.Inserter
	Escalate *escalate.Raiser
	Log      *slog.Logger
	// Page is the Query page size (default and most: virtuous.MaxTake).
	Page int
	// LookupConcurrency bounds parallel per-record lookups (default 4).
	LookupConcurrency int
	// ApplyParts is how many transactions apply one Query page at once
	// (see applyPage). Zero is the default: 2 for a page of 200 objects or
	// more, else 1.
	ApplyParts int
}

// ErrBusy: another run of this tenant's pass holds the lock.
var ErrBusy = errors.New("another run of this pass is in progress")

// RunOpts describe one run.
type RunOpts struct {
	Trigger string    // schedule, manual, sequence
	Slot    string    // the schedule period, for scheduled runs
	Now     time.Time // the clock the windows are measured against
}

// run is one run in progress: its row and its client.
type run struct {
	*store.Run
	t      *tenant.Tenant
	client *virtuous.Client
	now    time.Time
	wall   time.Time // when the run began in real time, for its duration
}

// Run runs pass for t and returns the finished run row.
func (e *Engine) Run(ctx context.Context, t *tenant.Tenant, pass Pass, o RunOpts) (_ *store.Run, err error) {
	if !pass.Valid() {
		return nil, derrors.Invalid("pass", "%q is not a pass (missed, stuck, drift)", pass)
	}
	unlock, err := e.lock(ctx, t.ID, pass)
	if err != nil {
		return nil, err
	}
	defer unlock()
	// The run's row is bookkeeping that must not be half done: a cancel
	// landing between its insert and our reading the id would leave it
	// "running". So it is written without the caller's cancellation.
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	row, err := e.Store.StartRun(bctx, t.ID, string(pass), o.Trigger, o.Slot, o.Now)
	cancel()
	if err != nil {
		return nil, err
	}
	r := &run{Run: row, t: t, now: o.Now.UTC(), wall: time.Now()}
	r.client, err = e.Clients(ctx, t)
	if err == nil {
		switch pass {
		case Missed:
			err = e.missed(ctx, r)
		case Stuck:
			err = e.stuck(ctx, r)
		case Drift:
			err = e.drift(ctx, r)
		}
	}
	e.finish(ctx, r, err)
	return r.Run, err
}

// finish writes the outcome even when ctx was cancelled: the row must not
// stay "running".
func (e *Engine) finish(ctx context.Context, r *run, err error) {
	// Measured on the run's own clock (--now, a test's), so that finished
	// minus started is the real duration.
	fin := r.now.Add(time.Since(r.wall))
	r.FinishedAt = &fin
	if r.client != nil {
		r.APICalls = int(r.client.Calls())
	}
	switch {
	case err == nil:
		r.Status = "ok"
	case errors.Is(err, derrors.BudgetExhausted):
		r.Status = "partial"
		r.Error = "stopped early: " + err.Error() + "; the next run resumes where this one stopped"
	default:
		r.Status = "failed"
		r.Error = err.Error()
	}
	if ferr := e.Store.FinishRun(context.WithoutCancel(ctx), r.Run); ferr != nil {
		e.Log.Error("record pass outcome", slog.Int64("run", r.ID), slog.Any("error", ferr))
	}
	lvl := slog.LevelInfo
	if r.Status != "ok" {
		lvl = slog.LevelWarn
	}
	e.Log.Log(ctx, lvl, "pass finished", slog.String("tenant", r.t.Slug), slog.String("pass", r.Pass),
		slog.String("status", r.Status), slog.Int("api_calls", r.APICalls), slog.Int("examined", r.Examined),
		slog.Int("recovered", r.Recovered), slog.Int("needs_review", r.NeedsReview), slog.Int("applied", r.Applied),
		slog.Int("drift", r.DriftFound), slog.String("error", r.Error))
}

// lock takes the tenant's pass lock for the run; ErrBusy when another run
// holds it.
func (e *Engine) lock(ctx context.Context, tenantID int64, pass Pass) (func(), error) {
	release, ok, err := e.Store.TryPassLock(ctx, tenantID, string(pass))
	switch {
	case err != nil:
		return nil, fmt.Errorf("take pass lock: %w", err)
	case !ok:
		return nil, ErrBusy
	}
	return release, nil
}

func isWrongState(err error) bool { return errors.Is(err, derrors.WrongState) }

// String is the pass's name.
func (p Pass) String() string { return string(p) }
