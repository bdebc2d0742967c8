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
	"backstop/internal/virtuous"
	"backstop/internal/virtuoussim"
)

// A full run — two tenants (one with a Virtuous key Virtuous refuses), a
// user, submissions through 5xx answers, webhooks good and forged, bad
// tokens, passes, the operator's commands — with every line Backstop logs,
// every command's output and every HTTP answer captured: none of them holds
// a secret — the Virtuous API keys, the webhook secrets and URL tokens, the
// intake tokens, the database password, the secret key, a user's password.
// `tenant add` printing the intake token once is the one intended
// exception, and its stdout is left out.
func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	const (
		pgPassword   = "pgpass-91b3e07c5a2d"
		userPassword = "correct horse battery staple 7781"
		wrongKey     = "vkey-revoked-55e1c0a9b7"
		betaSecret   = "whsec-beta-0d94ae6c21"
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
	if _, err := s.db.DB().Exec(`UPDATE records SET submitted_at = submitted_at - interval '2 days' WHERE tenant_id = $1`, s.tenant); err != nil {
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
	w.Stop()
	s.serve.Stop()
	for _, p := range s.procs {
		say(p.Output())
	}

	all := seen.String()
	for _, want := range []string{"virtuous request will be retried", `"status":401`, "pass finished"} {
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
	t.Logf("%d bytes of logs, command output and HTTP answers searched for %d secrets", len(all), len(secrets))
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
