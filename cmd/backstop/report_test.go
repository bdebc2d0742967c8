package main

import (
	"database/sql"
	"encoding/json"
	"strings"
	"testing"
	"time"

	_ "github.com/lib/pq"
)

func (c *cli) db() *sql.DB {
	c.t.Helper()
	db, err := sql.Open("postgres", c.env["DATABASE_URL"])
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { db.Close() })
	return db
}

func (c *cli) rows(table string) int {
	c.t.Helper()
	var n int
	if err := c.db().QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		c.t.Fatal(err)
	}
	return n
}

// backstop report regenerates, stores and prints the day's report; bad
// input exits 2 naming the flag and writes nothing.
func TestReportCommand(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	if _, stderr, code := c.run("", "tenant", "add", "--slug", "acme", "--name", "Acme", "--virtuous-key", "k"); code != 0 {
		t.Fatalf("setup: %s", stderr)
	}
	tomorrow := time.Now().UTC().AddDate(0, 0, 1).Format(time.DateOnly)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no tenant", []string{"report"}, "tenant: required"},
		{"unknown tenant", []string{"report", "--tenant", "nope"}, "not found"},
		{"bad date", []string{"report", "--tenant", "acme", "--date", "2026-13-01"}, "date: "},
		{"future date", []string{"report", "--tenant", "acme", "--date", tomorrow}, "date: " + tomorrow + " has not begun"},
		{"bad format", []string{"report", "--tenant", "acme", "--format", "xml"}, "format: \"xml\" is not text or json"},
		{"stray argument", []string{"report", "--tenant", "acme", "extra"}, "unexpected argument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := c.run("", tc.args...)
			if code != 2 || !strings.Contains(stderr, tc.want) {
				t.Errorf("got exit %d %q, want 2 saying %q", code, stderr, tc.want)
			}
		})
	}
	if n := c.rows("daily_reports"); n != 0 {
		t.Fatalf("bad input wrote %d reports", n)
	}

	out, stderr, code := c.run("", "report", "--tenant", "acme", "--date", "2026-01-15", "--format", "json")
	if code != 0 {
		t.Fatalf("got exit %d: %s", code, stderr)
	}
	var rep struct {
		Tenant, Date, Verdict string
		AsOf                  time.Time `json:"as_of"`
		Metrics               []struct{ Name, Verdict, Healthy, Investigate string }
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if rep.Tenant != "acme" || rep.Date != "2026-01-15" || rep.Verdict != "healthy" || len(rep.Metrics) != 12 ||
		!rep.AsOf.Equal(time.Date(2026, 1, 16, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("got %+v, want acme's healthy report of 2026-01-15 as of its end with 12 metrics", rep)
	}
	for _, m := range rep.Metrics {
		if m.Healthy == "" || m.Investigate == "" || m.Verdict == "" {
			t.Errorf("metric %+v lacks its healthy value, rule or verdict", m)
		}
	}
	out, _, code = c.run("", "report", "--tenant", "acme")
	if code != 0 || !strings.Contains(out, "Records in needs_review") || !strings.Contains(out, "HEALTHY") {
		t.Errorf("text report: got %d\n%s", code, out)
	}
	if n := c.rows("daily_reports"); n != 2 {
		t.Errorf("got %d stored reports, want 2 (the past day and today)", n)
	}
	_, stderr, _ = c.run("", "report", "--help")
	if !strings.Contains(stderr, "pending_age_minutes") || !strings.Contains(stderr, "recovered_share_pct") || !strings.Contains(stderr, "-format") {
		t.Errorf("report --help lacks the thresholds or flags:\n%s", stderr)
	}
}

func TestTenantSetThresholds(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.run("", "tenant", "add", "--slug", "acme", "--name", "Acme", "--virtuous-key", "k")
	for _, tc := range []struct{ value, want string }{
		{"shoe_size=3", "threshold: unknown metric threshold \"shoe_size\""},
		{"failed_max=-1", "not a non-negative number"},
		{"failed_max=1.5", "must be a whole number"},
		{"pending_age_minutes=0", "outside 1–10080"},
		{"recovered_share_pct=0.001", "more than 2 decimals"},
		{"recovered_share_pct=101", "outside 0.01–100"},
		{"submitted_days=\"2\"", "not a non-negative number"},
		{"failed_max", "want METRIC=NUMBER"},
	} {
		_, stderr, code := c.run("", "tenant", "set", "--slug", "acme", "--threshold", tc.value)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("--threshold %s: got %d %q, want 2 saying %q", tc.value, code, stderr, tc.want)
		}
	}
	var th string
	c.db().QueryRow(`SELECT thresholds::text FROM tenants`).Scan(&th)
	if th != "{}" {
		t.Fatalf("refused thresholds were stored: %s", th)
	}
	if _, stderr, code := c.run("", "tenant", "set", "--slug", "acme", "--threshold", "failed_max=3", "--threshold", "recovered_share_pct=2.5"); code != 0 {
		t.Fatalf("valid thresholds: %d %s", code, stderr)
	}
	out, _, _ := c.run("", "report", "--tenant", "acme", "--format", "json")
	if !strings.Contains(out, `"investigate": "more than 3"`) || !strings.Contains(out, "2.5% or more") {
		t.Errorf("the report does not use the tenant's thresholds:\n%s", out)
	}
}
