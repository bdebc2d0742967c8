package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"backstop/internal/dbtest"
)

func TestMain(m *testing.M) {
	// Started by a test as `backstop CMD…` (see runChild): be the binary.
	if args := os.Getenv(childArgsEnv); args != "" {
		os.Exit(childMain(strings.Split(args, "\x1f")))
	}
	dbtest.Main(m)
}

// cli runs the binary's commands in-process against one test database.
type cli struct {
	t   testing.TB
	env map[string]string
}

func newCLI(t testing.TB) *cli {
	return &cli{t: t, env: map[string]string{
		"DATABASE_URL":        dbtest.URL(t),
		"BACKSTOP_SECRET_KEY": "test secret key 0123456789",
		"BACKSTOP_BASE_URL":   "https://backstop.example.org",
	}}
}

// run returns stdout, stderr and the exit code main would use.
func (c *cli) run(stdin string, args ...string) (string, string, int) {
	var out, errb bytes.Buffer
	err := run(context.Background(), args, &stdio{in: strings.NewReader(stdin), out: &out, err: &errb, getenv: func(k string) string { return c.env[k] }})
	code := 0
	if err != nil {
		code = exitCode(err)
		errb.WriteString(err.Error())
	}
	return out.String(), errb.String(), code
}

func (c *cli) count(table string) int {
	c.t.Helper()
	out, _, code := c.run("", "tenant", "list", "--json")
	if code != 0 {
		c.t.Fatalf("tenant list failed")
	}
	if table == "tenants" {
		var rows []any
		json.Unmarshal([]byte(out), &rows)
		return len(rows)
	}
	return -1
}

func TestTenantAdd(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	out, stderr, code := c.run("", "tenant", "add", "--slug", "food-bank", "--name", "Food Bank", "--virtuous-url", "https://api.virtuoussoftware.com", "--virtuous-key", "secret-key-1")
	if code != 0 {
		t.Fatalf("got exit %d: %s", code, stderr)
	}
	var got map[string]string
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("output is not JSON: %q", out)
	}
	if got["slug"] != "food-bank" || !strings.HasPrefix(got["intake_token"], "bsi_") ||
		!strings.HasPrefix(got["webhook_url"], "https://backstop.example.org/webhooks/virtuous/food-bank/") {
		t.Errorf("got %v, want slug, a bsi_ token and the webhook URL", got)
	}
	if strings.Contains(out+stderr, "secret-key-1") {
		t.Error("the Virtuous API key was printed")
	}
}

