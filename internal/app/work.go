package app

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/riverqueue/river"
	"golang.org/x/sync/errgroup"

	"backstop/internal/connect"
	"backstop/internal/escalate"
	"backstop/internal/inbound"
	"backstop/internal/jobs"
	"backstop/internal/reconcile"
	"backstop/internal/submit"
	"backstop/internal/tenant"
	"backstop/internal/virtuous"
)

// WorkOptions tune the worker (tests and the demo shorten the intervals).
type WorkOptions struct {
	Tick time.Duration // scheduler heartbeat (default 1m; negative: no scheduler)
	// JobTimeout bounds ordinary jobs (default 5m) and PassTimeout a
	// reconciliation sequence (default 1h). A job left running by a worker
	// that died is retried by another after RescueAfter (default JobTimeout
	// + 1m), or after PassTimeout for a pass: River cannot tell a dead
	// worker from a slow one sooner.
	JobTimeout, PassTimeout, RescueAfter time.Duration
	Tune                                 func(*virtuous.Config)
}

// Engine builds the reconciliation engine over this app's store.
func (a *App) Engine(ins jobs.Inserter, tune func(*virtuous.Config)) *reconcile.Engine {
	f := a.clients(tune)
	return &reconcile.Engine{
		Store:    a.Store,
		Clients:  f.Client,
		Inbound:  &inbound.Handler{Store: a.Store, Now: a.Now},
		Jobs:     ins,
		Escalate: a.raiser(ins),
		Log:      a.Log,
	}
}

func (a *App) clients(tune func(*virtuous.Config)) *connect.Factory {
	return &connect.Factory{Store: a.Store, Box: a.Box, Log: a.Log, Tune: tune}
}

// NewWorkerClient builds a River client that works every job kind.
func (a *App) NewWorkerClient(o WorkOptions) (*jobs.Client, error) {
	workers := river.NewWorkers()
	// The workers need the client to enqueue follow-up jobs, and the client
	// needs the workers: ins is filled in once the client exists.
	ins := &lateInserter{}
	eng := a.Engine(ins, o.Tune)
	f := a.clients(o.Tune)
	river.AddWorker(workers, &submit.Worker{Store: a.Store, Now: a.Now, Log: a.Log, Escalate: eng.Escalate,
		Clients: func(ctx context.Context, t *tenant.Tenant) (submit.Client, error) { return f.Client(ctx, t) }})
	river.AddWorker(workers, &inbound.DrainWorker{Handler: eng.Inbound, Log: a.Log})
	river.AddWorker(workers, &reconcile.PushWorker{Store: a.Store, Clients: f.Client, Now: a.Now})
	river.AddWorker(workers, &reconcile.TickWorker{Store: a.Store, Jobs: ins, Now: a.Now})
	river.AddWorker(workers, &reconcile.PassWorker{Engine: eng, Now: a.Now, Daily: a.DailyReport, MaxTime: o.PassTimeout})
	river.AddWorker(workers, &escalate.AlertWorker{Store: a.Store, AlertURL: a.Cfg.AlertWebhookURL,
		HTTP: &http.Client{Timeout: 10 * time.Second}, Log: a.Log})
	periodic := []*river.PeriodicJob{inbound.PeriodicDrain(time.Second)}
	switch {
	case o.Tick == 0:
		periodic = append(periodic, reconcile.PeriodicTick(time.Minute))
	case o.Tick > 0:
		periodic = append(periodic, reconcile.PeriodicTick(o.Tick))
	}
	rc, err := jobs.New(a.Store.DB().DB, jobs.Options{Log: a.Log, Workers: workers,
		Periodic: periodic, JobTimeout: o.JobTimeout, RescueAfter: o.RescueAfter})
	if err != nil {
		return nil, err
	}
	ins.Inserter = rc
	return rc, nil
}

// lateInserter forwards to an Inserter set after construction.
type lateInserter struct{ jobs.Inserter }

// Work runs the River workers until ctx is done.
func (a *App) Work(ctx context.Context, o WorkOptions) error {
	rc, err := a.NewWorkerClient(o)
	if err != nil {
		return err
	}
	return a.runRiver(ctx, rc)
}

func (a *App) runRiver(ctx context.Context, rc *jobs.Client) error {
	if err := rc.Start(ctx); err != nil {
		return err
	}
	a.Log.Info("worker started")
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := rc.Stop(sctx); err != nil {
		a.Log.Warn("worker stop", slog.Any("error", err))
		return rc.StopAndCancel(context.WithoutCancel(ctx))
	}
	return nil
}

// All runs the web server and the workers in one process, sharing one River
// client for enqueueing and working.
func (a *App) All(ctx context.Context, o WorkOptions, ready func(addr string)) error {
	rc, err := a.NewWorkerClient(o)
	if err != nil {
		return err
	}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return a.runRiver(ctx, rc) })
	g.Go(func() error { return a.newWeb(rc).Serve(ctx, a.Cfg.Addr, ready) })
	return g.Wait()
}
