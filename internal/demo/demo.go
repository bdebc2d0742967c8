// Package demo runs Backstop on its own, for `make run`: the Virtuous
// simulator in-process on a loopback port, two demo tenants (a food bank
// taking Stripe donations and a theatre selling Eventbrite tickets), their
// users, a platform that keeps sending realistic records through the real
// intake API, "Virtuous users" who edit gifts, fast reconciliation cadences,
// and 30 days of history, so that within a couple of minutes every queue has
// items, passes have run and today's report exists. The real web server and
// workers run (app.All), not a mock-up.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"time"

	"backstop/internal/app"
	"backstop/internal/auth"
	"backstop/internal/derrors"
	"backstop/internal/secret"
	"backstop/internal/tenant"
	"backstop/internal/virtuoussim"
)

// Options tune the demo.
type Options struct {
	// SimAddr is where the simulator listens (default 127.0.0.1:0).
	SimAddr string
	// Every is the platform's pace: one record per tenant about this often
	// (default 2s).
	Every time.Duration
	// Out receives the start-up banner with the sign-in details.
	Out io.Writer
	// Report generates a tenant's daily report for a day; nil skips reports.
	Report func(ctx context.Context, t *tenant.Tenant, day time.Time) error
	// Seed makes the generated data repeatable (0: a new seed each start).
	Seed uint64
}

// demoTenant describes one demo customer.
type demoTenant struct {
	slug, name, apiKey string
	source             string // stripe or eventbrite
	policy             tenant.DriftPolicy
	staff              string
}

var tenants = []demoTenant{
	{slug: "food-bank", name: "Northside Food Bank", apiKey: "demo-key-food-bank", source: "stripe", policy: tenant.PolicyManual, staff: "staff@foodbank.demo"},
	{slug: "theatre", name: "Riverside Theatre", apiKey: "demo-key-theatre", source: "eventbrite", policy: tenant.PolicyOwnership, staff: "staff@theatre.demo"},
}

const engineerEmail = "engineer@backstop.demo"

