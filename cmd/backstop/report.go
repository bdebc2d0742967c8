package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"time"

	"backstop/internal/app"
	"backstop/internal/derrors"
	"backstop/internal/report"
	"backstop/internal/tenant"
)

func reportCmd() *command {
	return &command{name: "report", summary: "regenerate a tenant's daily reconciliation report, store it and print it",
		help: reportHelp(),
		flags: func(fs *flag.FlagSet) func(context.Context, *stdio, []string) error {
			slug := fs.String("tenant", "", "the tenant (required)")
			date := fs.String("date", "", "the UTC day to report, YYYY-MM-DD (default today); a past day is reported as of its end")
			format := fs.String("format", "text", "text or json")
			return func(ctx context.Context, io *stdio, args []string) error {
				// Every input is checked before the database is touched.
				if len(args) > 0 {
					return derrors.Invalid("", "unexpected argument %q", args[0])
				}
				if *slug == "" {
					return derrors.Invalid("tenant", "required")
				}
				if *format != "text" && *format != "json" {
					return derrors.Invalid("format", "%q is not text or json", *format)
				}
				now := time.Now().UTC()
				day := report.Day(now)
				if *date != "" {
					d, err := time.Parse(time.DateOnly, *date)
					if err != nil {
						return derrors.Invalid("date", "%q is not a date (YYYY-MM-DD)", *date)
					}
					if d.After(day) {
						return derrors.Invalid("date", "%s has not begun yet (today is %s, UTC)", *date, day.Format(time.DateOnly))
					}
					day = d
				}
				asOf := day.AddDate(0, 0, 1)
				if asOf.After(now) {
					asOf = now
				}
				return withApp(ctx, io, func(a *app.App) error {
					t, err := a.Store.TenantBySlug(ctx, *slug)
					if err != nil {
						return fmt.Errorf("tenant %q: %w", *slug, err)
					}
					rep, err := a.Reports(a.AlertJobs()).Generate(ctx, t, day, asOf)
					if err != nil {
						return err
					}
					if *format == "json" {
						enc := json.NewEncoder(io.out)
						enc.SetIndent("", "  ")
						return enc.Encode(rep)
					}
					return report.WriteText(io.out, rep)
				})
			}
		}}
}

// reportHelp lists the metrics' thresholds with their defaults.
func reportHelp() string {
	var b strings.Builder
	b.WriteString(`The report covers one UTC day: the queue (pending and how long, submitted past
stuck-after, needs_review, failed, conflict) as of its end — or now, for today —,
the latency from submission to confirmation (median, p95, p99) and the share
recovered by reconciliation over the day's confirmations, the most records one
drift run found, the day's passes, API calls and budget, and its escalations.
Each metric has its healthy value, the rule at which it says "investigate",
and a verdict; every metric that investigates raises its engineering
escalation (once a day). The daily sequence of passes writes the report on
its own; this command regenerates one (a past day gives the same report).

Thresholds (per tenant: backstop tenant set --slug S --threshold KEY=VALUE):
`)
	for _, s := range tenant.ThresholdSettings {
		fmt.Fprintf(&b, "  %-28s %s (default %s)\n", s.Key, s.Help, s.Default())
	}
	b.WriteString("  drift: the tenant's --drift-escalate-records\n")
	return b.String()
}
