package report_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"backstop/internal/audit"
	"backstop/internal/dbtest"
	"backstop/internal/escalate"
	"backstop/internal/record"
	"backstop/internal/report"
	"backstop/internal/store"
	"backstop/internal/tenant"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// fixture writes records through the store as the pipeline would — an
// insert, then transitions with their audit rows — at chosen times.
type fixture struct {
	t   *testing.T
	ctx context.Context
	s   *store.Store
	ten *tenant.Tenant
	n   int
}

func newFixture(t *testing.T) *fixture {
	s := dbtest.Store(t)
	ctx := dbtest.Ctx(t)
	id, err := s.CreateTenant(ctx, &tenant.Tenant{Slug: "acme", Name: "Acme", VirtuousBaseURL: "http://x",
		VirtuousKeyEnc: []byte("k"), WebhookTokenEnc: []byte("w"), IntakeTokenHash: []byte("h")})
	if err != nil {
		t.Fatal(err)
	}
	ten, err := s.TenantByID(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, ctx: ctx, s: s, ten: ten}
}

// record creates a pending gift at created.
func (f *fixture) record(created time.Time) int64 {
	f.t.Helper()
	f.n++
	amount := int64(1000)
	rec := &record.Record{TenantID: f.ten.ID, Kind: record.Gift, PlatformID: fmt.Sprintf("order-%d", f.n), Source: record.Stripe,
		SourceRef: fmt.Sprintf("pi_%d", f.n), ExtSource: "Backstop-Stripe", ExtID: fmt.Sprintf("pi_%d", f.n), Status: record.Pending,
		Payload: json.RawMessage(`{}`), PayloadSHA: []byte{1}, AmountMinor: &amount, CreatedAt: created}
	id, err := f.s.InsertRecord(f.ctx, f.s.DB(), rec)
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.s.AppendAudit(f.ctx, f.s.DB(), &audit.Entry{TenantID: f.ten.ID, RecordID: &id, At: created,
		Actor: audit.ActorPlatform, Action: "intake.created", Category: audit.CatIntake, ToStatus: string(record.Pending)}); err != nil {
		f.t.Fatal(err)
	}
	return id
}

func (f *fixture) move(id int64, from, to record.Status, at time.Time, action string, set store.Columns) {
	f.t.Helper()
	if _, err := f.s.Transition(f.ctx, f.s.DB(), store.Transition{TenantID: f.ten.ID, RecordID: id, From: []record.Status{from}, To: to,
		At: at, Set: set, Audit: audit.Entry{Actor: "test", Action: action}}); err != nil {
		f.t.Fatal(err)
	}
}

// submitted creates a record submitted at sub (created a minute before).
func (f *fixture) submitted(sub time.Time) int64 {
	id := f.record(sub.Add(-time.Minute))
	f.move(id, record.Pending, record.Submitted, sub, "submit.accepted", store.Columns{SubmittedAt: &sub})
	return id
}

// confirmed creates a record submitted at sub and confirmed at at by via.
func (f *fixture) confirmed(sub, at time.Time, via record.ConfirmedVia) int64 {
	id := f.submitted(sub)
	f.move(id, record.Submitted, record.Confirmed, at, "confirmed."+string(via), store.Columns{ConfirmedAt: &at, ConfirmedVia: &via})
	return id
}

func (f *fixture) needsReview(sub, at time.Time) int64 {
	id := f.submitted(sub)
	f.move(id, record.Submitted, record.NeedsReview, at, "reconcile.needs_review", store.Columns{})
	return id
}

func (f *fixture) failed(created, at time.Time) int64 {
	id := f.record(created)
	f.move(id, record.Pending, record.Failed, at, "submit.failed", store.Columns{})
	return id
}

func (f *fixture) conflict(sub, confirmed, at time.Time) int64 {
	id := f.confirmed(sub, confirmed, record.ViaWebhook)
	f.move(id, record.Confirmed, record.Conflict, at, "drift.conflict", store.Columns{})
	return id
}

func (f *fixture) run(pass string, at time.Time, driftFound int) {
	f.t.Helper()
	r, err := f.s.StartRun(f.ctx, f.ten.ID, pass, "test", "", at)
	if err != nil {
		f.t.Fatal(err)
	}
	fin := at.Add(time.Minute)
	r.FinishedAt, r.Status, r.DriftFound, r.APICalls = &fin, "ok", driftFound, 4
	if err := f.s.FinishRun(f.ctx, r); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) generator() *report.Generator {
	return &report.Generator{Store: f.s, Escalate: &escalate.Raiser{Store: f.s}, Now: func() time.Time { return time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC) }}
}

