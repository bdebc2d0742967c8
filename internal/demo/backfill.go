package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"backstop/internal/app"
	"backstop/internal/audit"
	"backstop/internal/record"
	"backstop/internal/store"
	"backstop/internal/tenant"
)

// Backfill is backfill with its own random source (seed): for tests that
// need a realistic month behind the report pages.
func Backfill(ctx context.Context, a *app.App, t *tenant.Tenant, seed uint64, report func(context.Context, *tenant.Tenant, time.Time) error) error {
	return backfill(ctx, a, t, rand.New(rand.NewPCG(seed, 42)), report)
}

// backfill writes 30 days of history for a new demo tenant — records in
// every state with their audit trail, pass runs and API usage — and then
// generates each day's report, so the trend charts have a month to show.
// The history lives only in Backstop (the simulator starts empty), which is
// why it is made directly through the store rather than through Virtuous.
func backfill(ctx context.Context, a *app.App, t *tenant.Tenant, r *rand.Rand, report func(context.Context, *tenant.Tenant, time.Time) error) error {
	d := demoFor(t.Slug)
	today := a.Now().UTC().Truncate(24 * time.Hour)
	p := &platform{d: d, rng: r}
	for back := 30; back >= 1; back-- {
		day := today.AddDate(0, 0, -back)
		for i := range 18 + r.IntN(14) {
			p.n++
			if err := pastRecord(ctx, a, t, p, day, back, i); err != nil {
				return err
			}
		}
		if err := pastRuns(ctx, a, t, r, day); err != nil {
			return err
		}
	}
	if report == nil {
		return nil
	}
	for back := 30; back >= 1; back-- {
		if err := report(ctx, t, today.AddDate(0, 0, -back).Add(23*time.Hour+59*time.Minute)); err != nil {
			return err
		}
	}
	return nil
}

func demoFor(slug string) demoTenant {
	for _, d := range tenants {
		if d.slug == slug {
			return d
		}
	}
	return tenants[0]
}

// pastRecord makes one record of a past day and walks it through its life.
func pastRecord(ctx context.Context, a *app.App, t *tenant.Tenant, p *platform, day time.Time, back, i int) error {
	r := p.rng
	created := day.Add(time.Duration(8*3600+r.IntN(12*3600)) * time.Second)
	kind, id, body := p.next(created)
	parsed, err := record.ParseIntake(record.Kind(kind), id, body, record.Defaults{TransactionSource: t.TransactionSource})
	if err != nil {
		return err
	}
	rec := &record.Record{TenantID: t.ID, Kind: parsed.Kind, PlatformID: id, Source: parsed.Source, SourceRef: parsed.SourceRef,
		SourceMeta: parsed.SourceMeta, ExtSource: parsed.ExtSource, ExtID: parsed.ExtID, Status: record.Pending,
		Payload: parsed.Payload, PayloadSHA: parsed.PayloadSHA, DonorName: parsed.DonorName, DonorEmail: parsed.DonorEmail,
		AmountMinor: parsed.Amount, Currency: parsed.Currency, GiftDate: parsed.GiftDate, CreatedAt: created}
	rid, err := a.Store.InsertRecord(ctx, a.Store.DB(), rec)
	if err != nil {
		return err
	}
	move := func(from, to record.Status, at time.Time, action, cat, actor string, set store.Columns, details any) error {
		_, err := a.Store.Transition(ctx, a.Store.DB(), store.Transition{TenantID: t.ID, RecordID: rid, From: []record.Status{from}, To: to, At: at,
			Set: set, Audit: audit.Entry{Actor: actor, Action: action, Category: cat, Details: audit.Details(details)}})
		return err
	}
	if _, err := a.Store.AppendAudit(ctx, a.Store.DB(), &audit.Entry{TenantID: t.ID, RecordID: &rid, At: created, Actor: audit.ActorPlatform,
		Action: "intake.created", Category: audit.CatIntake, ToStatus: string(record.Pending)}); err != nil {
		return err
	}
	sub := created.Add(time.Duration(20+r.IntN(90)) * time.Second)
	roll := r.IntN(1000)
	if roll < 20 { // Virtuous refused it: the donor's email
		msg := "400 Bad Request: contact.email is not a valid email address"
		one := 1
		return move(record.Pending, record.Failed, sub, "submit.failed", audit.CatSubmission, audit.ActorSubmit, store.Columns{LastError: &msg, Attempts: &one}, map[string]any{"error": msg})
	}
	one := 1
	if err := move(record.Pending, record.Submitted, sub, "submit.accepted", audit.CatSubmission, audit.ActorSubmit,
		store.Columns{SubmittedAt: &sub, LastSyncAt: &sub, Attempts: &one}, nil); err != nil {
		return err
	}
	vid := int64(500_000 + rid)
	confirm := func(at time.Time, via record.ConfirmedVia, action, cat, actor string, note string) error {
		details := map[string]any{"virtuous_id": vid, "via": via}
		if note != "" {
			details["note"] = note
		}
		return move(record.Submitted, record.Confirmed, at, action, cat, actor, store.Columns{ConfirmedAt: &at, ConfirmedVia: &via, VirtuousID: &vid, LastSyncAt: &at}, details)
	}
	batch := sub.Truncate(24 * time.Hour).Add(24*time.Hour + time.Duration(r.IntN(3600)+1800)*time.Second) // the nightly batch
	switch {
	case roll < 45 && back <= 9: // still waiting for someone in Virtuous' Import tool
		what := "Gift"
		if parsed.Kind == record.Contact {
			what = "Contact"
		}
		reason := "Virtuous has no " + what + " for this transaction 72h after submission: most likely waiting in the Import tool's Match Needed / Update Needed bucket for an admin"
		at := sub.Add(72*time.Hour + time.Duration(r.IntN(3*3600))*time.Second)
		if at.After(time.Now()) {
			at = time.Now().Add(-time.Minute)
		}
		return move(record.Submitted, record.NeedsReview, at, "reconcile.needs_review", audit.CatNeedsReview, audit.ActorReconcile, store.Columns{LastError: &reason}, map[string]any{"reason": reason})
	case roll < 80: // the webhook was lost; a pass found it
		return confirm(batch.Add(26*time.Hour), record.ViaReconciliation, "confirmed.reconciliation", audit.CatStuck, audit.ActorReconcile, "recovered through reconciliation, not the webhook path")
	}
	if err := confirm(batch.Add(time.Duration(r.IntN(600))*time.Second), record.ViaWebhook, "confirmed.webhook", audit.CatWebhook, audit.ActorWebhook, ""); err != nil {
		return err
	}
	if roll < 110 && back <= 6 && kind == "gift" { // someone changed the amount in Virtuous: a conflict to decide
		return pastConflict(ctx, a, t, rid, batch.Add(30*time.Hour))
	}
	return nil
}

