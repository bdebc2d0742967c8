package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"backstop/internal/app"
	"backstop/internal/derrors"
	"backstop/internal/tenant"
)

func tenantAddCmd() *command {
	return &command{name: "add", summary: "add a tenant and print its intake token (shown once) and webhook URL",
		flags: func(fs *flag.FlagSet) func(context.Context, *stdio, []string) error {
			var n tenant.NewTenant
			fs.StringVar(&n.Slug, "slug", "", "short name used in URLs (lower-case letters, digits, hyphens)")
			fs.StringVar(&n.Name, "name", "", "the customer's name as people read it")
			fs.StringVar(&n.VirtuousBaseURL, "virtuous-url", "https://api.virtuoussoftware.com", "Virtuous API base URL")
			fs.StringVar(&n.VirtuousAppURL, "virtuous-app-url", "https://app.virtuoussoftware.com", "Virtuous web app URL (for links to gifts and the Import tool)")
			fs.StringVar(&n.VirtuousKey, "virtuous-key", "", "the organization's Virtuous API key (stored encrypted)")
			fs.StringVar(&n.WebhookSecret, "webhook-secret", "", "the secret set on the Virtuous webhook subscription (optional; stored encrypted)")
			return func(ctx context.Context, io *stdio, _ []string) error {
				if err := n.Validate(); err != nil {
					return err
				}
				return withApp(ctx, io, func(a *app.App) error {
					t, intake, hook := n.Build(a.Box)
					if _, err := a.Store.CreateTenant(ctx, t); err != nil {
						return err
					}
					out := map[string]string{
						"slug":         t.Slug,
						"intake_token": intake,
						"webhook_url":  tenant.WebhookURL(a.Cfg.BaseURL, t.Slug, hook),
					}
					enc := json.NewEncoder(io.out)
					enc.SetIndent("", "  ")
					return enc.Encode(out)
				})
			}
		}}
}

func tenantListCmd() *command {
	return &command{name: "list", summary: "list tenants and their main settings",
		flags: func(fs *flag.FlagSet) func(context.Context, *stdio, []string) error {
			asJSON := fs.Bool("json", false, "print JSON instead of a table")
			return func(ctx context.Context, io *stdio, _ []string) error {
				return withApp(ctx, io, func(a *app.App) error {
					ts, err := a.Store.Tenants(ctx)
					if err != nil {
						return err
					}
					if *asJSON {
						type row struct {
							Slug, Name, VirtuousURL, DriftPolicy string
							StuckAfter, NeedsReviewAfter         string
						}
						rows := []row{}
						for _, t := range ts {
							rows = append(rows, row{t.Slug, t.Name, t.VirtuousBaseURL, string(t.DriftPolicy), t.StuckAfter().String(), t.NeedsReviewAfter().String()})
						}
						return json.NewEncoder(io.out).Encode(rows)
					}
					w := tabwriter.NewWriter(io.out, 0, 4, 2, ' ', 0)
					fmt.Fprintln(w, "SLUG\tNAME\tVIRTUOUS\tPOLICY\tSTUCK AFTER\tNEEDS REVIEW AFTER")
					for _, t := range ts {
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", t.Slug, t.Name, t.VirtuousBaseURL, t.DriftPolicy, t.StuckAfter(), t.NeedsReviewAfter())
					}
					return w.Flush()
				})
			}
		}}
}