func (f *fixture) generate(day, asOf time.Time) *report.Report {
	f.t.Helper()
	r, err := f.generator().Generate(f.ctx, f.ten, day, asOf)
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

func (f *fixture) storedMetrics(day time.Time) string {
	f.t.Helper()
	var b string
	if err := f.s.DB().Get(&b, `SELECT metrics::text FROM daily_reports WHERE tenant_id = $1 AND day = $2::date`, f.ten.ID, day.Format(time.DateOnly)); err != nil {
		f.t.Fatal(err)
	}
	return b
}

func (f *fixture) escalationKinds(day time.Time) []string {
	f.t.Helper()
	es, err := f.s.Escalations(f.ctx, f.ten.ID, day, day)
	if err != nil {
		f.t.Fatal(err)
	}
	var kinds []string
	for _, e := range es {
		kinds = append(kinds, e.Kind)
	}
	sort.Strings(kinds)
	return kinds
}

var (
	d0 = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	h  = time.Hour
)

type want struct {
	value   int64
	verdict report.Verdict
}

func expect(t *testing.T, r *report.Report, wants map[string]want) {
	t.Helper()
	for name, w := range wants {
		m, ok := r.Metric(name)
		if !ok {
			t.Errorf("no metric %s", name)
			continue
		}
		if m.Value != w.value || m.Verdict != w.verdict {
			t.Errorf("%s: got %d (%s) %s — %s; want %d %s", name, m.Value, m.Display, m.Verdict, m.Reason, w.value, w.verdict)
		}
	}
}

// One day of fixed data, every metric computed by hand. The report is as
// of 12:00 on day d0.
func TestGenerateFixedDay(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	asOf := d0.Add(12 * h)
	// Pending: created 10:00:01, 11:00, 11:30; the oldest has waited
	// 1h59m59s at noon — one second short of the 2h threshold.
	f.record(d0.Add(10*h + time.Second))
	f.record(d0.Add(11 * h))
	f.record(d0.Add(11*h + 30*time.Minute))
	// Submitted: 25h and exactly 24h before noon count as stuck; 23h59m59s
	// does not. Submitted records never say investigate without yesterday's report.
	f.submitted(asOf.Add(-25 * h))
	f.submitted(asOf.Add(-24 * h))
	f.submitted(asOf.Add(-24*h + time.Second))
	for range 4 { // needs_review
		f.needsReview(d0.Add(-96*h), d0.Add(-20*h))
	}
	f.failed(d0.Add(7*h), d0.Add(8*h))
	f.conflict(d0.Add(-72*h), d0.Add(-48*h), d0.Add(-30*h))
	f.conflict(d0.Add(-72*h), d0.Add(-48*h), d0.Add(-30*h))
	// 20 confirmations at 11:00 with latencies 1h…20h; the 20h one was
	// recovered by reconciliation. Nearest rank: p50 = 10h, p95 = 19h, p99 = 20h.
	for k := 1; k <= 20; k++ {
		via := record.ViaWebhook
		if k == 20 {
			via = record.ViaReconciliation
		}
		f.confirmed(d0.Add(11*h-time.Duration(k)*h), d0.Add(11*h), via)
	}
	// Not the day's: confirmed at noon (the instant reported, not before it),
	// the second before midnight, and a conflict decided back to confirmed.
	f.confirmed(d0.Add(-2*h), asOf, record.ViaReconciliation)
	f.confirmed(d0.Add(-10*h), d0.Add(-time.Second), record.ViaReconciliation)
	c := f.conflict(d0.Add(-72*h), d0.Add(-48*h), d0.Add(-30*h))
	f.move(c, record.Conflict, record.Confirmed, d0.Add(9*h), "conflict.resolved", store.Columns{})
	// Drift: runs found 3 and 50 (the threshold is more than 50); one run
	// after noon is not yet reported.
	f.run("drift", d0.Add(1*h), 3)
	f.run("drift", d0.Add(6*h), 50)
	f.run("drift", d0.Add(13*h), 99)
	f.run("missed", d0.Add(2*h), 0)
	if err := f.s.AddAPIUsage(f.ctx, f.ten.ID, d0, 120); err != nil {
		t.Fatal(err)
	}

	r := f.generate(d0, asOf)
	expect(t, r, map[string]want{
		report.Pending:        {3, report.Healthy},
		report.PendingAge:     {2*3600 - 1, report.Healthy},
		report.SubmittedStuck: {2, report.Healthy},
		report.NeedsReview:    {4, report.Healthy},
		report.Failed:         {1, report.Investigate},
		report.Conflict:       {2, report.Healthy},
		report.LatencyP50:     {10 * 3600, report.Healthy},
		report.LatencyP95:     {19 * 3600, report.Healthy},
		report.LatencyP99:     {20 * 3600, report.Healthy},
		report.Recovered:      {1, report.Investigate},
		report.RecoveredShare: {500, report.Investigate},
		report.Drift:          {50, report.Healthy},
	})
	if r.Verdict != report.Investigate || r.Date != "2026-11-02" || !r.AsOf.Equal(asOf) {
		t.Errorf("got %s %s as of %s, want investigate 2026-11-02 as of noon", r.Verdict, r.Date, r.AsOf)
	}
	// Budget: 5000/hour less the 20% reserve, over 24 hours, less 120 calls.
	if r.APICalls != 120 || r.Budget.Allowance != 96000 || r.BudgetLeft != 95880 {
		t.Errorf("got %d calls, allowance %d, left %d; want 120, 96000, 95880", r.APICalls, r.Budget.Allowance, r.BudgetLeft)
	}
	if len(r.Passes) != 4 {
		t.Errorf("got %d passes, want the day's 4", len(r.Passes))
	}
	// Each investigating metric raised its escalation, once.
	if got, want := f.escalationKinds(d0), []string{escalate.FailedRecords, escalate.RecoveredShare}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got escalations %v, want %v", got, want)
	}
	if len(r.Escalations) != 2 || !strings.Contains(r.Escalations[0].Message+r.Escalations[1].Message, "Records in failed: 1") {
		t.Errorf("got report escalations %+v, want the two with the metric's words", r.Escalations)
	}
	var trail int
	f.s.DB().Get(&trail, `SELECT count(*) FROM audit_log WHERE action = 'escalation.raised' AND category = 'escalation'`)
	if trail != 2 {
		t.Errorf("got %d escalation audit rows, want 2", trail)
	}

	// At the thresholds: one more second of pending wait, and the run at
	// 13:00 (51 would be needed; 99 is) once the report reaches it.
	r = f.generate(d0, asOf.Add(time.Second))
	expect(t, r, map[string]want{report.Pending: {3, report.Investigate}, report.PendingAge: {2 * 3600, report.Investigate}})
	r = f.generate(d0, d0.Add(14*h))
	expect(t, r, map[string]want{report.Drift: {99, report.Investigate}})
	if got := f.escalationKinds(d0); len(got) != 4 {
		t.Errorf("got escalations %v, want pending and drift added", got)
	}
}

