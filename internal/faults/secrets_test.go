//go:build faults

package faults_test

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"backstop/internal/apptest"
	"backstop/internal/dbtest"
	"backstop/internal/reconcile"
	"backstop/internal/record"
	"backstop/internal/virtuous"
	"backstop/internal/virtuoussim"
)

// A full run — two tenants (one with a Virtuous key Virtuous refuses),
// users, submissions through 5xx answers, webhooks good and forged, bad
// tokens, passes, daily reports, the operator's commands, every page of
// the dashboard for both tenants as an engineer and the staff's pages, the
// audit trail as CSV from the web and from `backstop audit export` — with
// every line Backstop logs, every command's output and every HTTP answer
// captured: none of them holds a secret — the Virtuous API keys, the
// webhook secrets and URL tokens, the intake tokens, the database password,
// the secret key, the users' passwords. `tenant add` printing the intake
// token once is the one intended exception, and its stdout is left out.
func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	const (
		pgPassword    = "pgpass-91b3e07c5a2d"
		userPassword  = "correct horse battery staple 7781"
		staffPassword = "staff-pw-tr0ub4dor-3e19"
		wrongKey      = "vkey-revoked-55e1c0a9b7"
		betaSecret    = "whsec-beta-0d94ae6c21"
	)
	s := newSystem(t, withPassword(t, pgPassword), virtuoussim.OrgConfig{ServerErrorRate: 0.2, WebhookLossRate: 0.3})
	var seen strings.Builder // everything Backstop said, but for tenant add's stdout
	say := func(parts ...string) {
		for _, p := range parts {
			seen.WriteString(p)
			seen.WriteByte('\n')
		}
	}
	exec := func(stdin string, args ...string) string {
		out, errOut, code := apptest.Exec(t, s.env, stdin, args...)
		say(errOut)
		if code != 0 {
			t.Fatalf("backstop %s: exit %d: %s", strings.Join(args, " "), code, errOut)
		}
		return out
	}

	var beta struct {
		IntakeToken string `json:"intake_token"`
		WebhookURL  string `json:"webhook_url"`
	}
	out := exec("", "tenant", "add", "--slug", "beta", "--name", "Beta", "--virtuous-url", strings.TrimSuffix(virtuousURL(t, s), "/"),
		"--virtuous-key", wrongKey, "--webhook-secret", betaSecret)
	json.Unmarshal([]byte(out), &beta)
	say(exec(userPassword+"\n", "user", "add", "--email", "eng@example.org", "--role", "engineer"))
	say(exec(staffPassword+"\n", "user", "add", "--email", "staff@example.org", "--role", "staff", "--tenant", "acme"))
	say(exec("", "migrate"), exec("", "tenant", "list"), exec("", "tenant", "list", "--json"))
	if _, errOut, code := apptest.Exec(t, s.env, "", "tenant", "add", "--slug", "beta", "--name", "Again", "--virtuous-key", wrongKey); code != 2 {
		t.Errorf("a second tenant beta: exit %d, want 2", code)
	} else {
		say(errOut)
	}

	w := s.worker()
	call := func(method, u, token, body string, header map[string]string) int {
		req, _ := http.NewRequest(method, u, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		hdr, _ := json.Marshal(resp.Header)
		say(resp.Status, string(hdr), string(b))
		return resp.StatusCode
	}
	for n := 1; n <= 30; n++ {
		call("PUT", fmt.Sprintf("%s/api/v1/records/gift/g-%d", s.base, n), s.token, giftBody(n, n%10 == 0), nil)
	}
	for n := 1; n <= 5; n++ {
		call("PUT", fmt.Sprintf("%s/api/v1/records/gift/b-%d", s.base, n), beta.IntakeToken, giftBody(100+n, false), nil)
	}
	// Refusals: a token one character off, a forged and an unsigned
	// webhook, a webhook URL with the wrong token.
	call("PUT", s.base+"/api/v1/records/gift/x-1", s.token[:len(s.token)-1]+"x", giftBody(1, false), nil)
	call("GET", s.base+"/api/v1/records/gift/g-1", "bsi_"+strings.Repeat("0", 40), "", nil)
	forged := `{"event":"GiftCreate","gift":{"id":999,"modifiedDateTimeUtc":"2026-11-02T10:00:00"}}`
	call("POST", s.hookURL, "", forged, map[string]string{virtuous.DefaultSignatureHeader: virtuous.Sign("not-the-secret", []byte(forged))})
	call("POST", s.hookURL, "", forged, nil)
	call("POST", s.hookURL[:strings.LastIndex(s.hookURL, "/")]+"/wrong-token", "", forged, nil)

	eventually(t, "acme submitted and beta failed (401 from Virtuous)", 2*time.Minute, func() bool {
		return s.count(`SELECT count(*) FROM records WHERE status = 'submitted'`) == 30 && s.count(`SELECT count(*) FROM records WHERE status = 'failed'`) == 5
	})
	s.org.RunBatch()
	if _, err := s.db.DB().Exec(`UPDATE records SET submitted_at = submitted_at - interval '4 days' WHERE tenant_id = $1`, s.tenant); err != nil {
		t.Fatal(err)
	}
	for _, p := range []reconcile.Pass{reconcile.Missed, reconcile.Stuck, reconcile.Drift} {
		s.enqueuePass(p, "secrets:"+string(p))
	}
	eventually(t, "the passes", 2*time.Minute, func() bool {
		return s.count(`SELECT count(*) FROM reconciliation_runs WHERE slot LIKE 'secrets:%' AND status <> 'running'`) == 3
	})
	say(exec("", "reconcile", "--tenant", "beta", "--pass", "stuck"))
	for _, u := range []string{"/api/v1/records/gift/g-1", "/api/v1/records/gift/g-10", "/api/v1/changes?limit=1000"} {
		call("GET", s.base+u, s.token, "", nil)
	}
	call("GET", s.base+"/api/v1/records/gift/b-1", beta.IntakeToken, "", nil)
	for _, u := range []string{"/", "/healthz", "/readyz", "/no-such-page"} {
		call("GET", s.base+u, "", "", nil)
	}
	// The dashboard and the exports, after a daily report for each tenant.
	for _, slug := range []string{"acme", "beta"} {
		say(exec("", "report", "--tenant", slug))
	}
	pages := dashboardPages(t, s, say, "eng@example.org", userPassword, "staff@example.org", staffPassword)
	for _, slug := range []string{"acme", "beta"} {
		csv := exec("", "audit", "export", "--tenant", slug)
		if !strings.Contains(csv, "review.") && !strings.Contains(csv, "submit") {
			t.Errorf("backstop audit export --tenant %s: no rows the run made: %.300s", slug, csv)
		}
		say(csv)
	}
	w.Stop()
	s.serve.Stop()
	for _, p := range s.procs {
		say(p.Output())
	}

	all := seen.String()
	for _, want := range []string{"virtuous request will be retried", `"status":401`, "pass finished",
		"Donor Number 10", "Edit and retry", "Missing record", "time,tenant,record_id,", "Daily reports · "} {
		if !strings.Contains(all, want) {
			t.Errorf("the captured output lacks %q: the run did not take the paths it should", want)
		}
	}
	secrets := map[string]string{
		"Virtuous API key": simKey, "refused Virtuous API key": wrongKey,
		"webhook secret": hookSecret, "second webhook secret": betaSecret,
		"webhook URL token": lastSegment(s.hookURL), "second webhook URL token": lastSegment(beta.WebhookURL),
		"intake token": s.token, "second intake token": beta.IntakeToken,
		"database password": pgPassword, "BACKSTOP_SECRET_KEY": secretKey, "user password": userPassword,
		"staff user's password": staffPassword,
	}
	for what, sec := range secrets {
		if len(sec) < 12 {
			t.Fatalf("%s %q is too short to grep for", what, sec)
		}
		// The whole secret, and its first 10 characters: a truncated
		// leak is still a leak.
		for _, needle := range []string{sec, sec[:10]} {
			if i := strings.Index(all, needle); i >= 0 {
				t.Errorf("the %s appears in Backstop's output: …%s…", what, all[max(0, i-80):min(len(all), i+len(needle)+40)])
				break
			}
		}
	}
	t.Logf("%d bytes of logs, command output, HTTP answers, %d dashboard pages and 4 audit CSV exports searched for %d secrets",
		len(all), pages, len(secrets))
}

