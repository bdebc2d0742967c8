package report

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"backstop/internal/escalate"
	"backstop/internal/store"
	"backstop/internal/tenant"
)

// Metric names: stable keys, stored, in JSON, and in the trend charts.
const (
	Pending        = "pending"
	PendingAge     = "pending_age"
	SubmittedStuck = "submitted_stuck"
	NeedsReview    = "needs_review"
	Failed         = "failed"
	Conflict       = "conflict"
	LatencyP50     = "latency_p50"
	LatencyP95     = "latency_p95"
	LatencyP99     = "latency_p99"
	Recovered      = "recovered"
	RecoveredShare = "recovered_share"
	Drift          = "drift"
)

// Units of Metric.Value.
const (
	UnitRecords     = "records"
	UnitSeconds     = "seconds"
	UnitBasisPoints = "basis_points" // 1/100 of a percent
)

// facts are what a day's metrics are computed from.
type facts struct {
	day, asOf time.Time
	state     store.QueueState
	conf      store.Confirmations
	driftRuns int // drift pass runs started in the day
	driftMax  int // the most records one of them found drifting
}

// history holds the stored reports of the days before the one evaluated,
// by date. A day without a report is absent: rules over several days never
// assume what a missing day would have said.
type history map[string]*stored

func (h history) metric(day time.Time, back int, name string) (Metric, bool) {
	r, ok := h[day.AddDate(0, 0, -back).Format(time.DateOnly)]
	if !ok {
		return Metric{}, false
	}
	for _, m := range r.Metrics {
		if m.Name == name {
			return m, m.Verdict != NoData
		}
	}
	return Metric{}, false
}

// daysNeeded is how many previous days' reports the rules read.
func daysNeeded(th tenant.Thresholds) int {
	return max(th.SubmittedDays-1, th.NeedsReviewGrowthDays, th.ConflictGrowthDays,
		th.LatencyIncreaseDays-1+th.LatencyBaselineDays)
}

// evaluate computes every metric of the spec's table, in its order, with
// its verdict.
func evaluate(t *tenant.Tenant, f facts, h history) []Metric {
	th := t.ReportThresholds()
	ms := pendingMetrics(f, th)
	ms = append(ms, submittedMetric(t, f, th, h),
		growthMetric(NeedsReview, "Records in needs_review", "near 0 with a steady-state customer workflow",
			"matching-quality issue", escalate.NeedsReviewGrowth, f.state.NeedsReview, th.NeedsReviewGrowthDays, f.day, h),
		FailedMetric(f.state.Failed, th),
		growthMetric(Conflict, "Records in conflict", "near 0 with good ownership rules",
			"conflict-resolution issue", escalate.ConflictGrowth, f.state.Conflict, th.ConflictGrowthDays, f.day, h))
	for _, p := range []struct {
		name, label string
		v           *int64
	}{{LatencyP50, "median", f.conf.P50}, {LatencyP95, "95th percentile", f.conf.P95}, {LatencyP99, "99th percentile", f.conf.P99}} {
		ms = append(ms, latencyMetric(p.name, "Latency submitted → confirmed, "+p.label, p.v, th, f.day, h))
	}
	ms = append(ms, recoveredMetrics(f.conf, th)...)
	return append(ms, DriftMetric(f.driftMax, f.driftRuns, t))
}

// pendingMetrics: the spec's "stays > 0 for hours". Both the count and the
// oldest record's wait investigate once the oldest pending record has waited
// PendingAge (default 2h) or more: the count has then been above 0 for at
// least that long without a break, whereas a busy queue whose records each
// drain in minutes is "being drained continuously", however many it holds.
func pendingMetrics(f facts, th tenant.Thresholds) []Metric {
	var age int64
	if f.state.PendingSince != nil {
		age = int64(f.asOf.Sub(*f.state.PendingSince) / time.Second)
	}
	investigate := fmt.Sprintf("stays > 0 for hours: its oldest record waited %s or more", formatSeconds(int64(th.PendingAge/time.Second)))
	verdict, reason := Healthy, "nothing pending"
	if f.state.Pending > 0 {
		reason = fmt.Sprintf("oldest pending since %s (%s)", f.state.PendingSince.UTC().Format(time.RFC3339), formatSeconds(age))
		if age >= int64(th.PendingAge/time.Second) {
			verdict = Investigate
		}
	}
	count := Metric{Name: Pending, Label: "Records in pending", Value: int64(f.state.Pending), Unit: UnitRecords,
		Healthy: "0 — being drained continuously", Investigate: investigate, Verdict: verdict, Reason: reason,
		Escalation: escalate.PendingStale}
	oldest := count
	oldest.Name, oldest.Label, oldest.Value, oldest.Unit = PendingAge, "Oldest pending record's wait", age, UnitSeconds
	oldest.Healthy = "minutes: records are submitted as they arrive"
	return []Metric{count.withDisplay(), oldest.withDisplay()}
}

