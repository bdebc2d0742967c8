package report

import (
	"strings"
	"testing"
	"time"

	"backstop/internal/store"
	"backstop/internal/tenant"
)

// The rules, at and around every threshold, on fixed facts and a fixed
// history of stored reports.

var day = time.Date(2026, 11, 10, 0, 0, 0, 0, time.UTC)

func testTenant(thresholds string) *tenant.Tenant {
	return &tenant.Tenant{Slug: "acme", StuckAfterS: 86400, DriftEscalateRecords: 50, Thresholds: []byte(thresholds)}
}

// hist builds a history in which metric name had values on the days
// before day: values[0] yesterday, values[1] the day before, …; a negative
// value leaves that day without a report.
func hist(name string, values ...int64) history {
	h := history{}
	for i, v := range values {
		if v < 0 {
			continue
		}
		d := day.AddDate(0, 0, -(i + 1)).Format(time.DateOnly)
		h[d] = &stored{Metrics: []Metric{{Name: name, Value: v, Verdict: Healthy}}}
	}
	return h
}

func metricOf(t *testing.T, ms []Metric, name string) Metric {
	t.Helper()
	for _, m := range ms {
		if m.Name == name {
			return m
		}
	}
	t.Fatalf("no metric %s", name)
	return Metric{}
}

func ptr[T any](v T) *T { return &v }

func check(t *testing.T, m Metric, value int64, want Verdict) {
	t.Helper()
	if m.Value != value || m.Verdict != want {
		t.Errorf("%s: got %d %s (%s), want %d %s", m.Name, m.Value, m.Verdict, m.Reason, value, want)
	}
}

func TestPendingRule(t *testing.T) {
	t.Parallel()
	asOf := day.Add(12 * time.Hour)
	for _, tc := range []struct {
		name       string
		thresholds string
		n          int
		wait       time.Duration
		want       Verdict
	}{
		{"nothing pending", "", 0, 0, Healthy},
		{"oldest 1h59m59s", "", 3, 2*time.Hour - time.Second, Healthy},
		{"oldest exactly 2h", "", 3, 2 * time.Hour, Investigate},
		{"oldest 2h1s", "", 1, 2*time.Hour + time.Second, Investigate},
		{"30 minutes, threshold 30", `{"pending_age_minutes": 30}`, 1, 30 * time.Minute, Investigate},
		{"29m59s, threshold 30", `{"pending_age_minutes": 30}`, 1, 30*time.Minute - time.Second, Healthy},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := facts{day: day, asOf: asOf, state: store.QueueState{Pending: tc.n}, conf: store.Confirmations{}}
			if tc.n > 0 {
				f.state.PendingSince = ptr(asOf.Add(-tc.wait))
			}
			ms := evaluate(testTenant(tc.thresholds), f, history{})
			check(t, metricOf(t, ms, Pending), int64(tc.n), tc.want)
			check(t, metricOf(t, ms, PendingAge), int64(tc.wait/time.Second), tc.want)
		})
	}
}

func TestSubmittedPersistentRule(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		thresholds string
		today      int
		h          history
		want       Verdict
	}{
		{"0 today", "", 0, hist(SubmittedStuck, 5), Healthy},
		{"above 0 today and yesterday", "", 1, hist(SubmittedStuck, 1), Investigate},
		{"above 0 today, 0 yesterday", "", 4, hist(SubmittedStuck, 0), Healthy},
		{"above 0 today, no report yesterday", "", 4, hist(SubmittedStuck, -1, 3), Healthy},
		{"3 days wanted, 2 above 0", `{"submitted_days": 3}`, 2, hist(SubmittedStuck, 2, 0), Healthy},
		{"3 days wanted, 3 above 0", `{"submitted_days": 3}`, 2, hist(SubmittedStuck, 2, 1), Investigate},
		{"1 day: any count", `{"submitted_days": 1}`, 1, history{}, Investigate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := facts{day: day, asOf: day.Add(time.Hour), state: store.QueueState{SubmittedStuck: tc.today}}
			check(t, metricOf(t, evaluate(testTenant(tc.thresholds), f, tc.h), SubmittedStuck), int64(tc.today), tc.want)
		})
	}
}

