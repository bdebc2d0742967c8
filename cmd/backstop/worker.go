package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"time"

	"backstop/internal/app"
	"backstop/internal/derrors"
	"backstop/internal/reconcile"
	"backstop/internal/store"
)

func workerCmd() *command {
	return &command{name: "worker", summary: "run background jobs: submission, webhook application, scheduled passes, reports",
		flags: func(fs *flag.FlagSet) func(context.Context, *stdio, []string) error {
			migrate := fs.Bool("migrate", false, "apply pending migrations first (always on with the private cluster)")
			tick := fs.Duration("tick", time.Minute, "how often the scheduler looks for due passes (negative: no scheduler in this process)")
			limits := jobTimeoutFlags(fs)
			return func(ctx context.Context, io *stdio, _ []string) error {
				o, err := limits()
				if err != nil {
					return err
				}
				o.Tick = *tick
				return runApp(ctx, io, *migrate, func(a *app.App) error {
					return a.Work(ctx, o)
				})
			}
		}}
}

func allCmd() *command {
	return &command{name: "all", summary: "run the web app and the workers in one process",
		flags: func(fs *flag.FlagSet) func(context.Context, *stdio, []string) error {
			migrate := fs.Bool("migrate", false, "apply pending migrations first (always on with the private cluster)")
			tick := fs.Duration("tick", time.Minute, "how often the scheduler looks for due passes (negative: no scheduler in this process)")
			limits := jobTimeoutFlags(fs)
			return func(ctx context.Context, io *stdio, _ []string) error {
				o, err := limits()
				if err != nil {
					return err
				}
				o.Tick = *tick
				return runApp(ctx, io, *migrate, func(a *app.App) error {
					return a.All(ctx, o, func(addr string) { a.Log.Info("serving", "addr", "http://"+addr) })
				})
			}
		}}
}

// jobTimeoutFlags are the worker's job limits. They also decide how soon
// the jobs of a worker that died (killed, out of memory, its machine gone)
// run again elsewhere.
func jobTimeoutFlags(fs *flag.FlagSet) func() (app.WorkOptions, error) {
	var o app.WorkOptions
	fs.DurationVar(&o.JobTimeout, "job-timeout", 5*time.Minute, "longest run of a submission, webhook or alert job")
	fs.DurationVar(&o.PassTimeout, "pass-timeout", time.Hour, "longest run of a reconciliation sequence; a sequence left running by a dead worker is retried after this")
	fs.DurationVar(&o.RescueAfter, "rescue-after", 0, "retry jobs left running by a dead worker after this (default: job-timeout + 1m; at least job-timeout)")
	return func() (app.WorkOptions, error) {
		switch {
		case o.JobTimeout <= 0:
			return o, derrors.Invalid("job-timeout", "must be positive")
		case o.PassTimeout <= 0:
			return o, derrors.Invalid("pass-timeout", "must be positive")
		case o.RescueAfter < 0 || (o.RescueAfter > 0 && o.RescueAfter < o.JobTimeout):
			return o, derrors.Invalid("rescue-after", "must be at least job-timeout (%s): a job still running must not be started twice", o.JobTimeout)
		}
		return o, nil
	}
}

func reconcileCmd() *command {
	return &command{name: "reconcile", summary: "run reconciliation passes for a tenant now and print a JSON summary",
		flags: func(fs *flag.FlagSet) func(context.Context, *stdio, []string) error {
			slug := fs.String("tenant", "", "the tenant (required)")
			pass := fs.String("pass", "all", "missed, stuck, drift, or all (in that order)")
			nowFlag := fs.String("now", "", "RFC 3339 time the windows are measured against (default: now)")
			return func(ctx context.Context, io *stdio, _ []string) error {
				if *slug == "" {
					return derrors.Invalid("tenant", "required")
				}
				passes := reconcile.Passes
				if *pass != "all" {
					if !reconcile.Pass(*pass).Valid() {
						return derrors.Invalid("pass", "%q is not missed, stuck, drift or all", *pass)
					}
					passes = []reconcile.Pass{reconcile.Pass(*pass)}
				}
				now := time.Now().UTC()
				if *nowFlag != "" {
					t, err := time.Parse(time.RFC3339, *nowFlag)
					if err != nil {
						return derrors.Invalid("now", "%q is not an RFC 3339 time", *nowFlag)
					}
					now = t.UTC()
				}
				return withApp(ctx, io, func(a *app.App) error {
					t, err := a.Store.TenantBySlug(ctx, *slug)
					if err != nil {
						return fmt.Errorf("tenant %q: %w", *slug, err)
					}
					rc, err := a.NewInserter()
					if err != nil {
						return err
					}
					eng := a.Engine(rc, nil)
					var runs []*store.Run
					var runErr error
					for _, p := range passes {
						run, err := eng.Run(ctx, t, p, reconcile.RunOpts{Trigger: "manual", Now: now})
						if run != nil {
							runs = append(runs, run)
						}
						if err != nil {
							runErr = fmt.Errorf("%s pass: %w", p, err)
							break
						}
					}
					enc := json.NewEncoder(io.out)
					enc.SetIndent("", "  ")
					if err := enc.Encode(map[string]any{"tenant": t.Slug, "now": now, "runs": runs}); err != nil {
						return err
					}
					if errors.Is(runErr, derrors.BudgetExhausted) {
						return nil // partial, and the summary says so
					}
					return runErr
				})
			}
		}}
}