func pastConflict(ctx context.Context, a *app.App, t *tenant.Tenant, rid int64, at time.Time) error {
	rec, err := a.Store.Record(ctx, a.Store.DB(), t.ID, rid)
	if err != nil {
		return err
	}
	pv, err := record.PlatformValues(rec.Kind, rec.Payload)
	if err != nil {
		return err
	}
	diffs := []record.Diff{{Field: record.FieldAmount, Platform: pv[record.FieldAmount], Virtuous: record.CanonAmount(*rec.AmountMinor+1000, "USD")}}
	moved, err := a.Store.Transition(ctx, a.Store.DB(), store.Transition{TenantID: t.ID, RecordID: rid, From: []record.Status{record.Confirmed}, To: record.Conflict, At: at,
		Audit: audit.Entry{Actor: audit.ActorReconcile, Action: "drift.conflict", Category: audit.CatDrift, Details: audit.Details(map[string]any{"policy": "manual", "fields": diffs})}})
	if err != nil {
		return err
	}
	b, _ := json.Marshal(diffs)
	return a.Store.InsertConflict(ctx, a.Store.DB(), &store.ConflictRow{TenantID: t.ID, RecordID: rid, CreatedAt: at, Fields: b, RecordVersion: moved.Version})
}

// pastRuns records a day's scheduled passes.
func pastRuns(ctx context.Context, a *app.App, t *tenant.Tenant, r *rand.Rand, day time.Time) error {
	plan := []struct {
		pass  string
		every int
	}{{"missed", 6}, {"stuck", 3}, {"drift", 24}}
	calls := 0
	for _, p := range plan {
		for h := 0; h < 24; h += p.every {
			start := day.Add(time.Duration(h)*time.Hour + time.Duration(r.IntN(300))*time.Second)
			run, err := a.Store.StartRun(ctx, t.ID, p.pass, "schedule", fmt.Sprintf("%s:%s", p.pass, start.Truncate(time.Duration(p.every)*time.Hour).Format(time.RFC3339)), start)
			if err != nil {
				return err
			}
			fin := start.Add(time.Duration(2+r.IntN(40)) * time.Second)
			run.FinishedAt, run.Status = &fin, "ok"
			run.APICalls = 2 + r.IntN(4)
			run.Examined = 10 + r.IntN(60)
			if p.pass == "stuck" {
				run.Recovered = r.IntN(2)
			}
			if p.pass == "drift" {
				run.DriftFound = r.IntN(3)
			}
			calls += run.APICalls
			if err := a.Store.FinishRun(ctx, run); err != nil {
				return err
			}
		}
	}
	return a.Store.AddAPIUsage(ctx, t.ID, day, calls+40+r.IntN(30))
}