func TestGrowthRules(t *testing.T) {
	t.Parallel()
	for _, name := range []string{NeedsReview, Conflict} {
		for _, tc := range []struct {
			desc       string
			thresholds string
			today      int
			prev       []int64 // yesterday first
			want       Verdict
		}{
			{"rose 3 days: 1 2 3 4", "", 4, []int64{3, 2, 1}, Investigate},
			{"rose 2 days, then no report", "", 4, []int64{3, 2, -1}, Healthy},
			{"flat day breaks it: 2 2 3 4", "", 4, []int64{3, 2, 2}, Healthy},
			{"flat today: 1 2 3 3", "", 3, []int64{3, 2, 1}, Healthy},
			{"fell before: 5 2 3 4", "", 4, []int64{3, 2, 5}, Healthy},
			{"rose 2 days with 2 wanted", `{"needs_review_growth_days": 2, "conflict_growth_days": 2}`, 4, []int64{3, 2}, Investigate},
			{"rose 3 days with 4 wanted", `{"needs_review_growth_days": 4, "conflict_growth_days": 4}`, 4, []int64{3, 2, 1, 1}, Healthy},
		} {
			t.Run(name+"/"+tc.desc, func(t *testing.T) {
				st := store.QueueState{NeedsReview: tc.today, Conflict: tc.today}
				f := facts{day: day, asOf: day.Add(time.Hour), state: st}
				check(t, metricOf(t, evaluate(testTenant(tc.thresholds), f, hist(name, tc.prev...)), name), int64(tc.today), tc.want)
			})
		}
	}
}

func TestFailedRule(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		thresholds string
		n          int
		want       Verdict
	}{
		{"", 0, Healthy}, {"", 1, Investigate}, {`{"failed_max": 2}`, 2, Healthy}, {`{"failed_max": 2}`, 3, Investigate},
	} {
		m := FailedMetric(tc.n, testTenant(tc.thresholds).ReportThresholds())
		check(t, m, int64(tc.n), tc.want)
	}
}

func TestLatencyRule(t *testing.T) {
	t.Parallel()
	const base = 3600 // an hour on each of the seven baseline days
	baseline := []int64{base, base, base, base, base, base, base}
	for _, tc := range []struct {
		name       string
		thresholds string
		today      *int64
		prev       []int64 // yesterday, the day before, then the baseline days
		want       Verdict
	}{
		{"nothing confirmed", "", nil, append([]int64{9999, 9999}, baseline...), NoData},
		{"exactly 10% above on 3 days", "", ptr[int64](3960), append([]int64{3960, 3960}, baseline...), Investigate},
		{"one day just under 10%", "", ptr[int64](3960), append([]int64{3959, 3960}, baseline...), Healthy},
		{"today just under 10%", "", ptr[int64](3959), append([]int64{7200, 7200}, baseline...), Healthy},
		{"a step that stays up", "", ptr[int64](7200), append([]int64{7200, 7200}, baseline...), Investigate},
		{"up 2 days only", "", ptr[int64](7200), append([]int64{7200, base}, baseline...), Healthy},
		{"a day without confirmations in the window", "", ptr[int64](7200), append([]int64{7200, -1}, baseline...), Healthy},
		{"no baseline", "", ptr[int64](7200), []int64{7200, 7200}, Healthy},
		{"one baseline day is enough", "", ptr[int64](7200), []int64{7200, 7200, base}, Investigate},
		{"baseline median, not mean", "", ptr[int64](4000), []int64{4000, 4000, base, base, base, base, 100000, 100000, 100000}, Investigate},
		{"1 day, 50%", `{"latency_increase_days": 1, "latency_increase_pct": 50}`, ptr[int64](5400), baseline, Investigate},
		{"1 day, 50%, just under", `{"latency_increase_days": 1, "latency_increase_pct": 50}`, ptr[int64](5399), baseline, Healthy},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := history{}
			for i, v := range tc.prev {
				if v < 0 {
					continue
				}
				d := day.AddDate(0, 0, -(i + 1)).Format(time.DateOnly)
				h[d] = &stored{Metrics: []Metric{{Name: LatencyP50, Value: v, Verdict: Healthy}, {Name: LatencyP99, Value: v, Verdict: Healthy}}}
			}
			conf := store.Confirmations{Confirmed: 10, P50: tc.today, P95: tc.today, P99: tc.today}
			if tc.today == nil {
				conf.Confirmed = 0
			}
			f := facts{day: day, asOf: day.Add(time.Hour), conf: conf}
			ms := evaluate(testTenant(tc.thresholds), f, h)
			var v int64
			if tc.today != nil {
				v = *tc.today
			}
			check(t, metricOf(t, ms, LatencyP50), v, tc.want)
			check(t, metricOf(t, ms, LatencyP99), v, tc.want)
			// p95 has no history here: never more than healthy.
			if m := metricOf(t, ms, LatencyP95); m.Verdict == Investigate {
				t.Errorf("p95 without history investigates: %s", m.Reason)
			}
		})
	}
}

