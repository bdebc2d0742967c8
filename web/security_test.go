package web_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"backstop/internal/apptest"
	"backstop/internal/audit"
	"backstop/internal/escalate"
	"backstop/internal/record"
	"backstop/internal/tenant"
)

const (
	scriptName = `<script>alert(1)</script>`
	quotedRef  = `q"><img src=x onerror=alert(2)>'x`
)

// A donor named <script>alert(1)</script> and a reference with quotes
// render as text on every page they appear on, flashes included.
func TestXSSInert(t *testing.T) {
	t.Parallel()
	d := newDash(t, apptest.Options{})
	mk := func(n int, st record.Status) *record.Record {
		s := seed{n: n, status: st, donorFirst: scriptName, donorLast: `"O'Neil"`, source: record.Other, ref: fmt.Sprintf("%s%d", quotedRef, n)}
		if st == record.Conflict {
			s.virtuousID = int64(n)
			s.diffs = []record.Diff{{Field: record.FieldFirstName, Platform: scriptName, Virtuous: quotedRef}}
		}
		return d.put(s)
	}
	nr, fl, cf := mk(1, record.NeedsReview), mk(2, record.Failed), mk(3, record.Conflict)
	b := d.as(staffA)
	pages := []string{
		"/t/acme/queues/needs-review", "/t/acme/queues/failed", "/t/acme/queues/conflict",
		"/t/acme/queues/needs-review?q=" + url.QueryEscape(scriptName),
		recPath(nr, ""), recPath(fl, ""), recPath(cf, ""), recPath(fl, "/edit"),
		"/t/acme/lookup?q=" + url.QueryEscape(nr.PlatformID),
		"/t/acme/lookup?q=" + url.QueryEscape(quotedRef+"1"),
		"/t/acme/lookup?q=" + url.QueryEscape(scriptName),
	}
	check := func(where, body string) {
		t.Helper()
		for _, bad := range []string{scriptName, `<img src=x`, `onerror=alert(2)>`, `"O'Neil"`} {
			if strings.Contains(body, bad) {
				t.Errorf("%s: %q appears unescaped", where, bad)
			}
		}
	}
	for _, p := range pages {
		resp, body := b.get(p)
		if resp.StatusCode != 200 {
			t.Errorf("%s: got %d", p, resp.StatusCode)
		}
		check(p, body)
		if !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("%s: the donor's name is not shown (escaped)", p)
		}
	}
	// The flash after an action names the record, escaped too.
	resp, _ := b.post(recPath(nr, "/discard"), vform(nr, "reason", scriptName))
	_, body := b.get(resp.Header.Get("Location"))
	check("flash after discard", body)
	if !strings.Contains(body, "Discarded &lt;script&gt;") {
		t.Errorf("flash after discard does not name the record")
	}
	// And on the timeline, the reason is text.
	_, body = b.get(recPath(nr, ""))
	check("timeline", body)
}

