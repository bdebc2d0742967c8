package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

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

// auditFilter builds and validates the filter from the flags.
func auditFilter(since, until string, actions, categories []string, actor, rec string) (audit.Filter, error) {
	var f audit.Filter
	var err error
	if f.Since, err = parseInstant("since", since, false); err != nil {
		return f, err
	}
	if f.Until, err = parseInstant("until", until, true); err != nil {
		return f, err
	}
	f.Actions, f.Categories, f.Actor = splitList(actions), splitList(categories), strings.TrimSpace(actor)
	if rec != "" {
		if f.RecordID, err = strconv.ParseInt(rec, 10, 64); err != nil || f.RecordID <= 0 {
			return f, derrors.Invalid("record", "%q is not a record id", rec)
		}
	}
	return f, f.Validate()
}

// parseInstant reads an RFC 3339 time or a YYYY-MM-DD day: its start, or
// with endOfDay the next day's start (an exclusive bound that takes the
// whole day in). Empty is the zero time.
func parseInstant(field, v string, endOfDay bool) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if d, err := time.Parse(time.DateOnly, v); err == nil {
		if endOfDay {
			d = d.AddDate(0, 0, 1)
		}
		return d, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, derrors.Invalid(field, "%q is not an RFC 3339 time or a YYYY-MM-DD day", v)
	}
	return t.UTC(), nil
}

// splitList flattens repeated and comma-separated values.
func splitList(vs []string) []string {
	var out []string
	for _, v := range vs {
		for _, p := range strings.Split(v, ",") {
			out = append(out, strings.TrimSpace(p))
		}
	}
	return out
}
