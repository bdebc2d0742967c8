package report

import (
	"cmp"
	"context"
	"slices"
	"time"

	"backstop/internal/store"
)

// TenantHealth is one tenant on the engineering overview: today's verdict,
// its queues, the last run of each pass and how old it is, its API budget
// and its open escalations.
type TenantHealth struct {
	Slug, Name string
	// ReportDay is the latest stored report's day on or before today, nil
	// when there is none; Verdict is today's ("" when today has no report
	// yet, even if an older one exists).
	ReportDay *time.Time
	Verdict   Verdict
	// Queue counts, each stopping at store.QueueCountCap+1.
	NeedsReview, Conflict, Failed, Pending int
	// SubmittedStuck counts records submitted more than StuckAfter ago.
	SubmittedStuck int
	StuckAfter     time.Duration
	Passes         []PassHealth
	// Budget is today's (nil before the tenant's first API call);
	// HourLeft and HourLimit are the current hourly window's.
	Budget              *Budget
	HourLeft, HourLimit int
	OpenEscalations     int
}

// PassHealth is the last run of one pass.
type PassHealth struct {
	Pass string
	// Every is the pass's cadence for this tenant.
	Every time.Duration
	Last  *store.Run // nil: never ran
	// Age is how long ago Last started.
	Age time.Duration
	// Overdue: never ran, or the last run started more than twice Every
	// ago — at least one scheduled run is missing.
	Overdue bool
	// Failing: the last run failed.
	Failing bool
}

// Passes are the reconciliation passes the overview follows, in the order
// the daily sequence runs them.
var Passes = []string{"missed", "stuck", "drift"}

// WorstFirst says how Overview orders tenants, for the page to state.
const WorstFirst = "Worst first: today's verdict (investigate, then no report yet, then healthy), " +
	"then the most open escalations, then the most passes overdue (not run for more than twice their cadence) or failing, " +
	"then the most records waiting (failed, conflict, needs review, submitted past stuck_after); ties by name."

// Overview returns every tenant's health as of now, sorted WorstFirst.
// It reads the store twice, however many tenants there are.
func Overview(ctx context.Context, s *store.Store, now time.Time) ([]*TenantHealth, error) {
	today := Day(now)
	rows, err := s.TenantOverviews(ctx, today, now)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.TenantID
	}
	runs, err := s.LastRuns(ctx, ids, Passes)
	if err != nil {
		return nil, err
	}
	out := make([]*TenantHealth, len(rows))
	for i, r := range rows {
		out[i] = health(r, runs[r.TenantID], today, now)
	}
	slices.SortStableFunc(out, compareHealth)
	return out, nil
}

func health(r *store.TenantOverview, runs map[string]*store.Run, today, now time.Time) *TenantHealth {
	h := &TenantHealth{Slug: r.Slug, Name: r.Name, NeedsReview: r.NeedsReview, Conflict: r.Conflict, Failed: r.Failed,
		Pending: r.Pending, SubmittedStuck: r.SubmittedStuck, StuckAfter: seconds(r.StuckAfterS), OpenEscalations: r.OpenEscalations}
	if r.ReportDay != nil {
		d := Day(*r.ReportDay)
		h.ReportDay = &d
		if d.Equal(today) && r.ReportVerdict != nil {
			h.Verdict = Verdict(*r.ReportVerdict)
		}
	}
	// Drift runs daily in the daily sequence, and on its own when
	// drift_every is shorter.
	every := map[string]time.Duration{"missed": seconds(r.MissedEveryS), "stuck": seconds(r.StuckEveryS),
		"drift": min(seconds(r.DriftEveryS), 24*time.Hour)}
	for _, p := range Passes {
		ph := PassHealth{Pass: p, Every: every[p], Last: runs[p], Overdue: true}
		if ph.Last != nil {
			ph.Age = now.Sub(ph.Last.StartedAt)
			ph.Overdue = ph.Age > 2*ph.Every
			ph.Failing = ph.Last.Status == "failed"
		}
		h.Passes = append(h.Passes, ph)
	}
	if r.LimitPerHour != nil {
		b := BudgetOf(*r.LimitPerHour, r.RateReservePct, r.CallsToday)
		h.Budget = &b
		h.HourLimit, h.HourLeft = *r.LimitPerHour, *r.Remaining
		if !r.ResetAt.After(now) { // the window has ended: it is full again
			h.HourLeft = *r.LimitPerHour
		}
	}
	return h
}

// BudgetOf is a day's budget: Backstop's share of 24 hourly windows of
// limitPerHour (less the reserve kept for the customer's other
// integrations) and what calls left of it.
func BudgetOf(limitPerHour, reservePct, calls int) Budget {
	allowance := limitPerHour * 24 * (100 - reservePct) / 100
	return Budget{LimitPerHour: limitPerHour, ReservePct: reservePct, Allowance: allowance, Left: max(0, allowance-calls)}
}

// verdictRank orders today's verdicts, worst highest.
func (h *TenantHealth) verdictRank() int {
	switch h.Verdict {
	case Investigate:
		return 2
	case Healthy:
		return 0
	}
	return 1 // no report today yet
}

// PassProblems counts the passes overdue or failing.
func (h *TenantHealth) PassProblems() int {
	n := 0
	for _, p := range h.Passes {
		if p.Overdue || p.Failing {
			n++
		}
	}
	return n
}

// Waiting counts the records someone has to look at.
func (h *TenantHealth) Waiting() int {
	return h.Failed + h.Conflict + h.NeedsReview + h.SubmittedStuck
}

// compareHealth sorts WorstFirst.
func compareHealth(a, b *TenantHealth) int {
	return cmp.Or(
		cmp.Compare(b.verdictRank(), a.verdictRank()),
		cmp.Compare(b.OpenEscalations, a.OpenEscalations),
		cmp.Compare(b.PassProblems(), a.PassProblems()),
		cmp.Compare(b.Waiting(), a.Waiting()),
		cmp.Compare(a.Name, b.Name),
		cmp.Compare(a.Slug, b.Slug),
	)
}

func seconds(n int) time.Duration { return time.Duration(n) * time.Second }
