package main

import (
	"context"
	"flag"

	"backstop/internal/app"
)

func serveCmd() *command {
	return &command{name: "serve", summary: "run the web app, the partner API and the webhook receiver",
		flags: func(fs *flag.FlagSet) func(context.Context, *stdio, []string) error {
			migrate := fs.Bool("migrate", false, "apply pending migrations first (always on with the private cluster)")
			return func(ctx context.Context, io *stdio, _ []string) error {
				return runApp(ctx, io, *migrate, func(a *app.App) error {
					return a.Serve(ctx, func(addr string) { a.Log.Info("serving", "addr", "http://"+addr) })
				})
			}
		}}
}

// runApp opens the app for a long-running command and closes it (stopping a
// private cluster it started) when the command returns.
func runApp(ctx context.Context, io *stdio, migrate bool, fn func(a *app.App) error) error {
	cfg, log, err := loadConfig(io)
	if err != nil {
		return err
	}
	a, err := app.Open(ctx, cfg, log, app.OpenOptions{Migrate: migrate})
	if err != nil {
		return err
	}
	if a.Cfg.SecretKeyFromFile {
		log.Warn("BACKSTOP_SECRET_KEY is not set; using the key generated in " + cfg.DataDir + "/secret.key")
	}
	runErr := fn(a)
	if err := a.Close(); err != nil && runErr == nil {
		runErr = err
	}
	return runErr
}
