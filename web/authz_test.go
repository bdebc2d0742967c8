package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"backstop/internal/apptest"
	"backstop/internal/escalate"
	"backstop/internal/record"
)

// route is one browser route of the matrix. setup makes what the request
// needs (a fresh record of tenant acme per cell, so each write stands
// alone) and returns the path and form.
type route struct {
	method string
	name   string
	setup  func(d *dash, n int) (path string, form url.Values, rec *record.Record)
	// want is the status for anonymous, staff of acme, staff of beta, and
	// an engineer.
	want [4]int
}

const (
	see = http.StatusSeeOther
	ok  = http.StatusOK
	nf  = http.StatusNotFound
	bad = http.StatusBadRequest
)

func fixed(path string) func(*dash, int) (string, url.Values, *record.Record) {
	return func(*dash, int) (string, url.Values, *record.Record) { return path, nil, nil }
}

// onRecord builds a route on a fresh acme record in status st.
func onRecord(st record.Status, suffix string, form ...string) func(*dash, int) (string, url.Values, *record.Record) {
	return func(d *dash, n int) (string, url.Values, *record.Record) {
		s := seed{n: n, status: st, age: 80 * time.Hour}
		if st == record.Conflict {
			s.virtuousID = int64(n)
			s.diffs = []record.Diff{{Field: record.FieldAmount, Platform: "25.00", Virtuous: "26.00"}}
		}
		r := d.put(s)
		v := url.Values{"version": {fmt.Sprint(r.Version)}}
		for i := 0; i+1 < len(form); i += 2 {
			v.Set(form[i], form[i+1])
		}
		if strings.HasPrefix(suffix, "/t/") { // a path of its own naming the record
			return fmt.Sprintf(suffix, r.ID), v, r
		}
		return fmt.Sprintf("/t/acme/records/%d%s", r.ID, suffix), v, r
	}
}

func bulkOn(st record.Status, queue, action string, form ...string) func(*dash, int) (string, url.Values, *record.Record) {
	return func(d *dash, n int) (string, url.Values, *record.Record) {
		path, v, r := onRecord(st, "", form...)(d, n)
		_ = path
		v.Set("action", action)
		v.Set("sel", fmt.Sprintf("%d:%d", r.ID, r.Version))
		return "/t/acme/queues/" + queue + "/bulk", v, r
	}
}

var routes = []route{
	{"GET", "start page", fixed("/"), [4]int{see, see, see, ok}},
	{"GET", "sign-in page", fixed("/signin"), [4]int{ok, see, see, see}},
	{"POST", "sign in with a wrong password", func(*dash, int) (string, url.Values, *record.Record) {
		return "/signin", url.Values{"email": {staffA}, "password": {"not the password"}}, nil
	}, [4]int{http.StatusUnauthorized, http.StatusUnauthorized, http.StatusUnauthorized, http.StatusUnauthorized}},
	{"GET", "tenant root", fixed("/t/acme"), [4]int{see, see, nf, see}},
	{"GET", "needs-review queue", fixed("/t/acme/queues/needs-review"), [4]int{see, ok, nf, ok}},
	{"GET", "conflict queue", fixed("/t/acme/queues/conflict"), [4]int{see, ok, nf, ok}},
	{"GET", "failed queue", fixed("/t/acme/queues/failed"), [4]int{see, ok, nf, ok}},
	{"GET", "unknown queue", fixed("/t/acme/queues/pending"), [4]int{see, nf, nf, nf}},
	{"GET", "unknown tenant", fixed("/t/nosuch/queues/needs-review"), [4]int{see, nf, nf, nf}},
	{"GET", "unknown page of a tenant", fixed("/t/acme/nothing-here"), [4]int{see, nf, nf, nf}},
	{"GET", "record page", onRecord(record.NeedsReview, ""), [4]int{see, ok, nf, ok}},
	{"GET", "acme's record under beta's name", onRecord(record.NeedsReview, "/t/beta/records/%d"), [4]int{see, nf, nf, nf}},
	{"GET", "edit form", onRecord(record.Failed, "/edit"), [4]int{see, ok, nf, ok}},
	{"POST", "check Virtuous now", onRecord(record.NeedsReview, "/check"), [4]int{see, see, nf, see}},
	{"POST", "discard", onRecord(record.NeedsReview, "/discard", "reason", "matrix"), [4]int{see, see, nf, see}},
	{"POST", "retry", onRecord(record.Failed, "/retry"), [4]int{see, see, nf, see}},
	{"POST", "edit and retry", onRecord(record.Failed, "/edit", "email", "fixed@example.org", "first_name", "Donor", "last_name", "Number",
		"address1", "", "address2", "", "city", "", "state", "", "postal", "", "country", "", "designation.0", ""), [4]int{see, see, nf, see}},
	{"POST", "resolve conflict", onRecord(record.Conflict, "/resolve", "choice.amount", "virtuous"), [4]int{see, see, nf, see}},
	{"POST", "bulk discard", bulkOn(record.NeedsReview, "needs-review", "discard", "reason", "matrix"), [4]int{see, see, nf, see}},
	{"POST", "bulk retry", bulkOn(record.Failed, "failed", "retry"), [4]int{see, see, nf, see}},
	{"POST", "bulk resolve", bulkOn(record.Conflict, "conflict", "take-virtuous"), [4]int{see, see, nf, see}},
	{"GET", "missing-record runbook", fixed("/t/acme/lookup?q=order-1"), [4]int{see, ok, nf, ok}},
	{"POST", "runbook apply", func(*dash, int) (string, url.Values, *record.Record) {
		return "/t/acme/lookup/apply", url.Values{"kind": {"gift"}, "source": {"Backstop-Stripe"}, "ref": {"pi_nothing"}}, nil
	}, [4]int{see, bad, nf, bad}}, // Virtuous has no such gift: refused, but it reached the handler
	{"GET", "engineering overview", fixed("/engineering"), [4]int{see, nf, nf, ok}},
	{"GET", "reports calendar", fixed("/t/acme/reports"), [4]int{see, nf, nf, ok}},
	{"GET", "a day's report", todaysReport, [4]int{see, nf, nf, ok}},
	{"GET", "a day without a report", fixed("/t/acme/reports/2026-10-01"), [4]int{see, nf, nf, nf}},
	{"GET", "a report of a bad date", fixed("/t/acme/reports/2026-10-32"), [4]int{see, nf, nf, http.StatusBadRequest}},
	{"POST", "acknowledge an escalation", openEscalation, [4]int{see, nf, nf, see}},
	{"GET", "audit trail", fixed("/t/acme/audit"), [4]int{see, ok, nf, ok}},
	{"GET", "audit CSV", fixed("/t/acme/audit.csv"), [4]int{see, ok, nf, ok}},
	{"GET", "beta's audit CSV", fixed("/t/beta/audit.csv?category=intake"), [4]int{see, nf, ok, ok}},
	{"GET", "audit CSV with a bad filter", fixed("/t/acme/audit.csv?since=soon"), [4]int{see, http.StatusBadRequest, nf, http.StatusBadRequest}},
	{"POST", "sign out", fixed("/signout"), [4]int{see, see, see, see}},
}