func TestRecoveredRule(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		thresholds          string
		recovered, syncs    int
		share               int64
		wantCount, wantRate Verdict
	}{
		{"", 0, 0, 0, Healthy, NoData},
		{"", 0, 50, 0, Healthy, Healthy},
		{"", 1, 100, 100, Investigate, Investigate}, // exactly 1%: not "< 1%"
		{"", 1, 101, 99, Healthy, Healthy},          // 0.99%
		{"", 3, 7, 4285, Investigate, Investigate},
		{`{"recovered_share_pct": 0.5}`, 1, 200, 50, Investigate, Investigate},
		{`{"recovered_share_pct": 0.5}`, 1, 201, 49, Healthy, Healthy},
		{`{"recovered_share_pct": 2.25}`, 9, 400, 225, Investigate, Investigate},
		{`{"recovered_share_pct": 2.25}`, 9, 401, 224, Healthy, Healthy},
	} {
		ms := evaluate(testTenant(tc.thresholds), facts{day: day, asOf: day.Add(time.Hour),
			conf: store.Confirmations{Confirmed: tc.syncs, Recovered: tc.recovered}}, history{})
		check(t, metricOf(t, ms, Recovered), int64(tc.recovered), tc.wantCount)
		check(t, metricOf(t, ms, RecoveredShare), tc.share, tc.wantRate)
	}
}

func TestDriftRule(t *testing.T) {
	t.Parallel()
	tn := testTenant("")
	check(t, DriftMetric(0, 0, tn), 0, NoData)
	check(t, DriftMetric(50, 2, tn), 50, Healthy)
	check(t, DriftMetric(51, 2, tn), 51, Investigate)
}

func TestFormat(t *testing.T) {
	t.Parallel()
	for s, want := range map[int64]string{0: "0s", 45: "45s", 60: "1m", 725: "12m 5s", 7200: "2h", 12000: "3h 20m", 187200: "2d 4h", 86400: "1d"} {
		if got := formatSeconds(s); got != want {
			t.Errorf("formatSeconds(%d) = %q, want %q", s, got, want)
		}
	}
	for bp, want := range map[int64]string{0: "0%", 100: "1%", 153: "1.53%", 50: "0.5%", 10000: "100%"} {
		if got := formatBP(bp); got != want {
			t.Errorf("formatBP(%d) = %q, want %q", bp, got, want)
		}
	}
	if m := metricOf(t, evaluate(testTenant(""), facts{day: day, asOf: day.Add(time.Hour)}, history{}), SubmittedStuck); !strings.Contains(m.Label, "more than 24h") {
		t.Errorf("label %q should name stuck-after", m.Label)
	}
}