// Run runs the demo until ctx is done.
func Run(ctx context.Context, a *app.App, o Options) error {
	if o.Every <= 0 {
		o.Every = 2 * time.Second
	}
	if o.SimAddr == "" {
		o.SimAddr = "127.0.0.1:0"
	}
	seed := o.Seed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	rng := rand.New(rand.NewPCG(seed, 42))

	sim := virtuoussim.New(virtuoussim.Options{Seed: int64(seed), BatchEvery: 20 * time.Second, Logger: a.Log.With("component", "virtuous-sim")})
	defer sim.Close()
	for _, d := range tenants {
		sim.AddOrg(d.slug, d.apiKey).SetConfig(virtuoussim.OrgConfig{
			WebhookLossRate: 0.15, WebhookDupRate: 0.05, UnmatchedRate: 0.06,
			InvalidEmailDomain: "example.invalid", WebhookRetries: []time.Duration{2 * time.Second, 10 * time.Second},
		})
	}
	simURL, err := sim.Start(o.SimAddr)
	if err != nil {
		return fmt.Errorf("start the Virtuous simulator: %w", err)
	}
	ts, tokens, err := ensureTenants(ctx, a, simURL)
	if err != nil {
		return err
	}
	passwords, err := resetUsers(ctx, a, ts)
	if err != nil {
		return err
	}
	for _, t := range ts {
		n, err := a.Store.CountRecords(ctx, t.ID)
		if err != nil {
			return err
		}
		if n == 0 {
			a.Log.Info("back-filling 30 days of history", slog.String("tenant", t.Slug))
			if err := backfill(ctx, a, t, rng, o.Report); err != nil {
				return fmt.Errorf("back-fill %s: %w", t.Slug, err)
			}
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ready := make(chan string, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- a.All(ctx, app.WorkOptions{Tick: 5 * time.Second}, func(addr string) { ready <- addr })
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-errc:
		return err
	}
	base := "http://" + addr
	for i, t := range ts {
		hook, err := a.Box.Open(t.WebhookTokenEnc)
		if err != nil {
			return err
		}
		sim.Org(t.Slug).Subscribe(tenant.WebhookURL(base, t.Slug, hook), webhookSecret(t.Slug), "")
		p := &platform{base: base, token: tokens[i], d: tenants[i], rng: rand.New(rand.NewPCG(seed+uint64(i), 7)), log: a.Log}
		go p.run(ctx, o.Every)
		go virtuousUsers(ctx, sim.Org(t.Slug), rand.New(rand.NewPCG(seed+uint64(i), 9)), a.Log)
		if o.Report != nil {
			go refreshReports(ctx, a, t, o.Report)
		}
	}
	banner(o.Out, base, simURL, ts, passwords)
	err = <-errc
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

func webhookSecret(slug string) string { return "demo-webhook-secret-" + slug }

// ensureTenants creates the demo tenants on the first run, and on every run
// points them at this run's simulator, applies the demo's fast cadences and
// rotates their intake tokens (shown once, so the demo makes new ones).
func ensureTenants(ctx context.Context, a *app.App, simURL string) ([]*tenant.Tenant, []string, error) {
	var out []*tenant.Tenant
	var tokens []string
	for _, d := range tenants {
		t, err := a.Store.TenantBySlug(ctx, d.slug)
		if errors.Is(err, derrors.NotFound) {
			n := tenant.NewTenant{Slug: d.slug, Name: d.name, VirtuousBaseURL: simURL, VirtuousKey: d.apiKey, WebhookSecret: webhookSecret(d.slug)}
			nt, _, _ := n.Build(a.Box)
			if _, err := a.Store.CreateTenant(ctx, nt); err != nil {
				return nil, nil, err
			}
			t, err = a.Store.TenantBySlug(ctx, d.slug)
		}
		if err != nil {
			return nil, nil, err
		}
		demoSettings(t, d, simURL)
		if err := a.Store.UpdateTenantSettings(ctx, t); err != nil {
			return nil, nil, err
		}
		token := secret.NewToken("bsi_")
		if err := a.Store.SetIntakeToken(ctx, t.ID, secret.HashToken(token)); err != nil {
			return nil, nil, err
		}
		out, tokens = append(out, t), append(tokens, token)
	}
	return out, tokens, nil
}

// demoSettings compress the spec's hours into minutes, so the whole life of a
// record — stuck, recovered, handed to a person — plays out while you watch.
// They bypass tenant.Apply's bounds on purpose: those hold real tenants to
// the spec's cadences.
func demoSettings(t *tenant.Tenant, d demoTenant, simURL string) {
	t.VirtuousBaseURL = simURL
	t.DriftPolicy = d.policy
	t.StuckAfterS, t.NeedsReviewAfterS, t.LookbackS = 60, 150, 3600
	t.MissedEveryS, t.StuckEveryS, t.DriftEveryS, t.DailyAtHour = 60, 60, 60, 0
	t.AgeAmberS, t.AgeRedS = 120, 600
	t.SubmitMaxAttempts = 3
}

// resetUsers makes sure each demo user exists and gives each a fresh
// password, printed once in the banner.
func resetUsers(ctx context.Context, a *app.App, ts []*tenant.Tenant) (map[string]string, error) {
	out := map[string]string{}
	users := []auth.NewUser{{Email: engineerEmail, Role: auth.Engineer}}
	for i, d := range tenants {
		users = append(users, auth.NewUser{Email: d.staff, Role: auth.Staff, TenantSlug: ts[i].Slug})
	}
	for _, u := range users {
		pw := secret.NewToken("")[:16]
		hash, err := auth.HashPassword(pw)
		if err != nil {
			return nil, err
		}
		existing, err := a.Store.UserByEmail(ctx, u.Email)
		switch {
		case errors.Is(err, derrors.NotFound):
			var tid *int64
			for _, t := range ts {
				if t.Slug == u.TenantSlug {
					tid = &t.ID
				}
			}
			_, err = a.Store.CreateUser(ctx, u.Email, u.Role, tid, hash)
		case err == nil:
			err = a.Store.SetPassword(ctx, existing.ID, hash)
		}
		if err != nil {
			return nil, err
		}
		out[u.Email] = pw
	}
	return out, nil
}

func banner(w io.Writer, base, simURL string, ts []*tenant.Tenant, pw map[string]string) {
	if w == nil {
		return
	}
	fmt.Fprintf(w, "\nBackstop demo is running at %s\n\nSign in (new passwords at every start):\n", base)
	for i, t := range ts {
		fmt.Fprintf(w, "  %-34s %-24s %s\n", "staff of "+t.Name, tenants[i].staff, pw[tenants[i].staff])
	}
	fmt.Fprintf(w, "  %-34s %-24s %s\n", "engineer (every tenant, reports)", engineerEmail, pw[engineerEmail])
	fmt.Fprintf(w, "\nThe platform sends records every few seconds; the simulated Virtuous (%s, control API under /_sim/)\n", simURL)
	fmt.Fprintf(w, "loses some webhooks, leaves some donors unmatched, rejects some emails and lets its users edit gifts.\n")
	fmt.Fprintf(w, "Cadences are minutes, not hours. Press Ctrl-C to stop; `make run` again keeps the data, `make clean-data` starts fresh.\n\n")
}

// refreshReports regenerates today's report every half minute, so the
// report page follows the demo as it runs.
func refreshReports(ctx context.Context, a *app.App, t *tenant.Tenant, report func(context.Context, *tenant.Tenant, time.Time) error) {
	tick := time.NewTicker(30 * time.Second)
	defer tick.Stop()
	for {
		if err := report(ctx, t, a.Now()); err != nil && ctx.Err() == nil {
			a.Log.Warn("demo report", slog.String("tenant", t.Slug), slog.Any("error", err))
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