// dashboardPages signs in as the engineer and fetches every page of the
// browser app for both tenants — home, engineering, the three queues,
// every record's page and each failed one's edit form, the runbook empty
// and after a search, the report calendar and each stored day, the audit
// trail and its CSV — then as the staff user the tenant's own; a form
// refused with a wrong password as well. Every answer goes to say; every
// page must have rendered (200), so the grep reads real pages. It returns
// how many pages it read.
func dashboardPages(t *testing.T, s *system, say func(...string), engineer, engPassword, staff, staffPassword string) int {
	t.Helper()
	n := 0
	fetch := func(c *formClient, path string) string {
		t.Helper()
		resp, err := c.c.Get(s.base + path)
		if err != nil {
			t.Fatal(err)
		}
		body := c.read(resp)
		hdr, _ := json.Marshal(resp.Header)
		say(resp.Status, string(hdr), body)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d, want the page: %.300s", path, resp.StatusCode, body)
		}
		n++
		return body
	}
	anon := newFormClient(t, s.base)
	fetch(anon, "/signin")
	req, _ := http.NewRequest("POST", s.base+"/signin", strings.NewReader(url.Values{"email": {engineer}, "password": {engPassword + "x"}}.Encode()))
	req.Header = anon.headers(sendOpts{})
	resp, err := anon.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if body := anon.read(resp); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `value="`+engineer+`"`) {
		t.Errorf("a wrong password: %d, want the form again with the email: %.300s", resp.StatusCode, body)
	} else {
		say(body)
	}

	eng := newFormClient(t, s.base)
	eng.signIn(engineer, engPassword)
	fetch(eng, "/")
	fetch(eng, "/engineering")
	var records []struct {
		ID     int64         `db:"id"`
		Slug   string        `db:"slug"`
		Status record.Status `db:"status"`
	}
	if err := s.db.DB().Select(&records, `SELECT r.id, t.slug, r.status FROM records r JOIN tenants t ON t.id = r.tenant_id ORDER BY r.id`); err != nil {
		t.Fatal(err)
	}
	var days []struct {
		Slug string    `db:"slug"`
		Day  time.Time `db:"day"`
	}
	if err := s.db.DB().Select(&days, `SELECT t.slug, d.day FROM daily_reports d JOIN tenants t ON t.id = d.tenant_id ORDER BY d.day`); err != nil {
		t.Fatal(err)
	}
	seenStatus := map[record.Status]bool{}
	tenantPages := func(c *formClient, slug string) {
		for _, q := range []string{"needs-review", "conflict", "failed"} {
			fetch(c, "/t/"+slug+"/queues/"+q)
		}
		for _, r := range records {
			if r.Slug != slug {
				continue
			}
			seenStatus[r.Status] = true
			fetch(c, fmt.Sprintf("/t/%s/records/%d", slug, r.ID))
			if r.Status == record.Failed {
				fetch(c, fmt.Sprintf("/t/%s/records/%d/edit", slug, r.ID))
			}
		}
		fetch(c, "/t/"+slug+"/lookup")
		fetch(c, "/t/"+slug+"/lookup?q=g-1")
		fetch(c, "/t/"+slug+"/lookup?q=b-1")
		fetch(c, "/t/"+slug+"/audit")
		fetch(c, "/t/"+slug+"/audit?category=intake")
		if csv := fetch(c, "/t/"+slug+"/audit.csv"); !strings.HasPrefix(csv, "time,tenant,record_id,") {
			t.Errorf("/t/%s/audit.csv is not the CSV: %.200s", slug, csv)
		}
	}
	for _, slug := range []string{"acme", "beta"} {
		tenantPages(eng, slug)
		fetch(eng, "/t/"+slug+"/reports")
		for _, d := range days {
			if d.Slug == slug {
				fetch(eng, "/t/"+slug+"/reports/"+d.Day.Format(time.DateOnly))
			}
		}
	}
	for _, st := range []record.Status{record.NeedsReview, record.Failed, record.Confirmed} {
		if !seenStatus[st] {
			t.Errorf("no %s record's page was read: the run did not take the paths it should", st)
		}
	}
	if len(days) < 2 {
		t.Errorf("got %d stored reports, want one per tenant", len(days))
	}

	st := newFormClient(t, s.base)
	st.signIn(staff, staffPassword)
	fetch(st, "/t/acme/queues/needs-review")
	tenantPages(st, "acme")
	return n
}

// withPassword is a fresh test database reached as a role of its own with a
// password (the test cluster trusts loopback, so the password only rides
// along in DATABASE_URL, as it does in production).
func withPassword(t *testing.T, password string) string {
	t.Helper()
	role := fmt.Sprintf("bs_app_%d", os.Getpid())
	admin, err := sql.Open("postgres", dbtest.ServerURL(t))
	if err != nil {
		t.Fatal(err)
	}
	// Registered before the database, so it runs after the database is dropped.
	t.Cleanup(func() { admin.Exec(`DROP ROLE IF EXISTS ` + role); admin.Close() })
	if _, err := admin.Exec(`CREATE ROLE ` + role + ` LOGIN SUPERUSER PASSWORD '` + password + `'`); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(dbtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(role, password)
	return u.String()
}

// virtuousURL is the simulator's base URL, as the acme tenant has it.
func virtuousURL(t *testing.T, s *system) string {
	t.Helper()
	var u string
	if err := s.db.DB().Get(&u, `SELECT virtuous_base_url FROM tenants WHERE id = $1`, s.tenant); err != nil {
		t.Fatal(err)
	}
	return u
}

func lastSegment(u string) string { return u[strings.LastIndex(u, "/")+1:] }