// submittedMetric: the spec's "persistent > 0". Records submitted longer
// ago than stuck_after (24h) and still unconfirmed investigate when the
// count is above 0 now and in the reports of each of the SubmittedDays−1
// days before (default: today and yesterday). A single day above 0 is the
// stuck pass's backlog between two runs; the same on consecutive days means
// webhooks or Virtuous' batch are not confirming records.
func submittedMetric(t *tenant.Tenant, f facts, th tenant.Thresholds, h history) Metric {
	n := th.SubmittedDays
	window := formatSeconds(int64(t.StuckAfter() / time.Second))
	if t.StuckAfter()%time.Hour == 0 {
		window = fmt.Sprintf("%dh", t.StuckAfter()/time.Hour) // the spec's "24 hours"
	}
	m := Metric{Name: SubmittedStuck, Label: "Records in submitted for more than " + window,
		Value: int64(f.state.SubmittedStuck), Unit: UnitRecords, Healthy: "0 — should be confirmed by then",
		Investigate: fmt.Sprintf("persistent > 0: above 0 in %d consecutive daily reports (webhook or batch issue)", n),
		Verdict:     Healthy, Escalation: escalate.SubmittedPersistent}
	m.Reason = persistence(m.Value, n, f.day, h)
	if m.Reason == "" {
		m.Verdict, m.Reason = Investigate, fmt.Sprintf("above 0 in each of the last %d daily reports", n)
	}
	return m.withDisplay()
}

// persistence returns "" when value and the metric in each of the n−1
// previous days' reports are above 0, else why not.
func persistence(value int64, n int, day time.Time, h history) string {
	if value == 0 {
		return "0 now"
	}
	for back := 1; back < n; back++ {
		prev, ok := h.metric(day, back, SubmittedStuck)
		d := day.AddDate(0, 0, -back).Format(time.DateOnly)
		switch {
		case !ok:
			return fmt.Sprintf("above 0 now; no report for %s", d)
		case prev.Value == 0:
			return fmt.Sprintf("above 0 now, 0 on %s", d)
		}
	}
	return ""
}

// growthMetric: the spec's "growing count". A count investigates when it
// rose on each of the last n days: above the previous day's report, which
// was above the one before it, n times over (default 3: four reports in a
// strictly rising line). An unchanged day ends the growth; so does a day
// without a report.
func growthMetric(name, label, healthy, issue, kind string, value, n int, day time.Time, h history) Metric {
	m := Metric{Name: name, Label: label, Value: int64(value), Unit: UnitRecords, Healthy: healthy,
		Investigate: fmt.Sprintf("growing: rose on each of the last %d days (%s)", n, issue),
		Verdict:     Healthy, Escalation: kind}
	line := []int64{m.Value}
	for back := 1; back <= n && m.Reason == ""; back++ {
		prev, ok := h.metric(day, back, name)
		d := day.AddDate(0, 0, -back).Format(time.DateOnly)
		switch {
		case !ok:
			m.Reason = fmt.Sprintf("no report for %s to compare with", d)
		case line[len(line)-1] <= prev.Value:
			m.Reason = fmt.Sprintf("did not rise after %s (%d)", d, prev.Value)
		default:
			line = append(line, prev.Value)
		}
	}
	if m.Reason == "" {
		slices.Reverse(line)
		m.Verdict, m.Reason = Investigate, "rose every day: "+joinInts(line, " → ")
	}
	return m.withDisplay()
}

