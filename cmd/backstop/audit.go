package main

import (
	"context"
	"flag"
	"fmt"
	"net/url"

	"backstop/internal/app"
	"backstop/internal/audit"
	"backstop/internal/derrors"
)

func auditExportCmd() *command {
	return &command{name: "export", summary: "write a tenant's audit trail to stdout as CSV, oldest first",
		help: `Columns: time (UTC, RFC 3339), tenant, record_id, platform_id, source, source_ref,
transaction_source, transaction_id, action, category, actor, from_status,
to_status, details (JSON). Cells a spreadsheet would read as a formula
(starting with = + - @, tab or carriage return) are prefixed with '.
The rows stream from one database cursor: memory stays flat for any size.
`,
		flags: func(fs *flag.FlagSet) func(context.Context, *stdio, []string) error {
			slug := fs.String("tenant", "", "the tenant (required)")
			since := fs.String("since", "", "entries at or after this RFC 3339 time or YYYY-MM-DD day (UTC)")
			until := fs.String("until", "", "entries before this RFC 3339 time, or up to the end of this YYYY-MM-DD day (UTC)")
			var actions, categories multiFlag
			fs.Var(&actions, "action", "only these actions, e.g. confirmed.reconciliation (repeatable or comma-separated)")
			fs.Var(&categories, "category", "only these categories: intake, submission, webhook, stuck, needs_review, missed, drift, review, escalation (repeatable or comma-separated)")
			actor := fs.String("actor", "", "only this actor, e.g. system:reconcile or user:EMAIL")
			rec := fs.String("record", "", "only this record id")
			return func(ctx context.Context, io *stdio, args []string) error {
				f, err := auditFilter(*since, *until, actions, categories, *actor, *rec)
				if err != nil {
					return err
				}
				switch {
				case len(args) > 0:
					return derrors.Invalid("", "unexpected argument %q", args[0])
				case *slug == "":
					return derrors.Invalid("tenant", "required")
				}
				return withApp(ctx, io, func(a *app.App) error {
					t, err := a.Store.TenantBySlug(ctx, *slug)
					if err != nil {
						return fmt.Errorf("tenant %q: %w", *slug, err)
					}
					n, err := audit.Export(ctx, io.out, a.Store, t.ID, f)
					if err != nil {
						return err
					}
					fmt.Fprintf(io.err, "%d audit entries exported\n", n)
					return nil
				})
			}
		}}
}

// auditFilter builds and validates the filter from the flags, through the
// parser the web handlers use.
func auditFilter(since, until string, actions, categories []string, actor, rec string) (audit.Filter, error) {
	v := url.Values{"action": actions, "category": categories}
	for k, x := range map[string]string{"since": since, "until": until, "actor": actor, "record": rec} {
		if x != "" {
			v.Set(k, x)
		}
	}
	return audit.ParseFilter(v)
}
