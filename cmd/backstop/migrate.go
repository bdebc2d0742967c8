package main

import (
	"context"
	"flag"
	"fmt"

	"backstop/internal/app"
	"backstop/migrations"
)

func migrateCmd() *command {
	return &command{name: "migrate", summary: "apply Backstop's and River's database migrations",
		flags: func(fs *flag.FlagSet) func(context.Context, *stdio, []string) error {
			return func(ctx context.Context, io *stdio, _ []string) error {
				cfg, log, err := loadConfig(io)
				if err != nil {
					return err
				}
				a, err := app.Open(ctx, cfg, log, app.OpenOptions{Migrate: true, NoSecretKey: true})
				if err != nil {
					return err
				}
				defer a.Close()
				st, err := migrations.Check(ctx, a.Store.DB().DB)
				if err != nil {
					return err
				}
				fmt.Fprintf(io.out, "schema at version %d; River migrations pending: %d\n", st.SchemaVersion, st.RiverPending)
				return nil
			}
		}}
}
