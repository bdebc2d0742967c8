package web_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"backstop/internal/apptest"
	"backstop/internal/audit"
	"backstop/internal/auth"
	"backstop/internal/escalate"
	"backstop/internal/reconcile"
	"backstop/internal/record"
	"backstop/internal/report"
	"backstop/internal/tenant"
)

// reportStart is the clock of the report tests: mid-month, so that the
// days they report on share November.
var reportStart = time.Date(2026, 11, 12, 9, 0, 0, 0, time.UTC)

// report generates and stores t's report of day (as of its end, or now
// for today).
func (d *dash) report(t *tenant.Tenant, day time.Time) *report.Report {
	d.t.Helper()
	asOf := day.AddDate(0, 0, 1)
	if now := d.Clock.Now(); now.Before(asOf) {
		asOf = now
	}
	r, err := d.App.Reports(d.App.AlertJobs()).Generate(context.Background(), t, day, asOf)
	if err != nil {
		d.t.Fatal(err)
	}
	return r
}

// between is the part of body from the element with id to the end of its
// row (or list item): one tenant's row, one escalation.
func between(body, id, end string) string {
	i := strings.Index(body, `id="`+id+`"`)
	if i < 0 {
		return ""
	}
	j := strings.Index(body[i:], end)
	if j < 0 {
		return body[i:]
	}
	return body[i : i+j]
}

// reportDash is acme with three days of reports: two healthy days, then
// today with a failed record (investigate, and its escalation), a missed
// pass run against the simulator, and nothing on the day before them.
func reportDash(t *testing.T) (*dash, time.Time) {
	d := newDash(t, apptest.Options{Start: reportStart})
	today := report.Day(d.Clock.Now())
	d.report(d.Tenant, today.AddDate(0, 0, -2))
	d.report(d.Tenant, today.AddDate(0, 0, -1))
	d.put(seed{n: 1, status: record.Failed, lastError: "virtuous: POST /api/v2/Gift/Transaction: 400: bad email"})
	d.Reconcile(reconcile.Missed)
	d.Clock.Set(d.Clock.Now().Add(time.Minute)) // the report sees what came before it
	d.report(d.Tenant, today)
	return d, today
}

// The calendar: each day of the month with its verdict, linked; days
// without a report say so; bad months are 400.
func TestReportsCalendar(t *testing.T) {
	t.Parallel()
	d, today := reportDash(t)
	b := d.as(engineer)
	resp, body := b.get("/t/acme/reports")
	if resp.StatusCode != 200 {
		t.Fatalf("calendar: %d %s", resp.StatusCode, excerpt(body))
	}
	if got := strings.Count(body, `class="day healthy"`) + strings.Count(body, `class="day today investigate"`); got != 3 {
		t.Errorf("got %d days with a verdict, want 2 healthy and today investigating", got)
	}
	for _, day := range []time.Time{today.AddDate(0, 0, -2), today.AddDate(0, 0, -1), today} {
		if !strings.Contains(body, `href="/t/acme/reports/`+day.Format(time.DateOnly)+`"`) {
			t.Errorf("no link to %s", day.Format(time.DateOnly))
		}
	}
	if strings.Contains(body, `/reports/2026-11-09"`) {
		t.Error("a day without a report is linked")
	}
	// Nov 1–9 have no report; the 13th to the 30th have not happened yet.
	if got := strings.Count(body, "<span class=\"long\">No report</span>"); got != 9 {
		t.Errorf("got %d days marked without a report, want 9", got)
	}
	if !strings.Contains(body, "1 investigate · 2 healthy · 9 without a report") {
		t.Errorf("the month's summary is wrong: %s", excerpt(between(body, "cal-h", "</p>")))
	}
	if strings.Contains(body, `rel="next"`) {
		t.Error("the current month links to the next")
	}
	resp, body = b.get("/t/acme/reports?month=2026-10")
	if resp.StatusCode != 200 || !strings.Contains(body, "October 2026") || !strings.Contains(body, `href="/t/acme/reports?month=2026-11"`) {
		t.Errorf("October: got %d, want its calendar linking forward to November", resp.StatusCode)
	}
	for _, m := range []string{"2026-13", "november", "2026-11-01"} {
		refused(t, b, "/t/acme/reports?month="+url.QueryEscape(m), "is not a month")
	}
}

// refused checks that path answers 400 saying why.
func refused(t *testing.T, b *browser, path, why string) {
	t.Helper()
	if resp, body := b.get(path); resp.StatusCode != 400 || !strings.Contains(body, why) {
		t.Errorf("%s: got %d, want 400 saying %q", path, resp.StatusCode, why)
	}
}