// Free-text search takes SQL and LIKE metacharacters as the text they are.
func TestSearchMetacharacters(t *testing.T) {
	t.Parallel()
	d := newDash(t, apptest.Options{})
	d.put(seed{n: 1, status: record.NeedsReview, source: record.Other, donorFirst: "Siobhan", donorLast: "O'Brien"})
	d.put(seed{n: 2, status: record.NeedsReview, source: record.Other, donorFirst: "Percy", donorLast: "100%", email: "percent@example.org"})
	d.put(seed{n: 3, status: record.NeedsReview, source: record.Other, donorFirst: "Under", donorLast: "score_man"})
	d.put(seed{n: 4, status: record.NeedsReview, source: record.Other, donorFirst: "Back", donorLast: `Sl\ash`})
	d.put(seed{n: 5, status: record.NeedsReview, source: record.Other, donorFirst: "Plain", donorLast: "Person"})
	b := d.as(staffA)
	for _, tc := range []struct {
		q    string
		want []string // donors expected, exactly
	}{
		{"o'brien", []string{"Siobhan O&#39;Brien"}},
		{"'; DROP TABLE records; --", nil},
		{"' OR '1'='1", nil},
		{"%", []string{"Percy 100%"}},
		{"_", []string{"Under score_man"}},
		{`\`, []string{`Back Sl\ash`}},
		{`sl\a`, []string{`Back Sl\ash`}},
		{"$1", nil},
		{"person", []string{"Plain Person"}},
	} {
		resp, body := b.get("/t/acme/queues/needs-review?q=" + url.QueryEscape(tc.q))
		if resp.StatusCode != 200 {
			t.Errorf("q=%q: got %d", tc.q, resp.StatusCode)
			continue
		}
		if got := strings.Count(body, `class="donor"`); got != len(tc.want) {
			t.Errorf("q=%q: got %d rows, want %d", tc.q, got, len(tc.want))
		}
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("q=%q: %q not found", tc.q, w)
			}
		}
		if len(tc.want) == 0 && !strings.Contains(body, "No records match these filters") {
			t.Errorf("q=%q: no empty state", tc.q)
		}
	}
	if n := d.count("records"); n != 5 {
		t.Errorf("got %d records after the searches, want 5", n)
	}
	// The runbook's exact-match search, too.
	resp, body := b.get("/t/acme/lookup?q=" + url.QueryEscape("' OR 1=1 --"))
	if resp.StatusCode != 200 || strings.Count(body, `class="card finding"`) != 1 || !strings.Contains(body, "Not on Backstop") {
		t.Errorf("runbook with SQL: got %d and %d findings", resp.StatusCode, strings.Count(body, `class="card finding"`))
	}
}

// The report pages, the engineering overview and the audit trail show a
// tenant named <script>, an escalation message and audit details with
// markup, and filters typed with markup, as text.
func TestXSSInertReportPages(t *testing.T) {
	t.Parallel()
	d := newDash(t, apptest.Options{})
	ctx := context.Background()
	st := d.App.Store
	x, _ := d.AddTenant("xss", "sim-key-xss", "", nil)
	name := scriptName
	if err := x.Apply(tenant.Patch{Name: &name}); err != nil {
		t.Fatal(err)
	}
	if err := st.UpdateTenantSettings(ctx, x); err != nil {
		t.Fatal(err)
	}
	r := &escalate.Raiser{Store: st}
	if err := r.Raise(ctx, x.ID, escalate.FailedRecords, d.Clock.Now(), scriptName+" "+quotedRef, map[string]string{"why": scriptName}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AppendAudit(ctx, st.DB(), &audit.Entry{TenantID: x.ID, At: d.Clock.Now(), Actor: "user:" + scriptName,
		Action: scriptName, Category: quotedRef, Details: audit.Details(map[string]string{"reason": scriptName, quotedRef: quotedRef})}); err != nil {
		t.Fatal(err)
	}
	day := d.Clock.Now().UTC().Truncate(24 * time.Hour).Format(time.DateOnly)
	if _, err := d.App.Reports(d.App.AlertJobs()).Generate(ctx, x, d.Clock.Now().Truncate(24*time.Hour), d.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	b := d.as(engineer)
	for _, p := range []string{
		"/engineering", "/t/xss/reports", "/t/xss/reports/" + day, "/t/xss/audit",
		"/t/xss/audit?actor=" + url.QueryEscape(scriptName) + "&action=" + url.QueryEscape(quotedRef),
		"/t/xss/audit?since=" + url.QueryEscape(scriptName),
		"/t/xss/reports/" + url.PathEscape(scriptName), "/t/xss/reports?month=" + url.QueryEscape(quotedRef),
	} {
		_, body := b.get(p)
		for _, bad := range []string{scriptName, `<img src=x`, `onerror=alert(2)>`} {
			if strings.Contains(body, bad) {
				t.Errorf("%s: %q appears unescaped", p, bad)
			}
		}
		if !strings.Contains(body, "&lt;script&gt;") {
			t.Errorf("%s: the markup is not shown as text", p)
		}
	}
}