// FailedMetric: the spec's "any non-zero count" — failed investigates above
// FailedMax (default 0). The submission worker applies it the moment a
// record fails, so the escalation and the report say the same.
func FailedMetric(failed int, th tenant.Thresholds) Metric {
	m := Metric{Name: Failed, Label: "Records in failed", Value: int64(failed), Unit: UnitRecords,
		Healthy: "0 — each should be investigated", Investigate: "any non-zero count", Verdict: Healthy,
		Escalation: escalate.FailedRecords}
	if th.FailedMax > 0 {
		m.Investigate = fmt.Sprintf("more than %d", th.FailedMax)
	}
	m.Reason = fmt.Sprintf("%d failed", failed)
	if failed > th.FailedMax {
		m.Verdict = Investigate
	}
	return m.withDisplay()
}

// latencyMetric: the spec's "sustained increases". A percentile of the
// day's submitted → confirmed latency investigates when, on each of the
// last LatencyIncreaseDays days (today included; default 3), it is above
// its baseline by LatencyIncreasePct or more (default 10%). The baseline is
// the median (the lower of the middle two) of the percentile over the
// LatencyBaselineDays days (default 7) before those days, skipping days
// without confirmations. A step up that stays up and a steady climb both
// qualify; one slow day does not. A day that confirmed nothing has no
// latency ("no data").
func latencyMetric(name, label string, v *int64, th tenant.Thresholds, day time.Time, h history) Metric {
	n, b, pct := th.LatencyIncreaseDays, th.LatencyBaselineDays, int64(th.LatencyIncreasePct)
	m := Metric{Name: name, Label: label, Unit: UnitSeconds, Healthy: "a few hours typical (batch + webhook)",
		Investigate: fmt.Sprintf("sustained increase: %d%% or more above the median of the %d days before, on each of the last %d days", pct, b, n),
		Verdict:     Healthy, Escalation: escalate.LatencyIncrease}
	if v == nil {
		m.Verdict, m.Reason = NoData, "nothing was confirmed"
		return m.withDisplay()
	}
	m.Value = *v
	var base []int64
	for back := n; back < n+b; back++ {
		if prev, ok := h.metric(day, back, name); ok {
			base = append(base, prev.Value)
		}
	}
	if len(base) == 0 {
		m.Reason = fmt.Sprintf("no baseline yet: no latency in the %d days before the last %d", b, n)
		return m.withDisplay()
	}
	slices.Sort(base)
	baseline := base[(len(base)-1)/2]
	m.Reason = fmt.Sprintf("baseline %s", formatSeconds(baseline))
	for back := range n {
		val, d := m.Value, day.AddDate(0, 0, -back).Format(time.DateOnly)
		if back > 0 {
			prev, ok := h.metric(day, back, name)
			if !ok {
				m.Reason += fmt.Sprintf("; no latency for %s", d)
				return m.withDisplay()
			}
			val = prev.Value
		}
		if val <= baseline || val*100 < baseline*(100+pct) {
			m.Reason += fmt.Sprintf("; %s on %s is less than %d%% above it", formatSeconds(val), d, pct)
			return m.withDisplay()
		}
	}
	m.Verdict = Investigate
	m.Reason += fmt.Sprintf("; %d%% or more above it on each of the last %d days", pct, n)
	return m.withDisplay()
}

