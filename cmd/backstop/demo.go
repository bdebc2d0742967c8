package main

import (
	"context"
	"flag"
	"time"

	"backstop/internal/app"
	"backstop/internal/demo"
)

func demoCmd() *command {
	return &command{name: "demo", summary: "run Backstop on its own: simulated Virtuous, two demo tenants, a live platform and 30 days of history (what `make run` runs)",
		flags: func(fs *flag.FlagSet) func(context.Context, *stdio, []string) error {
			simAddr := fs.String("sim-addr", "127.0.0.1:0", "where the Virtuous simulator listens")
			every := fs.Duration("every", 2*time.Second, "the platform sends a record per tenant about this often")
			seed := fs.Uint64("seed", 0, "seed for the generated data (0: new each start)")
			return func(ctx context.Context, io *stdio, _ []string) error {
				return runApp(ctx, io, true, func(a *app.App) error {
					return demo.Run(ctx, a, demo.Options{SimAddr: *simAddr, Every: *every, Out: io.out, Report: a.DailyReport, Seed: *seed})
				})
			}
		}}
}