// Regenerated, a report stores the same bytes — twice in a row, and for a
// past day after later activity changed every record it counted.
func TestRegenerateIdentical(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	end := d0.AddDate(0, 0, 1)
	p := f.record(d0.Add(20 * h))
	s := f.submitted(d0.Add(-30 * h))
	n := f.needsReview(d0.Add(-80*h), d0.Add(2*h))
	fl := f.failed(d0.Add(3*h), d0.Add(4*h))
	f.confirmed(d0.Add(-3*h), d0.Add(5*h), record.ViaWebhook)
	f.confirmed(d0.Add(-9*h), d0.Add(6*h), record.ViaReconciliation)
	f.conflict(d0.Add(-50*h), d0.Add(-40*h), d0.Add(7*h))

	first := f.generate(d0, end)
	b1 := f.storedMetrics(d0)
	f.generate(d0, end)
	if b2 := f.storedMetrics(d0); b2 != b1 {
		t.Fatalf("regenerated at once, the metrics changed:\n%s\n%s", b1, b2)
	}
	expect(t, first, map[string]want{
		report.Pending: {1, report.Investigate}, report.SubmittedStuck: {1, report.Healthy}, report.NeedsReview: {1, report.Healthy},
		report.Failed: {1, report.Investigate}, report.Conflict: {1, report.Healthy}, report.Recovered: {1, report.Investigate},
	})

	// The next day everything moves on, and new records arrive.
	next := end.Add(2 * h)
	f.move(p, record.Pending, record.Submitted, next, "submit.accepted", store.Columns{SubmittedAt: &next})
	f.move(s, record.Submitted, record.Confirmed, next, "confirmed.reconciliation", store.Columns{})
	f.move(n, record.NeedsReview, record.Confirmed, next, "confirmed.webhook", store.Columns{})
	f.move(fl, record.Failed, record.Pending, next, "intake.resubmitted", store.Columns{})
	f.record(next)
	f.confirmed(next, next.Add(h), record.ViaWebhook)
	f.generate(d0, end)
	if b3 := f.storedMetrics(d0); b3 != b1 {
		t.Errorf("regenerated after later activity, the past day's metrics changed:\n%s\n%s", b1, b3)
	}
	// And the new day sees the new state: the retried record is pending
	// since its retry, not since it was created.
	r := f.generate(end, end.Add(3*h))
	expect(t, r, map[string]want{report.Pending: {2, report.Healthy}, report.PendingAge: {3600, report.Healthy}, report.Failed: {0, report.Healthy}})
}