func TestTenantAndUserInputErrors(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	if _, stderr, code := c.run("", "tenant", "add", "--slug", "acme", "--name", "Acme", "--virtuous-key", "k"); code != 0 {
		t.Fatalf("setup: %s", stderr)
	}
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"bad slug", "", []string{"tenant", "add", "--slug", "Not A Slug", "--name", "X", "--virtuous-key", "k"}, "not a valid slug"},
		{"duplicate slug", "", []string{"tenant", "add", "--slug", "acme", "--name", "Acme 2", "--virtuous-key", "k"}, "a tenant with this slug already exists"},
		{"missing name", "", []string{"tenant", "add", "--slug", "acme2", "--virtuous-key", "k"}, "name: must not be empty"},
		{"missing key", "", []string{"tenant", "add", "--slug", "acme2", "--name", "A"}, "virtuous-key: must not be empty"},
		{"bad url", "", []string{"tenant", "add", "--slug", "acme2", "--name", "A", "--virtuous-key", "k", "--virtuous-url", "ftp:/x"}, "not an absolute http(s) URL"},
		{"staff without tenant", "a long password\n", []string{"user", "add", "--email", "s@example.org", "--role", "staff"}, "staff user belongs to exactly one tenant"},
		{"engineer with tenant", "a long password\n", []string{"user", "add", "--email", "e@example.org", "--role", "engineer", "--tenant", "acme"}, "belongs to none"},
		{"empty password", "\n", []string{"user", "add", "--email", "s@example.org", "--role", "staff", "--tenant", "acme"}, "password: must not be empty"},
		{"no password at all", "", []string{"user", "add", "--email", "s@example.org", "--role", "staff", "--tenant", "acme"}, "password: must not be empty"},
		{"short password", "short\n", []string{"user", "add", "--email", "s@example.org", "--role", "staff", "--tenant", "acme"}, "at least 10 characters"},
		{"bad role", "a long password\n", []string{"user", "add", "--email", "s@example.org", "--role", "admin"}, "not a role"},
		{"bad email", "a long password\n", []string{"user", "add", "--email", "nobody", "--role", "engineer"}, "not an email address"},
		{"unknown tenant", "a long password\n", []string{"user", "add", "--email", "s@example.org", "--role", "staff", "--tenant", "nope"}, "not found"},
		{"tenant set out of range", "", []string{"tenant", "set", "--slug", "acme", "--missed-every", "2h"}, "outside 4h0m0s–12h0m0s"},
		{"tenant set bad policy", "", []string{"tenant", "set", "--slug", "acme", "--drift-policy", "coin-flip"}, "not a policy"},
		{"tenant set inconsistent", "", []string{"tenant", "set", "--slug", "acme", "--needs-review-after", "12h"}, "must be longer than stuck-after"},
		{"tenant set bad owner", "", []string{"tenant", "set", "--slug", "acme", "--field-owner", "shoe_size=platform"}, "unknown field"},
		{"unknown command", "", []string{"tenant", "remove"}, "unknown command"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := c.run(tc.stdin, tc.args...)
			if code == 0 {
				t.Fatalf("got exit 0, want a failure")
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("got stderr %q, want it to say %q", stderr, tc.want)
			}
		})
	}
	if n := c.count("tenants"); n != 1 {
		t.Errorf("got %d tenants, want only the first", n)
	}
	// A user with a good password now works, and a second one with the same email does not.
	if _, stderr, code := c.run("a long password\n", "user", "add", "--email", "s@example.org", "--role", "staff", "--tenant", "acme"); code != 0 {
		t.Fatalf("valid user: %s", stderr)
	}
	if _, stderr, code := c.run("a long password\n", "user", "add", "--email", "S@Example.org", "--role", "engineer"); code != 2 || !strings.Contains(stderr, "already exists") {
		t.Errorf("duplicate email: got %d %q, want exit 2 saying it already exists", code, stderr)
	}
}

func TestTenantSet(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.run("", "tenant", "add", "--slug", "acme", "--name", "Acme", "--virtuous-key", "k")
	if _, stderr, code := c.run("", "tenant", "set", "--slug", "acme", "--drift-policy", "ownership", "--field-owner", "email=platform", "--stuck-after", "12h", "--missed-every", "4h"); code != 0 {
		t.Fatalf("got %d %s", code, stderr)
	}
	out, _, _ := c.run("", "tenant", "list", "--json")
	if !strings.Contains(out, `"DriftPolicy":"ownership"`) || !strings.Contains(out, `"StuckAfter":"12h0m0s"`) {
		t.Errorf("got %s, want the new policy and window", out)
	}
}

func TestHelp(t *testing.T) {
	t.Parallel()
	c := &cli{t: t, env: map[string]string{}}
	_, stderr, code := c.run("", "--help")
	if code != 0 || !strings.Contains(stderr, "tenant") || !strings.Contains(stderr, "DATABASE_URL") {
		t.Errorf("--help: got %d %q", code, stderr)
	}
	_, stderr, code = c.run("", "tenant", "add", "--help")
	if code != 0 || !strings.Contains(stderr, "-virtuous-key") || !strings.Contains(stderr, "-webhook-secret") {
		t.Errorf("tenant add --help: got %d %q", code, stderr)
	}
}

// The worker's job limits are checked before anything starts: a rescue
// sooner than the job timeout would run a live job twice.
func TestWorkerJobLimitFlags(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	for _, tc := range []struct {
		args  []string
		field string
	}{
		{[]string{"worker", "--job-timeout", "0s"}, "job-timeout"},
		{[]string{"worker", "--pass-timeout", "-1m"}, "pass-timeout"},
		{[]string{"worker", "--job-timeout", "2m", "--rescue-after", "1m"}, "rescue-after"},
		{[]string{"all", "--rescue-after", "-1s"}, "rescue-after"},
	} {
		_, stderr, code := c.run("", tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.field) {
			t.Errorf("%v: got exit %d %q, want 2 naming %s", tc.args, code, stderr, tc.field)
		}
	}
}