// todaysReport stores acme's report of today, so that its page exists.
func todaysReport(d *dash, n int) (string, url.Values, *record.Record) {
	day := d.Clock.Now().UTC().Truncate(24 * time.Hour)
	if _, err := d.App.Reports(d.App.AlertJobs()).Generate(context.Background(), d.Tenant, day, d.Clock.Now()); err != nil {
		d.t.Fatal(err)
	}
	return "/t/acme/reports/" + day.Format(time.DateOnly), nil, nil
}

// openEscalation raises a fresh acme escalation (one per cell: a day of
// its own) and returns its acknowledge form.
func openEscalation(d *dash, n int) (string, url.Values, *record.Record) {
	r := &escalate.Raiser{Store: d.App.Store}
	at := d.Clock.Now().AddDate(0, 0, -n)
	if err := r.Raise(context.Background(), d.Tenant.ID, escalate.FailedRecords, at, fmt.Sprintf("matrix %d", n), nil); err != nil {
		d.t.Fatal(err)
	}
	var id int64
	if err := d.App.Store.DB().Get(&id, `SELECT max(id) FROM escalations`); err != nil {
		d.t.Fatal(err)
	}
	return fmt.Sprintf("/t/acme/escalations/%d/acknowledge", id), nil, nil
}

// Every browser route for anonymous, staff of the record's tenant (acme),
// staff of another tenant (beta) and an engineer. Another tenant's page or
// record is 404, never 403, and no request of beta's staff changes acme's
// data.
func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	d := newDash(t, apptest.Options{})
	who := []string{"", staffA, staffB, engineer}
	n := 0
	for _, rt := range routes {
		for i, email := range who {
			n++
			path, form, rec := rt.setup(d, n)
			b := d.as(email) // a fresh session per cell: sign-out must not end the next
			var resp *http.Response
			var body string
			if rt.method == "GET" {
				resp, body = b.get(path)
			} else {
				resp, body = b.post(path, form)
			}
			label := email
			if label == "" {
				label = "anonymous"
			}
			if resp.StatusCode != rt.want[i] {
				t.Errorf("%s %s (%s) as %s: got %d, want %d", rt.method, path, rt.name, label, resp.StatusCode, rt.want[i])
			}
			if resp.StatusCode == http.StatusForbidden {
				t.Errorf("%s %s as %s: 403 reveals the page exists", rt.method, path, label)
			}
			if i == 0 && resp.StatusCode == see && !strings.HasPrefix(resp.Header.Get("Location"), "/signin") && path != "/signout" {
				t.Errorf("%s %s anonymous: redirected to %q, want the sign-in page", rt.method, path, resp.Header.Get("Location"))
			}
			if rec != nil && (i == 0 || i == 2) {
				after, err := d.App.Store.Record(t.Context(), d.App.Store.DB(), d.Tenant.ID, rec.ID)
				if err != nil || after.Version != rec.Version || after.Status != rec.Status {
					t.Errorf("%s %s as %s changed acme's record: %s v%d → %s v%d", rt.method, path, label, rec.Status, rec.Version, after.Status, after.Version)
				}
			}
			if i == 2 && strings.Contains(body, "Donor Number") {
				t.Errorf("%s %s as beta's staff: the page shows acme's donor", rt.method, path)
			}
		}
	}
	// And nothing beta's staff did is in acme's audit trail; only the
	// engineer acknowledged escalations.
	if n := d.count(`audit_log WHERE actor = 'user:` + staffB + `'`); n != 0 {
		t.Errorf("got %d audit rows by beta's staff, want 0", n)
	}
	if n := d.count(`escalations WHERE acknowledged_by IS DISTINCT FROM 'user:` + engineer + `' AND acknowledged_at IS NOT NULL`); n != 0 {
		t.Errorf("got %d escalations acknowledged by someone other than the engineer", n)
	}
	if n := d.count(`escalations WHERE acknowledged_at IS NULL`); n != 3 {
		t.Errorf("got %d escalations left open, want the 3 that anonymous and both staff tried", n)
	}
}