// The multi-day rules read the previous days' stored reports: needs_review
// rising four days in a row investigates on the fourth, the day submitted
// records stay stuck for a second day investigates, and each day raises
// only its own escalations.
func TestRulesAcrossDays(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.submitted(d0.Add(-26 * h)) // stuck from day 0 on
	var days []*report.Report
	for i := range 4 {
		day := d0.AddDate(0, 0, i)
		for range i + 1 { // 1, 3, 6, 10 in needs_review at the ends of the days
			f.needsReview(day.Add(-80*h), day.Add(10*h))
		}
		days = append(days, f.generate(day, day.AddDate(0, 0, 1)))
	}
	for i, w := range []struct {
		nr, stuck report.Verdict
	}{{report.Healthy, report.Healthy}, {report.Healthy, report.Investigate}, {report.Healthy, report.Investigate}, {report.Investigate, report.Investigate}} {
		nr, _ := days[i].Metric(report.NeedsReview)
		st, _ := days[i].Metric(report.SubmittedStuck)
		if nr.Verdict != w.nr || st.Verdict != w.stuck {
			t.Errorf("day %d: needs_review %d %s (%s), submitted %d %s (%s); want %s, %s", i, nr.Value, nr.Verdict, nr.Reason, st.Value, st.Verdict, st.Reason, w.nr, w.stuck)
		}
	}
	if got := f.escalationKinds(d0.AddDate(0, 0, 3)); fmt.Sprint(got) != fmt.Sprint([]string{escalate.NeedsReviewGrowth, escalate.SubmittedPersistent}) {
		t.Errorf("day 3 escalations %v, want needs-review growth and submitted persistent", got)
	}
	if got := f.escalationKinds(d0); len(got) != 0 {
		t.Errorf("day 0 escalations %v, want none", got)
	}
	// History and Trend, for the charts: four days, and a gap before them.
	hist, err := report.History(f.ctx, f.s, f.ten, d0.AddDate(0, 0, 3), 30)
	if err != nil || len(hist) != 4 {
		t.Fatalf("history: %d reports (%v), want 4", len(hist), err)
	}
	pts := report.Trend(hist, report.NeedsReview, d0.AddDate(0, 0, 3), 6)
	var vals []string
	for _, p := range pts {
		if p.Missing {
			vals = append(vals, "-")
		} else {
			vals = append(vals, fmt.Sprint(p.Value))
		}
	}
	if got := strings.Join(vals, " "); got != "- - 1 3 6 10" {
		t.Errorf("trend %q, want - - 1 3 6 10", got)
	}
}

// The submission worker's failed escalation follows the report's rule and
// threshold, so they never disagree.
func TestFailedEscalationAgreesWithReport(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.ten.Thresholds = json.RawMessage(`{"failed_max": 1}`)
	raiser := &escalate.Raiser{Store: f.s}
	at := d0.Add(8 * h)
	for i, wantEscalated := range []bool{false, true} {
		f.failed(at.Add(-h), at.Add(time.Duration(i)*time.Minute))
		if err := report.CheckFailed(f.ctx, f.s, raiser, f.ten, at.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
		escalated := len(f.escalationKinds(d0)) > 0
		r := f.generator()
		r.Escalate = nil
		rep, err := r.Generate(f.ctx, f.ten, d0, at.Add(time.Duration(i)*time.Minute+time.Second))
		if err != nil {
			t.Fatal(err)
		}
		m, _ := rep.Metric(report.Failed)
		if escalated != wantEscalated || (m.Verdict == report.Investigate) != wantEscalated {
			t.Errorf("%d failed: escalated %v, report %s; want both %v", i+1, escalated, m.Verdict, wantEscalated)
		}
	}
}

func TestGenerateRefusesInstantOutsideDay(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, asOf := range []time.Time{d0, d0.AddDate(0, 0, 1).Add(time.Second), d0.Add(-h)} {
		if _, err := f.generator().Generate(f.ctx, f.ten, d0, asOf); err == nil {
			t.Errorf("as of %s: got no error", asOf)
		}
	}
	var n int
	f.s.DB().Get(&n, `SELECT count(*) FROM daily_reports`)
	if n != 0 {
		t.Errorf("got %d reports stored, want none", n)
	}
}