// A day's report: the metrics table, one trend chart per metric with the
// fixed thresholds drawn and bad days red, the passes, the budget, the
// escalations with their acknowledge buttons, and the neighbouring days.
func TestReportDayPage(t *testing.T) {
	t.Parallel()
	d, today := reportDash(t)
	b := d.as(engineer)
	date := today.Format(time.DateOnly)
	resp, body := b.get("/t/acme/reports/" + date)
	if resp.StatusCode != 200 {
		t.Fatalf("report: %d %s", resp.StatusCode, excerpt(body))
	}
	rep, err := report.Load(context.Background(), d.App.Store, d.Tenant, today)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(body, `<tr class="`+string(report.Investigate)+`" id="m-`) + strings.Count(body, `<tr class="`+string(report.Healthy)+`" id="m-`) +
		strings.Count(body, `<tr class="`+string(report.NoData)+`" id="m-`); got != len(rep.Metrics) {
		t.Errorf("got %d metric rows, want %d", got, len(rep.Metrics))
	}
	failed := between(body, "m-"+report.Failed, "</tr>")
	if !strings.Contains(failed, ">1<") || !strings.Contains(failed, "Investigate") || !strings.Contains(failed, "any non-zero count") {
		t.Errorf("the failed row does not say 1, investigate and its rule: %s", failed)
	}
	if got := strings.Count(body, `<figure class="trend">`); got != len(rep.Metrics) {
		t.Errorf("got %d trend charts, want %d", got, len(rep.Metrics))
	}
	// Three days in a row with data draw a line; latency, the recovered
	// share and drift had no data (nothing confirmed, no drift run).
	if got := strings.Count(body, `<polyline class="series"`); got != len(rep.Metrics)-5 {
		t.Errorf("got %d polylines, want %d (every metric with data on the three days)", got, len(rep.Metrics)-5)
	}
	if got := strings.Count(body, `<line class="threshold"`); got != 4 {
		t.Errorf("got %d threshold lines, want 4", got)
	}
	if got := strings.Count(body, `class="dot bad"`); got != 1 {
		t.Errorf("got %d red points, want 1 (failed, today)", got)
	}
	passes := between(body, "passes-h", "</table>")
	if strings.Count(passes, `<tr class="run ok">`) != 1 || !strings.Contains(passes, "Missed webhooks") {
		t.Errorf("the passes table does not show today's missed pass: %s", excerpt(passes))
	}
	if !strings.Contains(body, "of 96,000") {
		t.Error("the budget left is not shown")
	}
	es, _ := d.App.Store.Escalations(context.Background(), d.Tenant.ID, today, today)
	if len(es) != 1 || es[0].Kind != escalate.FailedRecords {
		t.Fatalf("got escalations %v, want today's failed records", es)
	}
	item := between(body, fmt.Sprintf("esc-%d", es[0].ID), "</li>")
	if !strings.Contains(item, fmt.Sprintf(`action="/t/acme/escalations/%d/acknowledge"`, es[0].ID)) || !strings.Contains(item, `name="_csrf"`) {
		t.Errorf("the escalation has no acknowledge form with its token: %s", item)
	}
	if !strings.Contains(body, `href="/t/acme/reports/`+today.AddDate(0, 0, -1).Format(time.DateOnly)+`" rel="prev"`) || strings.Contains(body, `rel="next"`) {
		t.Error("today's report should link to yesterday and not to tomorrow")
	}

	// A past day links both ways and says it is final.
	_, body = b.get("/t/acme/reports/" + today.AddDate(0, 0, -1).Format(time.DateOnly))
	if !strings.Contains(body, `rel="next"`) || !strings.Contains(body, "The whole day, as of its end.") {
		t.Error("yesterday's report is not final or does not link forward")
	}
	// No report: 404 with the command that makes one; bad dates: 400.
	resp, body = b.get("/t/acme/reports/2026-11-05")
	if resp.StatusCode != 404 || !strings.Contains(body, "backstop report --tenant acme --date 2026-11-05") {
		t.Errorf("a day without a report: got %d, want 404 offering the command", resp.StatusCode)
	}
	resp, body = b.get("/t/acme/reports/2026-11-20")
	if resp.StatusCode != 404 || !strings.Contains(body, "has not begun yet") {
		t.Errorf("a future day: got %d, want 404 saying so", resp.StatusCode)
	}
	for _, bad := range []string{"2026-02-30", "yesterday", "2026-11-12T00:00:00Z", "20261112"} {
		refused(t, b, "/t/acme/reports/"+url.PathEscape(bad), "is not a date: use YYYY-MM-DD")
	}
}

