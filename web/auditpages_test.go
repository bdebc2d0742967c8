package web_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"backstop/internal/apptest"
	"backstop/internal/audit"
	"backstop/internal/record"
	"backstop/internal/tenant"
)

// auditDash is acme with a known trail: 120 entries on one record, one a
// minute from Nov 1, 00:00 (every tenth a person's discard by ann, the
// rest the submitter's), three escalation entries with no record on Nov 3,
// and beta's entries, which acme's pages must never show.
func auditDash(t *testing.T) (*dash, *record.Record) {
	d := newDash(t, apptest.Options{Start: reportStart})
	r := d.put(seed{n: 1, status: record.NeedsReview})
	ctx := context.Background()
	st := d.App.Store
	// Drop what intake wrote: the test counts only its own entries.
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	add := func(tn *tenant.Tenant, rec *int64, at time.Time, actor, action, cat string, details any) {
		t.Helper()
		if _, err := st.AppendAudit(ctx, st.DB(), &audit.Entry{TenantID: tn.ID, RecordID: rec, At: at, Actor: actor, Action: action,
			Category: cat, Details: audit.Details(details)}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 120 {
		if i%10 == 9 {
			add(d.Tenant, &r.ID, base.Add(time.Duration(i)*time.Minute), audit.ActorUser(staffA), "review.discarded", audit.CatReview,
				map[string]any{"reason": fmt.Sprintf("duplicate %d", i)})
			continue
		}
		add(d.Tenant, &r.ID, base.Add(time.Duration(i)*time.Minute), audit.ActorSubmit, "submit.retry", audit.CatSubmission,
			map[string]any{"attempt": i, "error": "HTTP 503"})
	}
	for i := range 3 {
		add(d.Tenant, nil, base.AddDate(0, 0, 2).Add(time.Duration(i)*time.Hour), audit.ActorEscalate, "escalation.raised", audit.CatEscalation,
			map[string]any{"kind": "failed_records", "message": "3 records failed"})
	}
	add(d.beta, nil, base.Add(time.Hour), audit.ActorEscalate, "escalation.raised", audit.CatEscalation, map[string]any{"message": "beta only"})
	return d, r
}

// entryTimes lists the times of a page's entries, in page order.
func entryTimes(body string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`(?s)<li class="entry">.*?<time datetime="([^"]+)"`).FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

var pageLinkRE = regexp.MustCompile(`href="(/t/acme/audit\?[^"]+)" rel="(prev|next)"`)

func pageLink(body, rel string) string {
	for _, m := range pageLinkRE.FindAllStringSubmatch(body, -1) {
		if m[2] == rel {
			return strings.ReplaceAll(m[1], "&amp;", "&")
		}
	}
	return ""
}

// Filters narrow the trail exactly as the CSV export does; pages go older
// and back newer without losing or repeating an entry.
func TestAuditPageFiltersAndPages(t *testing.T) {
	t.Parallel()
	d, r := auditDash(t)
	b := d.as(staffA)
	mine := d.count(fmt.Sprintf("audit_log WHERE tenant_id = %d", d.Tenant.ID))
	for _, tc := range []struct {
		query string
		want  int
	}{
		{"action=review.discarded", 12},
		{"category=escalation", 3},
		{"actor=" + url.QueryEscape(staffA), 12}, // an email is that person
		{"actor=user:" + url.QueryEscape(staffA), 12},
		{"actor=system:escalate", 3},
		{fmt.Sprintf("record=%d", r.ID), 50}, // 120 and intake's, a page
		{"since=2026-11-03&until=2026-11-03", 3},
		{"since=2026-11-01T01:00:00Z&until=2026-11-01T01:30:00Z", 30},
		{"since=2026-11-01T01:00:00Z&until=2026-11-01T01:30:00Z&action=review.discarded", 3},
		{"action=review.discarded,submit.retry&since=2026-11-01&until=2026-11-01", 50},
		{"category=drift", 0},
		{"action=&category=&actor=&record=&since=&until=", 50}, // a form left blank
	} {
		resp, body := b.get("/t/acme/audit?" + tc.query)
		if resp.StatusCode != 200 {
			t.Errorf("%s: got %d %s", tc.query, resp.StatusCode, excerpt(body))
			continue
		}
		if got := strings.Count(body, `<li class="entry">`); got != tc.want {
			t.Errorf("%s: got %d entries, want %d", tc.query, got, tc.want)
		}
		if strings.Contains(body, "beta only") {
			t.Errorf("%s: beta's entry is on acme's page", tc.query)
		}
		if tc.want == 0 && !strings.Contains(body, "No entries match these filters") {
			t.Errorf("%s: no empty state", tc.query)
		}
	}
	// Entries link to their record and show their details in words.
	_, body := b.get("/t/acme/audit?action=review.discarded")
	if n := strings.Count(body, fmt.Sprintf(`href="/t/acme/records/%d"`, r.ID)); n != 12 {
		t.Errorf("got %d links to the record, want 12", n)
	}
	for _, want := range []string{"<dt>reason</dt><dd>duplicate 119</dd>", "Discarded", "by <span class=\"actor\">" + staffA, "order-1 · Stripe pi_"} {
		if !strings.Contains(body, want) {
			t.Errorf("a discard entry lacks %q", want)
		}
	}
	// The CSV link carries the filters.
	if !strings.Contains(body, `href="/t/acme/audit.csv?action=review.discarded"`) {
		t.Error("the CSV link does not carry the filter")
	}

	// Every page of the whole trail, older and back newer.
	var pages [][]string
	path := "/t/acme/audit"
	for path != "" {
		_, body := b.get(path)
		pages = append(pages, entryTimes(body))
		if len(pages) == 1 && pageLink(body, "prev") != "" {
			t.Error("the first page links to newer entries")
		}
		path = pageLink(body, "next")
		if len(pages) > 5 {
			t.Fatal("too many pages")
		}
	}
	var all []string
	for _, p := range pages {
		all = append(all, p...)
	}
	if len(pages) != 3 || len(pages[0]) != 50 || len(pages[2]) != mine-100 || len(all) != mine {
		t.Errorf("got pages of %v entries, want 50, 50, %d", lens(pages), mine-100)
	}
	if !slices.IsSortedFunc(all, func(a, b string) int { return strings.Compare(b, a) }) {
		t.Error("entries are not newest first across pages")
	}
	// Back from the last page: the same two pages, in the same order.
	_, body = b.get("/t/acme/audit")
	older := pageLink(body, "next")
	_, body = b.get(older)
	older = pageLink(body, "next")
	_, body = b.get(older)
	for i := 1; i >= 0; i-- {
		newer := pageLink(body, "prev")
		if newer == "" {
			t.Fatalf("page %d has no link to newer entries", i+2)
		}
		_, body = b.get(newer)
		if got := entryTimes(body); !slices.Equal(got, pages[i]) {
			t.Errorf("going newer to page %d: got %d entries %v…, want %v…", i+1, len(got), got[:1], pages[i][:1])
		}
	}
	if pageLink(body, "prev") != "" {
		t.Error("back at the newest page, it still links to newer entries")
	}
}

func lens(pages [][]string) []int {
	out := make([]int, len(pages))
	for i, p := range pages {
		out[i] = len(p)
	}
	return out
}

// Filters that do not parse answer 400 with the reason and no entries.
func TestAuditPageBadFilters(t *testing.T) {
	t.Parallel()
	d, _ := auditDash(t)
	b := d.as(engineer)
	for q, want := range map[string]string{
		"since=soon":                         "since: &#34;soon&#34; is not an RFC 3339 time or a YYYY-MM-DD day",
		"until=2026-02-30":                   "until: ",
		"since=2026-11-02&until=2026-11-01":  "until: must be after since",
		"record=x":                           "record: &#34;x&#34; is not a record id",
		"record=-4":                          "record: ",
		"before=yesterday":                   "before: &#34;yesterday&#34; is not a position in the audit trail",
		"after=1_0":                          "after: ",
		"before=1_1&after=1_1":               "give before or after, not both",
		"action=" + strings.Repeat("a,", 60): "action: at most 50 values",
	} {
		resp, body := b.get("/t/acme/audit?" + q)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, want) {
			t.Errorf("%s: got %d, want 400 saying %q: %s", q, resp.StatusCode, want, excerpt(between(body, "main", "</form>")))
		}
		if strings.Contains(body, `<li class="entry">`) || strings.Contains(body, `id="csv"`) {
			t.Errorf("%s: a refused filter still shows entries or a CSV link", q)
		}
	}
}

// audit.csv streams the filtered trail, oldest first, as CSV with a
// header row and a file name naming tenant and range; a bad filter is a
// 400 before any CSV.
func TestAuditCSV(t *testing.T) {
	t.Parallel()
	d, r := auditDash(t)
	b := d.as(staffA)
	get := func(q string) (*http.Response, [][]string, string) {
		t.Helper()
		resp, body := b.get("/t/acme/audit.csv?" + q)
		recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
		if resp.StatusCode == 200 && err != nil {
			t.Fatalf("%s: not CSV: %v", q, err)
		}
		return resp, recs, body
	}
	resp, recs, _ := get("since=2026-11-01&until=2026-11-03&category=review")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Fatalf("got %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if cd := resp.Header.Get("Content-Disposition"); cd != `attachment; filename="backstop-audit-acme-2026-11-01-to-2026-11-03.csv"` {
		t.Errorf("Content-Disposition %q", cd)
	}
	if !slices.Equal(recs[0], audit.Header) {
		t.Errorf("header %v, want %v", recs[0], audit.Header)
	}
	if len(recs) != 13 {
		t.Fatalf("got %d rows, want the header and 12 discards", len(recs))
	}
	for i, row := range recs[1:] {
		at := time.Date(2026, 11, 1, 0, 9+10*i, 0, 0, time.UTC).Format(audit.TimeFormat)
		want := []string{at, "acme", fmt.Sprint(r.ID), "order-1", "stripe", r.SourceRef, r.ExtSource, r.ExtID,
			"review.discarded", "review", audit.ActorUser(staffA), "", "", fmt.Sprintf(`{"reason": "duplicate %d"}`, 9+10*i)}
		if !slices.Equal(row, want) {
			t.Errorf("row %d:\n got %q\nwant %q", i+1, row, want)
			break
		}
	}
	// Open ends: named from the start, through today.
	resp, recs, _ = get("")
	if cd := resp.Header.Get("Content-Disposition"); !strings.Contains(cd, `filename="backstop-audit-acme-start-to-2026-11-12.csv"`) {
		t.Errorf("unfiltered Content-Disposition %q", cd)
	}
	if want := d.count(fmt.Sprintf("audit_log WHERE tenant_id = %d", d.Tenant.ID)); len(recs)-1 != want {
		t.Errorf("the whole trail: %d rows, want %d", len(recs)-1, want)
	}
	for _, row := range recs[1:] {
		if row[1] != "acme" || strings.Contains(row[13], "beta only") {
			t.Fatalf("a row of another tenant: %v", row)
		}
	}
	if !slices.IsSortedFunc(recs[1:], func(a, b []string) int { return strings.Compare(a[0], b[0]) }) {
		t.Error("rows are not oldest first")
	}
	// What the page's form sends when left blank is no filter at all.
	if _, blank, _ := get("action=&category=&actor="); len(blank) != len(recs) {
		t.Errorf("blank filters: %d rows, want %d", len(blank), len(recs))
	}
	// Bad filters: 400, an HTML page, not a byte of CSV.
	for _, q := range []string{"since=soon", "record=0", "since=2026-11-05&until=2026-11-01"} {
		resp, _, body := get(q)
		if resp.StatusCode != 400 || strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") ||
			resp.Header.Get("Content-Disposition") != "" || strings.Contains(body, strings.Join(audit.Header, ",")) {
			t.Errorf("%s: got %d %q, want a 400 page and no CSV", q, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
}
