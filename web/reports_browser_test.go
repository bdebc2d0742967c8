package web_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"backstop/internal/apptest"
	"backstop/internal/audit"
	"backstop/internal/browsertest"
	"backstop/internal/demo"
	"backstop/internal/reconcile"
	"backstop/internal/report"
	"backstop/internal/store"
	"backstop/internal/tenant"
)

// The engineers' pages in Debian's Chromium over a month of realistic
// history (the demo's back-fill, its reports generated day by day): the
// engineering overview, a day's report with its SVG trend charts, an
// escalation acknowledged there and gone from the open ones, the audit
// trail filtered, and its CSV downloaded with the same filters. Every page
// is saved as a screenshot, on a desktop and on a phone.
func TestBrowserReports(t *testing.T) {
	if browsertest.Path() == "" {
		t.Skip("Chromium is not installed: apt-get install chromium (Debian) to run the browser tests")
	}
	t.Parallel()
	d := newDash(t, apptest.Options{})
	ctx := context.Background()
	a, st := d.App, d.App.Store
	// acme allows more than the spec's defaults, so that its month mixes
	// healthy and investigate days.
	if err := d.Tenant.Apply(tenant.Patch{Thresholds: map[string]json.RawMessage{"failed_max": json.RawMessage("10"),
		"recovered_share_pct": json.RawMessage("8")}}); err != nil {
		t.Fatal(err)
	}
	if err := st.UpdateTenantSettings(ctx, d.Tenant); err != nil {
		t.Fatal(err)
	}
	for i, tn := range []*tenant.Tenant{d.Tenant, d.beta} {
		if err := demo.Backfill(ctx, a, tn, uint64(i+1), a.DailyReport); err != nil {
			t.Fatal(err)
		}
	}
	// Three days on, so that the month's last records have settled (the
	// back-fill finishes their lives up to three days later) and two days
	// have no report: the scheduler did not run.
	lastFilled := report.Day(d.Clock.Now()).AddDate(0, 0, -1)
	d.Clock.Set(d.Clock.Now().Add(72 * time.Hour))
	// Today: acme's missed pass runs for real against the simulator; beta's
	// passes have not run since yesterday. Both get today's report so far.
	d.Reconcile(reconcile.Missed)
	for _, tn := range []*tenant.Tenant{d.Tenant, d.beta} {
		if err := a.DailyReport(ctx, tn, d.Clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	open, err := st.OpenEscalations(ctx, d.Tenant.ID, 100)
	if err != nil || len(open) == 0 {
		t.Fatalf("acme has %d open escalations (%v): the back-fill should have raised some", len(open), err)
	}
	// The newest escalation raised for a back-filled day, which had passes.
	i := slices.IndexFunc(open, func(e *store.Escalation) bool { return !e.Day.After(lastFilled) })
	if i < 0 {
		t.Fatal("no open escalation of a back-filled day")
	}
	esc := open[i]
	day := esc.Day.Format(time.DateOnly)

	b := browsertest.New(t, d.Web.URL)
	b.SignIn(engineer, d.pw[engineer])

	// The overview: both tenants, worst first, with today's verdicts.
	b.Go("/engineering")
	if n := b.Count("table.eng tbody tr.tenant"); n != 2 {
		t.Errorf("the overview lists %d tenants, want 2", n)
	}
	hs, err := report.Overview(ctx, st, d.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if first := b.Attr("table.eng tbody tr.tenant", "id"); first != "tenant-"+hs[0].Slug {
		t.Errorf("first row is %s, want the worst tenant %s", first, hs[0].Slug)
	}
	openBefore := b.Text("#tenant-acme td.num")
	if openBefore != fmt.Sprint(len(open)) {
		t.Errorf("acme's open escalations read %q, want %d", openBefore, len(open))
	}
	if n := b.Count("ul.esc-list li.esc.open form button"); n != 20 {
		t.Errorf("the overview lists %d open escalations to acknowledge, want the newest 20", n)
	}
	if !strings.Contains(b.Text("#tenant-beta"), "overdue") {
		t.Errorf("beta's passes have not run today, yet its row says %q", b.Text("#tenant-beta"))
	}
	b.Screenshot("engineering")

	// The calendar of the escalation's month, and the day's report.
	b.Go("/t/acme/reports?month=" + day[:7])
	if n := b.Count("table.cal td.day.healthy, table.cal td.day.investigate"); n == 0 {
		t.Error("the calendar shows no day with a verdict")
	}
	b.Screenshot("reports-calendar")
	missing := report.Day(d.Clock.Now()).AddDate(0, 0, -2).Format(time.DateOnly)
	if b.Count(fmt.Sprintf(`table.cal a[href$="/reports/%s"]`, missing)) != 0 || !strings.Contains(b.Text("table.cal"), "No report") {
		t.Errorf("%s has no report, yet the calendar does not say so", missing)
	}
	b.Click(`.cal-head a[rel=prev]`, "table.cal")
	b.WaitText("#cal-h", "October")
	if n := b.Count("table.cal td.day.healthy"); n == 0 || b.Count("table.cal td.day.investigate") == 0 {
		t.Errorf("October shows %d healthy days and %d to investigate, want both", n, b.Count("table.cal td.day.investigate"))
	}
	b.Screenshot("reports-calendar-previous-month")
	b.Go("/t/acme/reports/" + missing)
	b.WaitText("pre.cmd", "backstop report --tenant acme --date "+missing)
	b.Screenshot("report-missing")
	b.Go("/t/acme/reports?month=" + day[:7])
	b.Click(fmt.Sprintf(`table.cal a[href$="/reports/%s"]`, day), "table.metrics")
	if got := b.Path(); got != "/t/acme/reports/"+day {
		t.Errorf("the calendar's day links to %s", got)
	}
	rep, err := report.Load(ctx, st, d.Tenant, esc.Day)
	if err != nil {
		t.Fatal(err)
	}
	if n := b.Count("table.metrics tbody tr"); n != len(rep.Metrics) {
		t.Errorf("the metrics table has %d rows, want %d", n, len(rep.Metrics))
	}
	if n := b.Count("figure.trend svg"); n != len(rep.Metrics) {
		t.Errorf("got %d trend charts, want one per metric (%d)", n, len(rep.Metrics))
	}
	if n := b.Count("figure.trend svg polyline.series"); n < len(rep.Metrics)/2 {
		t.Errorf("got %d polylines over a month of reports, want most charts drawn", n)
	}
	if n := b.Count("figure.trend svg line.threshold"); n != 4 {
		t.Errorf("got %d threshold lines, want 4 (oldest pending, failed, recovered share, drift)", n)
	}
	if n := b.Count("figure.trend circle.dot.bad"); n == 0 {
		t.Error("no red point, though the month had investigate days")
	}
	if n := b.Count("table.passes tbody tr"); n != len(rep.Passes) || n == 0 {
		t.Errorf("the passes table has %d rows, want %d", n, len(rep.Passes))
	}
	b.Screenshot("report-day")

	// Acknowledge the escalation there.
	b.Click(fmt.Sprintf("#esc-%d button[type=submit]", esc.ID), ".flash")
	b.WaitText(".flash", "Acknowledged")
	b.WaitText(fmt.Sprintf("#esc-%d .acked", esc.ID), "Acknowledged by "+engineer)
	b.Screenshot("report-acknowledged")
	after, err := st.EscalationByID(ctx, esc.ID)
	if err != nil || after.AcknowledgedBy == nil || *after.AcknowledgedBy != audit.ActorUser(engineer) {
		t.Errorf("escalation after acknowledging: %+v (%v)", after, err)
	}
	if n := d.count(fmt.Sprintf(`audit_log WHERE action = 'escalation.acknowledged' AND actor = 'user:%s' AND details->>'escalation_id' = '%d'`, engineer, esc.ID)); n != 1 {
		t.Errorf("got %d audit rows for the acknowledgement, want 1 naming the engineer", n)
	}
	b.Go("/engineering")
	if got := b.Text("#tenant-acme td.num"); got != fmt.Sprint(len(open)-1) {
		t.Errorf("after acknowledging, acme's open escalations read %q, want %d", got, len(open)-1)
	}
	if b.Count(fmt.Sprintf("#esc-%d", esc.ID)) != 0 {
		t.Errorf("escalation %d is still listed as open", esc.ID)
	}
	if n := d.count(fmt.Sprintf(`escalations WHERE acknowledged_at IS NULL AND id = %d`, esc.ID)); n != 0 {
		t.Errorf("escalation %d is still open in the database", esc.ID)
	}

	// The audit trail, filtered to stuck-transaction outcomes over ten days.
	until := report.Day(d.Clock.Now()).AddDate(0, 0, -1)
	since := until.AddDate(0, 0, -9)
	var want int
	if err := st.DB().Get(&want, `SELECT count(*) FROM audit_log WHERE tenant_id = $1 AND category = 'stuck' AND at >= $2 AND at < $3`,
		d.Tenant.ID, since, until.AddDate(0, 0, 1)); err != nil || want == 0 {
		t.Fatalf("the back-fill has %d stuck outcomes in the range (%v)", want, err)
	}
	b.Go("/t/acme/audit")
	b.Screenshot("audit")
	b.SetValue("#since", since.Format(time.DateOnly))
	b.SetValue("#until", until.Format(time.DateOnly))
	b.SetValue("#category", audit.CatStuck)
	b.Click(`form.filters button[type=submit]`, `form.filters a[href="/t/acme/audit"]`) // Clear: filters in force
	if n := b.Count("ol.audit li.entry"); n != min(want, 50) {
		t.Errorf("the filtered trail shows %d entries, want %d", n, min(want, 50))
	}
	cats := browsertest.Get(b, "categories", chromedp.Evaluate[[]string](`[...document.querySelectorAll("ol.audit li.entry .badge")].map(e => e.textContent.trim())`))
	if slices.IndexFunc(cats, func(c string) bool { return c != "Stuck transactions" }) >= 0 {
		t.Errorf("entries outside the category: %v", cats)
	}
	if n := b.Count("ol.audit li.entry a.record"); n == 0 {
		t.Error("no entry links to its record")
	}
	b.Screenshot("audit-filtered")

	// Download the CSV the page links to.
	href := b.Attr("#csv", "href")
	if !strings.Contains(href, "category=stuck") || !strings.Contains(href, "since="+since.Format(time.DateOnly)) {
		t.Errorf("the CSV link %q does not carry the filters", href)
	}
	resp := b.Fetch(href)
	if resp.Status != 200 || resp.ContentType != "text/csv; charset=utf-8" {
		t.Errorf("CSV: got %d %q", resp.Status, resp.ContentType)
	}
	wantName := fmt.Sprintf(`filename="backstop-audit-acme-%s-to-%s.csv"`, since.Format(time.DateOnly), until.Format(time.DateOnly))
	if !strings.Contains(resp.ContentDisposition, wantName) {
		t.Errorf("Content-Disposition %q, want %s", resp.ContentDisposition, wantName)
	}
	recs, err := csv.NewReader(strings.NewReader(resp.Body)).ReadAll()
	if err != nil {
		t.Fatalf("the download is not CSV: %v", err)
	}
	if len(recs) == 0 || !slices.Equal(recs[0], audit.Header) {
		t.Fatalf("header row %v, want %v", recs[:min(1, len(recs))], audit.Header)
	}
	if len(recs)-1 != want {
		t.Errorf("the CSV has %d rows, want %d", len(recs)-1, want)
	}
	for _, r := range recs[1:] {
		if r[1] != "acme" || r[9] != audit.CatStuck {
			t.Errorf("row outside the filter: %v", r)
			break
		}
	}

	// A month of the demo's records leaves some waiting in Virtuous' Import
	// tool: the queue the README shows.
	b.Go("/t/acme/queues/needs-review")
	if n := b.Count(`input[name="sel"]`); n == 0 {
		t.Error("a back-filled month left nothing in the needs-review queue")
	}
	b.Screenshot("needs-review-queue")

	// The same pages on a phone: nothing scrolls sideways.
	b.Viewport(390, 844)
	for _, p := range []struct{ name, path string }{
		{"engineering-phone", "/engineering"}, {"reports-calendar-phone", "/t/acme/reports?month=" + day[:7]},
		{"report-day-phone", "/t/acme/reports/" + day}, {"audit-phone", "/t/acme/audit"},
	} {
		b.Go(p.path)
		if o := b.Overflow(); o > 0 {
			t.Errorf("%s is %dpx wider than a phone", p.path, o)
		}
		b.Screenshot(p.name)
	}
	b.Viewport(1280, 900)
	for _, p := range b.Problems() {
		// The day without a report answers 404 on purpose; Chromium logs that.
		if strings.Contains(p, "status of 404") && strings.Contains(p, "/reports/"+missing) {
			continue
		}
		t.Errorf("the browser saw: %s", p)
	}
}
