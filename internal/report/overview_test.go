package report

import (
	"slices"
	"testing"
	"time"

	"backstop/internal/store"
)

func overviewRow(slug string) *store.TenantOverview {
	return &store.TenantOverview{Slug: slug, Name: slug, StuckAfterS: 86400, MissedEveryS: 6 * 3600, StuckEveryS: 3 * 3600,
		DriftEveryS: 7 * 86400, RateReservePct: 20}
}

// A pass is overdue past twice its cadence (drift's is at most a day, as
// the daily sequence runs it), or when it never ran; a failed last run is
// failing; the budget is the report's, and a window past its reset is full.
func TestHealthPassesAndBudget(t *testing.T) {
	t.Parallel()
	now := day.Add(12 * time.Hour)
	r := overviewRow("acme")
	verdict, limit, remaining, reset := "investigate", 5000, 120, now.Add(-time.Minute)
	r.ReportDay, r.ReportVerdict = &day, &verdict
	r.LimitPerHour, r.Remaining, r.ResetAt, r.CallsToday = &limit, &remaining, &reset, 1000
	runs := map[string]*store.Run{
		"missed": {Pass: "missed", StartedAt: now.Add(-12 * time.Hour), Status: "ok"},                // exactly 2×6h: not yet
		"stuck":  {Pass: "stuck", StartedAt: now.Add(-6*time.Hour - time.Second), Status: "partial"}, // past 2×3h
	}
	h := health(r, runs, day, now)
	if h.Verdict != Investigate || !h.ReportDay.Equal(day) {
		t.Errorf("verdict %q of %v, want today's investigate", h.Verdict, h.ReportDay)
	}
	want := []struct{ overdue, failing bool }{{false, false}, {true, false}, {true, false}}
	for i, p := range h.Passes {
		if p.Pass != Passes[i] || p.Overdue != want[i].overdue || p.Failing != want[i].failing {
			t.Errorf("%s: overdue %v failing %v, want %v %v", p.Pass, p.Overdue, p.Failing, want[i].overdue, want[i].failing)
		}
	}
	if h.Passes[2].Every != 24*time.Hour || h.Passes[2].Last != nil {
		t.Errorf("drift: every %s, last %v; want a day and never", h.Passes[2].Every, h.Passes[2].Last)
	}
	if h.PassProblems() != 2 {
		t.Errorf("got %d pass problems, want 2", h.PassProblems())
	}
	if h.Budget == nil || h.Budget.Allowance != 96000 || h.Budget.Left != 95000 || h.HourLeft != 5000 || h.HourLimit != 5000 {
		t.Errorf("budget %+v, hour %d of %d; want 95000 of 96000 left and a full hour", h.Budget, h.HourLeft, h.HourLimit)
	}
	runs["missed"].Status = "failed"
	if h := health(r, runs, day, now); !h.Passes[0].Failing || h.PassProblems() != 3 {
		t.Errorf("a failed missed run is not failing")
	}
	// Yesterday's report is not today's verdict.
	yesterday := day.AddDate(0, 0, -1)
	r.ReportDay = &yesterday
	if h := health(r, runs, day, now); h.Verdict != "" || !h.ReportDay.Equal(yesterday) {
		t.Errorf("with yesterday's report: verdict %q, day %v", h.Verdict, h.ReportDay)
	}
	// No budget row yet.
	r.LimitPerHour = nil
	if h := health(r, runs, day, now); h.Budget != nil {
		t.Errorf("without a budget row: %+v", h.Budget)
	}
}

// WorstFirst, each key in turn.
func TestWorstFirst(t *testing.T) {
	t.Parallel()
	mk := func(slug string, v Verdict, open, passProblems, failed int) *TenantHealth {
		h := &TenantHealth{Slug: slug, Name: slug, Verdict: v, OpenEscalations: open, Failed: failed}
		for i := range 3 {
			h.Passes = append(h.Passes, PassHealth{Pass: Passes[i], Overdue: i < passProblems})
		}
		return h
	}
	hs := []*TenantHealth{
		mk("healthy-quiet", Healthy, 0, 0, 0),
		mk("healthy-waiting", Healthy, 0, 0, 4),
		mk("healthy-overdue", Healthy, 0, 1, 0),
		mk("healthy-escalated", Healthy, 2, 0, 0),
		mk("no-report", "", 0, 0, 0),
		mk("investigate-b", Investigate, 1, 0, 0),
		mk("investigate-a", Investigate, 1, 0, 0),
		mk("investigate-most", Investigate, 5, 0, 0),
	}
	slices.SortStableFunc(hs, compareHealth)
	var got []string
	for _, h := range hs {
		got = append(got, h.Slug)
	}
	want := []string{"investigate-most", "investigate-a", "investigate-b", "no-report", "healthy-escalated", "healthy-overdue", "healthy-waiting", "healthy-quiet"}
	if !slices.Equal(got, want) {
		t.Errorf("order\n got %v\nwant %v", got, want)
	}
}

// The charts' threshold lines are the rules' own numbers, in the metric's unit.
func TestThreshold(t *testing.T) {
	t.Parallel()
	tn := testTenant(`{"pending_age_minutes": 90, "failed_max": 3, "recovered_share_pct": 2.5}`)
	for name, want := range map[string]int64{PendingAge: 5400, Failed: 3, RecoveredShare: 250, Drift: 50} {
		if got, ok := Threshold(tn, name); !ok || got != want {
			t.Errorf("%s: got %d %v, want %d", name, got, ok, want)
		}
	}
	for _, name := range []string{Pending, SubmittedStuck, NeedsReview, Conflict, LatencyP50, Recovered} {
		if _, ok := Threshold(tn, name); ok {
			t.Errorf("%s has a fixed threshold; its rule compares days", name)
		}
	}
}