func tenantSetCmd() *command {
	return &command{name: "set", summary: "change a tenant's settings (validated; nothing changes on a bad value)",
		flags: func(fs *flag.FlagSet) func(context.Context, *stdio, []string) error {
			slug := fs.String("slug", "", "the tenant to change (required)")
			var p tenant.Patch
			str := func(dst **string, name, help string) {
				fs.Func(name, help, func(v string) error { *dst = &v; return nil })
			}
			dur := func(dst **time.Duration, name, help string) {
				fs.Func(name, help+" (a duration such as 24h or 90m)", func(v string) error {
					d, err := time.ParseDuration(v)
					if err != nil {
						return fmt.Errorf("not a duration: %q", v)
					}
					*dst = &d
					return nil
				})
			}
			num := func(dst **int, name, help string) {
				fs.Func(name, help, func(v string) error {
					var n int
					if _, err := fmt.Sscan(v, &n); err != nil {
						return fmt.Errorf("not a number: %q", v)
					}
					*dst = &n
					return nil
				})
			}
			str(&p.Name, "name", "display name")
			str(&p.VirtuousBaseURL, "virtuous-url", "Virtuous API base URL")
			str(&p.VirtuousAppURL, "virtuous-app-url", "Virtuous web app URL")
			str(&p.SignatureHeader, "signature-header", "header carrying the webhook signature (default X-Virtuous-Signature)")
			str(&p.SourceStripe, "source-stripe", "transactionSource for Stripe records")
			str(&p.SourceEventbrite, "source-eventbrite", "transactionSource for Eventbrite records")
			str(&p.SourceOther, "source-other", "transactionSource for other records")
			dur(&p.StuckAfter, "stuck-after", "submitted records older than this are looked up (1h–7d; spec: 24h)")
			dur(&p.NeedsReviewAfter, "needs-review-after", "still-404 records older than this go to needs-review (spec: 72h)")
			dur(&p.Lookback, "lookback", "how far the missed pass re-reads behind its watermark")
			dur(&p.MissedEvery, "missed-every", "missed-webhook pass cadence (4h–12h; default 6h)")
			dur(&p.StuckEvery, "stuck-every", "stuck/needs-review pass cadence (default 3h)")
			dur(&p.DriftEvery, "drift-every", "drift pass cadence (default 24h)")
			dur(&p.AgeAmber, "age-amber", "queue age badge turns amber after this")
			dur(&p.AgeRed, "age-red", "queue age badge turns red after this")
			num(&p.DailyAtHour, "daily-at-hour", "UTC hour of the daily sequence and report (0–23)")
			num(&p.SubmitMaxAttempts, "submit-max-attempts", "submission attempts before a record is failed (1–25)")
			num(&p.RatePct, "rate-reserve-pct", "share of the Virtuous hourly limit kept for the customer's other integrations (0–90)")
			num(&p.DriftEscalateRecords, "drift-escalate-records", "drift touching more records than this in one run alerts engineering")
			fs.Func("drift-policy", "manual | most-recent | ownership | virtuous", func(v string) error {
				dp := tenant.DriftPolicy(v)
				p.DriftPolicy = &dp
				return nil
			})
			fs.Func("field-owner", "FIELD=platform|virtuous for the ownership policy (repeatable)", func(v string) error {
				f, s, ok := strings.Cut(v, "=")
				if !ok {
					return fmt.Errorf("want FIELD=platform|virtuous, got %q", v)
				}
				if p.FieldOwners == nil {
					p.FieldOwners = map[tenant.Field]tenant.Side{}
				}
				p.FieldOwners[tenant.Field(f)] = tenant.Side(s)
				return nil
			})
			fs.Func("threshold", "METRIC=VALUE: a report's investigate threshold (repeatable; see `backstop report --help`)", func(v string) error {
				k, val, ok := strings.Cut(v, "=")
				if !ok || !json.Valid([]byte(val)) {
					return fmt.Errorf("want METRIC=NUMBER, got %q", v)
				}
				if p.Thresholds == nil {
					p.Thresholds = map[string]json.RawMessage{}
				}
				p.Thresholds[k] = json.RawMessage(val)
				return nil
			})
			return func(ctx context.Context, io *stdio, _ []string) error {
				if *slug == "" {
					return derrors.Invalid("slug", "required")
				}
				return withApp(ctx, io, func(a *app.App) error {
					t, err := a.Store.TenantBySlug(ctx, *slug)
					if err != nil {
						return fmt.Errorf("tenant %q: %w", *slug, err)
					}
					if err := t.Apply(p); err != nil {
						return err
					}
					if err := a.Store.UpdateTenantSettings(ctx, t); err != nil {
						return err
					}
					fmt.Fprintf(io.out, "tenant %s updated\n", t.Slug)
					return nil
				})
			}
		}}
}

// withApp opens the app (database, secret key) for a one-shot command.
func withApp(ctx context.Context, io *stdio, fn func(a *app.App) error) error {
	cfg, log, err := loadConfig(io)
	if err != nil {
		return err
	}
	a, err := app.Open(ctx, cfg, log, app.OpenOptions{})
	if err != nil {
		return err
	}
	defer a.Close()
	return fn(a)
}
