package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"backstop/internal/apptest"
	"backstop/internal/record"
)

// A form that is too large, cut short, garbled, of another type or holding
// bytes PostgreSQL cannot store is refused before any handler sees it, on a
// page that says so, and the record is left as it was.
func TestFormBodyRefusals(t *testing.T) {
	t.Parallel()
	d := newDash(t, apptest.Options{})
	r := d.put(seed{n: 1, status: record.NeedsReview})
	b := d.as(staffA)
	b.get(recPath(r, ""))
	valid := "reason=duplicate&version=" + fmt.Sprint(r.Version) + "&_csrf=" + url.QueryEscape(b.csrf)
	audits := d.count("audit_log")
	for _, c := range []struct {
		name, ctype, body string
		want              int
		says              string
	}{
		{"over 64 KiB", "application/x-www-form-urlencoded", "reason=" + strings.Repeat("x", 64<<10) + "&" + valid, http.StatusRequestEntityTooLarge, "larger than Backstop accepts (64 KiB)"},
		{"a broken escape", "application/x-www-form-urlencoded", "reason=dup%zzlicate&" + valid, http.StatusBadRequest, "incomplete or garbled"},
		{"a NUL byte", "application/x-www-form-urlencoded", "reason=dup%00licate&" + strings.TrimPrefix(valid, "reason=duplicate&"), http.StatusBadRequest, "cannot store"},
		{"not UTF-8", "application/x-www-form-urlencoded", "reason=dup%FFlicate&" + strings.TrimPrefix(valid, "reason=duplicate&"), http.StatusBadRequest, "cannot store"},
		{"JSON", "application/json", `{"reason":"duplicate"}`, http.StatusUnsupportedMediaType, "sent as application/x-www-form-urlencoded"},
	} {
		req, _ := http.NewRequest("POST", b.base+recPath(r, "/discard"), strings.NewReader(c.body))
		req.Header.Set("Content-Type", c.ctype)
		req.Header.Set("X-CSRF-Token", b.csrf)
		resp, body := b.do(req)
		if resp.StatusCode != c.want || !strings.Contains(body, c.says) || !strings.Contains(body, "Nothing was changed") {
			t.Errorf("%s: got %d %s, want %d saying %q", c.name, resp.StatusCode, excerpt(between(body, "<h1>", "</h1>")), c.want, c.says)
		}
	}
	// Cut short in transit: the body is shorter than its Content-Length.
	h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "X-Csrf-Token": {b.csrf}}
	for _, ck := range b.c.Jar.Cookies(mustURL(d.Web.URL)) {
		h.Add("Cookie", ck.Name+"="+ck.Value)
	}
	if resp, _ := apptest.PostCutShort(t, d.Web.URL+recPath(r, "/discard"), h, []byte(valid), len(valid)/2); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("cut short: got %d, want 400", resp.StatusCode)
	}
	if d.status(r.ID) != record.NeedsReview || d.count("audit_log") != audits {
		t.Fatalf("a refused form changed the record: %s, %d new audit rows", d.status(r.ID), d.count("audit_log")-audits)
	}
	if resp, _ := b.post(recPath(r, "/discard"), vform(r, "reason", "duplicate")); resp.StatusCode != http.StatusSeeOther || d.status(r.ID) != record.Discarded {
		t.Errorf("the valid form: got %d, record %s", resp.StatusCode, d.status(r.ID))
	}
}

// Every record action is guarded by the version its page showed; a form
// without one, or with one that is not a version, changes nothing (the
// store takes a version of 0 as "unguarded").
func TestActionsNeedTheirVersion(t *testing.T) {
	t.Parallel()
	d := newDash(t, apptest.Options{})
	nr := d.put(seed{n: 1, status: record.NeedsReview})
	fl := d.put(seed{n: 2, status: record.Failed})
	cf := d.put(seed{n: 3, status: record.Conflict, virtuousID: 3, diffs: []record.Diff{{Field: record.FieldAmount, Platform: "25.00", Virtuous: "26.00"}}})
	b := d.as(staffA)
	b.get(recPath(nr, ""))
	audits := d.count("audit_log")
	for _, version := range []string{"", "0", "-3", "x", "1.0", "99999999999999999999"} {
		for _, c := range []struct {
			r    *record.Record
			path string
			form url.Values
		}{
			{nr, recPath(nr, "/discard"), url.Values{"reason": {"duplicate"}}},
			{nr, recPath(nr, "/check"), url.Values{}},
			{fl, recPath(fl, "/retry"), url.Values{}},
			{fl, recPath(fl, "/edit"), url.Values{"email": {"fixed@example.org"}}},
			{cf, recPath(cf, "/resolve"), url.Values{"choice.amount": {"virtuous"}}},
			{nr, "/t/acme/queues/needs-review/bulk", url.Values{"action": {"discard"}, "reason": {"duplicate"}, "sel": {fmt.Sprintf("%d:%s", nr.ID, version)}}},
		} {
			if version != "" {
				c.form.Set("version", version)
			}
			b.post(c.path, c.form)
			if st := d.status(c.r.ID); st != c.r.Status {
				t.Errorf("POST %s with version %q: the record moved from %s to %s", c.path, version, c.r.Status, st)
			}
		}
	}
	if n := d.count("audit_log") - audits; n != 0 {
		t.Errorf("got %d audit rows from forms without a good version, want 0", n)
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// A page's query string with bytes PostgreSQL cannot store is refused on a
// page that says so, and a search cut to its 200 bytes keeps whole
// characters: each of these was a 500.
func TestQueryStringRefusals(t *testing.T) {
	t.Parallel()
	d := newDash(t, apptest.Options{})
	b := d.as(staffA)
	for _, p := range []string{"/t/acme/queues/needs-review?q=a%00b", "/t/acme/lookup?q=%FF", "/t/acme/lookup?q=a%00b",
		"/t/acme/audit?actor=%C3%28", "/t/acme/audit?actor=a%00b"} {
		if resp, body := b.get(p); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "characters Backstop cannot store") {
			t.Errorf("%s: got %d %s", p, resp.StatusCode, excerpt(between(body, "<h1>", "</h1>")))
		}
	}
	long := strings.Repeat("a", 199) + "é"
	for _, p := range []string{"/t/acme/lookup?q=" + long, "/t/acme/queues/needs-review?q=" + long} {
		if resp, body := b.get(p); resp.StatusCode != http.StatusOK {
			t.Errorf("%s…: got %d %s", p[:30], resp.StatusCode, excerpt(between(body, "<h1>", "</h1>")))
		}
	}
}