// recoveredMetrics: the spec's "small fraction (< 1%) of total syncs;
// spikes indicate webhook delivery issues". The day's syncs are its
// confirmed submissions (by webhook, reconciliation or person); the
// recovered ones were confirmed by a reconciliation pass. Healthy is below
// RecoveredShareBP (default 100 = 1%); a day at or above it is a spike
// above the healthy level, and both the count and the share investigate.
// The comparison is exact (recovered × 10000 ≥ threshold × syncs); the
// shown share is rounded down to a basis point.
func recoveredMetrics(c store.Confirmations, th tenant.Thresholds) []Metric {
	limit := formatBP(int64(th.RecoveredShareBP))
	count := Metric{Name: Recovered, Label: "Recovered by reconciliation", Value: int64(c.Recovered), Unit: UnitRecords,
		Healthy:     fmt.Sprintf("a small fraction (< %s) of the day's syncs", limit),
		Investigate: fmt.Sprintf("spike: %s or more of the day's syncs (webhook delivery issue)", limit),
		Verdict:     Healthy, Escalation: escalate.RecoveredShare}
	share := count
	share.Name, share.Label, share.Unit = RecoveredShare, "Recovered share of the day's syncs", UnitBasisPoints
	if c.Confirmed == 0 {
		count.Reason = "nothing was confirmed"
		share.Verdict, share.Reason = NoData, count.Reason
		return []Metric{count.withDisplay(), share.withDisplay()}
	}
	share.Value = int64(c.Recovered) * 10000 / int64(c.Confirmed)
	count.Reason = fmt.Sprintf("%d of %d syncs", c.Recovered, c.Confirmed)
	share.Reason = count.Reason
	if int64(c.Recovered)*10000 >= int64(th.RecoveredShareBP)*int64(c.Confirmed) {
		count.Verdict, share.Verdict = Investigate, Investigate
	}
	return []Metric{count.withDisplay(), share.withDisplay()}
}

// DriftMetric: the spec's escalation "drift across many records". The
// most records one drift run found drifting investigates above the tenant's
// drift_escalate_records — the same rule the drift pass raises its
// escalation by. A day without a drift run has no data.
func DriftMetric(maxFound, runs int, t *tenant.Tenant) Metric {
	m := Metric{Name: Drift, Label: "Drift: most records in one drift run", Value: int64(maxFound), Unit: UnitRecords,
		Healthy:     "a few records per run",
		Investigate: fmt.Sprintf("more than %d records in one run (drift across many records)", t.DriftEscalateRecords),
		Verdict:     Healthy, Escalation: escalate.DriftSpike, Reason: fmt.Sprintf("drift runs: %d", runs)}
	switch {
	case runs == 0:
		m.Verdict, m.Reason = NoData, "no drift run"
	case maxFound > t.DriftEscalateRecords:
		m.Verdict = Investigate
	}
	return m.withDisplay()
}

// withDisplay fills in the value as people read it.
func (m Metric) withDisplay() Metric {
	switch {
	case m.Verdict == NoData && m.Unit != UnitRecords:
		m.Display = "—"
	case m.Unit == UnitSeconds:
		m.Display = formatSeconds(m.Value)
	case m.Unit == UnitBasisPoints:
		m.Display = formatBP(m.Value)
	default:
		m.Display = fmt.Sprint(m.Value)
	}
	return m
}

// formatSeconds writes a duration in its two largest units: 45s, 12m 5s,
// 3h 20m, 2d 4h.
func formatSeconds(s int64) string {
	units := []struct {
		n    int64
		name string
	}{{86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}}
	for i, u := range units {
		if s >= u.n || u.n == 1 {
			out := fmt.Sprintf("%d%s", s/u.n, u.name)
			if rest := s % u.n; i+1 < len(units) && rest/units[i+1].n > 0 {
				out += fmt.Sprintf(" %d%s", rest/units[i+1].n, units[i+1].name)
			}
			return out
		}
	}
	return "0s"
}

// formatBP writes basis points as a percentage: 100 → 1%, 153 → 1.53%.
func formatBP(bp int64) string {
	out := fmt.Sprintf("%d.%02d", bp/100, bp%100)
	return strings.TrimSuffix(strings.TrimRight(out, "0"), ".") + "%"
}

func joinInts(vs []int64, sep string) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = fmt.Sprint(v)
	}
	return strings.Join(parts, sep)
}

// Threshold is the value, in the metric's Unit, where name turns to
// investigate for t, for the metrics whose rule is a fixed line: the
// oldest pending wait, failed, the recovered share and drift. The others
// compare days with each other (growth, persistence, a latency baseline)
// and have none.
func Threshold(t *tenant.Tenant, name string) (int64, bool) {
	th := t.ReportThresholds()
	switch name {
	case PendingAge:
		return int64(th.PendingAge / time.Second), true
	case Failed:
		return int64(th.FailedMax), true
	case RecoveredShare:
		return int64(th.RecoveredShareBP), true
	case Drift:
		return int64(t.DriftEscalateRecords), true
	}
	return 0, false
}
