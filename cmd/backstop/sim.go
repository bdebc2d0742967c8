package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"backstop/internal/virtuoussim"
)

func simCmd() *command {
	return &command{name: "sim", summary: "run the Virtuous CRM+ simulator (API on loopback, control API under /_sim/)",
		flags: func(fs *flag.FlagSet) func(context.Context, *stdio, []string) error {
			addr := fs.String("addr", "127.0.0.1:9090", "listen address (keep it on loopback: the control API has no authentication)")
			var orgs multiFlag
			fs.Var(&orgs, "org", "NAME=API_KEY: an organization and the key it accepts (repeatable; default demo=demo-key)")
			batch := fs.Duration("batch-every", 0, "also run the nightly batch every this much real time (0: only at UTC midnight or on request)")
			rate := fs.Int("rate-limit", 5000, "requests per hour per organization")
			seed := fs.Int64("seed", 1, "seed for every random choice (faults, loss, matching)")
			return func(ctx context.Context, io *stdio, _ []string) error {
				m := map[string]string{}
				for _, o := range orgs {
					name, key, ok := strings.Cut(o, "=")
					if !ok || name == "" || key == "" {
						return fmt.Errorf("--org %q: want NAME=API_KEY", o)
					}
					m[name] = key
				}
				if len(m) == 0 {
					m["demo"] = "demo-key"
				}
				_, log, err := loadConfig(io)
				if err != nil {
					return err
				}
				return virtuoussim.Run(ctx, *addr, virtuoussim.Options{RateLimit: *rate, Seed: *seed, BatchEvery: *batch, RateWindow: time.Hour, Logger: log}, m)
			}
		}}
}