// Acknowledging: one POST marks it seen by the engineer with an audit row
// naming them; a second changes nothing and says who was first; another
// tenant's escalation is not found.
func TestAcknowledgeEscalation(t *testing.T) {
	t.Parallel()
	d, today := reportDash(t)
	ctx := context.Background()
	st := d.App.Store
	es, _ := st.Escalations(ctx, d.Tenant.ID, today, today)
	if len(es) != 1 {
		t.Fatalf("got %d escalations, want 1", len(es))
	}
	e := es[0]
	back := "/t/acme/reports/" + today.Format(time.DateOnly)
	path := fmt.Sprintf("/t/acme/escalations/%d/acknowledge", e.ID)
	b := d.as(engineer)
	b.get(back)
	resp, _ := b.post(path, url.Values{"back": {back}})
	if resp.StatusCode != see || resp.Header.Get("Location") != back {
		t.Fatalf("acknowledge: got %d → %s, want 303 back to the report", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, body := b.get(back)
	if !strings.Contains(body, "Acknowledged: Failed records, "+today.Format(time.DateOnly)) || !strings.Contains(body, "Acknowledged by "+engineer) {
		t.Errorf("the report does not show the acknowledgement: %s", excerpt(between(body, fmt.Sprintf("esc-%d", e.ID), "</li>")))
	}
	got, _ := st.EscalationByID(ctx, e.ID)
	if got.AcknowledgedAt == nil || !got.AcknowledgedAt.Equal(d.Clock.Now()) || *got.AcknowledgedBy != audit.ActorUser(engineer) {
		t.Errorf("stored: acknowledged %v by %v", got.AcknowledgedAt, got.AcknowledgedBy)
	}
	auditRows := func() int {
		return d.count(fmt.Sprintf(`audit_log WHERE tenant_id = %d AND action = 'escalation.acknowledged' AND category = 'escalation'
			AND actor = 'user:%s' AND details->>'escalation_id' = '%d' AND details->>'kind' = 'failed_records'`, d.Tenant.ID, engineer, e.ID))
	}
	if n := auditRows(); n != 1 {
		t.Errorf("got %d audit rows for the acknowledgement, want 1", n)
	}
	// Again, from another engineer's session: nothing changes.
	other := "oz@backstop.example"
	d.pw[other] = addUser(t, st, other, auth.Engineer, nil)
	b2 := d.as(other)
	resp, body = b2.post(path, url.Values{"back": {"/engineering"}})
	if msg := refusalText(t, http.StatusConflict, resp, body); !strings.Contains(msg, "Already acknowledged by "+engineer) {
		t.Errorf("the second acknowledgement does not say who was first: %q", msg)
	}
	if !strings.Contains(body, "<title>Engineering") {
		t.Errorf("the second acknowledgement is not refused on the engineering page it came from: %s", excerpt(body))
	}
	if got, _ := st.EscalationByID(ctx, e.ID); *got.AcknowledgedBy != audit.ActorUser(engineer) || auditRows() != 1 {
		t.Errorf("the second acknowledgement changed it: by %s, %d audit rows", *got.AcknowledgedBy, auditRows())
	}
	// An open escalation of acme, through beta's path: 404, untouched.
	r := &escalate.Raiser{Store: st}
	if err := r.Raise(ctx, d.Tenant.ID, escalate.DriftSpike, d.Clock.Now(), "drift across 60 records", nil); err != nil {
		t.Fatal(err)
	}
	open, _ := st.OpenEscalations(ctx, d.Tenant.ID, 10)
	if len(open) != 1 {
		t.Fatalf("got %d open escalations, want the drift one", len(open))
	}
	for _, p := range []string{fmt.Sprintf("/t/beta/escalations/%d/acknowledge", open[0].ID), "/t/acme/escalations/999999/acknowledge", "/t/acme/escalations/x/acknowledge"} {
		if resp, _ := b.post(p, nil); resp.StatusCode != nf {
			t.Errorf("POST %s: got %d, want 404", p, resp.StatusCode)
		}
	}
	// A back that is not ours goes to the report of the escalation's day.
	resp, _ = b.post(fmt.Sprintf("/t/acme/escalations/%d/acknowledge", open[0].ID), url.Values{"back": {"//evil.example/x"}})
	if loc := resp.Header.Get("Location"); loc != back {
		t.Errorf("back=//evil.example: redirected to %q, want %q", loc, back)
	}
	if n, _ := st.OpenEscalations(ctx, 0, 10); len(n) != 0 {
		t.Errorf("%d escalations still open", len(n))
	}
}

var tenantRowRE = regexp.MustCompile(`<tr class="tenant" id="tenant-([a-z0-9-]+)"`)

// The engineering overview: every tenant, worst first by the stated order,
// with its queues, passes and their age, budget and open escalations.
func TestEngineeringPage(t *testing.T) {
	t.Parallel()
	d, today := reportDash(t)
	ctx := context.Background()
	st := d.App.Store
	d.AddTenant("gamma", "sim-key-gamma", "", nil)
	// acme: a record submitted 30 hours ago and unconfirmed.
	d.put(seed{n: 2, status: record.Submitted, age: 30 * time.Hour})
	// beta: healthy today, one record pending; gamma: no report at all.
	d.put(seed{tenant: d.beta, n: 3})
	d.report(d.beta, today)
	b := d.as(engineer)
	resp, body := b.get("/engineering")
	if resp.StatusCode != 200 {
		t.Fatalf("engineering: %d %s", resp.StatusCode, excerpt(body))
	}
	var order []string
	for _, m := range tenantRowRE.FindAllStringSubmatch(body, -1) {
		order = append(order, m[1])
	}
	if strings.Join(order, ",") != "acme,gamma,beta" {
		t.Errorf("order %v, want acme (investigate), gamma (no report), beta (healthy)", order)
	}
	if !strings.Contains(body, html.EscapeString(report.WorstFirst)) {
		t.Error("the page does not say how it sorts")
	}
	acme, beta, g := between(body, "tenant-acme", "</tr>"), between(body, "tenant-beta", "</tr>"), between(body, "tenant-gamma", "</tr>")
	for _, want := range []string{`<strong>1</strong> failed`, `<strong>1</strong> submitted &gt; 24 hours`, `<strong>0</strong> pending`,
		`href="/t/acme/reports/2026-11-12"`, "Investigate", "of 96,000 today", `<span class="badge red">1</span>`, "1 minute ago"} {
		if !strings.Contains(acme, want) {
			t.Errorf("acme's row lacks %q", want)
		}
	}
	// acme's stuck and drift passes never ran: overdue.
	if n := strings.Count(acme, "never ran"); n != 2 {
		t.Errorf("acme's row shows %d passes that never ran, want 2 (stuck, drift)", n)
	}
	for _, want := range []string{`<strong>1</strong> pending`, "Healthy", "of 96,000 today", `<span class="muted">0</span>`} {
		if !strings.Contains(beta, want) {
			t.Errorf("beta's row lacks %q", want)
		}
	}
	if !strings.Contains(g, "No report yet") || strings.Contains(g, "latest") {
		t.Errorf("gamma's row: %s", g)
	}
	// Open escalations: acme's, with a form that returns here.
	es, _ := st.OpenEscalations(ctx, 0, 10)
	if len(es) != 1 {
		t.Fatalf("got %d open escalations, want 1", len(es))
	}
	item := between(body, fmt.Sprintf("esc-%d", es[0].ID), "</li>")
	if !strings.Contains(item, `name="back" value="/engineering"`) || !strings.Contains(item, "Acme") {
		t.Errorf("the open escalation is not listed with its tenant and a form back here: %s", item)
	}
	// A day later without passes, acme's missed pass is overdue (every 6h).
	d.Clock.Set(d.Clock.Now().Add(13 * time.Hour))
	_, body = b.get("/engineering")
	if acme := between(body, "tenant-acme", "</tr>"); !strings.Contains(acme, "overdue: runs every 6 hours") {
		t.Errorf("after 13 hours the missed pass is not overdue: %s", excerpt(acme))
	}
}

// The overview reads the same few statements however many tenants there
// are; here its figures agree with what each tenant's own queries say.
func TestOverviewAgreesWithQueueCounts(t *testing.T) {
	t.Parallel()
	d := newDash(t, apptest.Options{Start: reportStart})
	for n, st := range []record.Status{record.NeedsReview, record.NeedsReview, record.Conflict, record.Failed, record.Pending} {
		s := seed{n: n + 1, status: st, age: 80 * time.Hour}
		if st == record.Conflict {
			s.virtuousID = int64(n + 1)
			s.diffs = []record.Diff{{Field: record.FieldAmount, Platform: "25.00", Virtuous: "26.00"}}
		}
		d.put(s)
	}
	hs, err := report.Overview(context.Background(), d.App.Store, d.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	counts, err := d.App.Store.QueueCounts(context.Background(), []int64{d.Tenant.ID, d.beta.ID})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hs {
		id := map[string]int64{"acme": d.Tenant.ID, "beta": d.beta.ID}[h.Slug]
		c := counts[id]
		if h.NeedsReview != c[record.NeedsReview] || h.Conflict != c[record.Conflict] || h.Failed != c[record.Failed] {
			t.Errorf("%s: overview %d/%d/%d, queue counts %v", h.Slug, h.NeedsReview, h.Conflict, h.Failed, c)
		}
	}
	if hs[0].Slug != "acme" || hs[0].Pending != 1 || hs[0].Waiting() != 4 {
		t.Errorf("first %s with %d pending, %d waiting; want acme, 1, 4", hs[0].Slug, hs[0].Pending, hs[0].Waiting())
	}
}
