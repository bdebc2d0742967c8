package demo_test

import (
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"backstop/internal/apptest"
	"backstop/internal/pgcluster"
)

// TestDemoFirstRun is issue 8's first run, as a newcomer has it: `backstop
// demo` (what `make run` runs) as a subprocess with no DATABASE_URL, on a
// data directory that does not exist yet. Within a couple of minutes the
// staff user finds items in all three queues and the engineer today's
// report; Ctrl-C stops everything, the private PostgreSQL too; a second
// start keeps the data.
func TestDemoFirstRun(t *testing.T) {
	if _, err := pgcluster.BinDir(); err != nil {
		t.Skipf("the demo needs PostgreSQL's server binaries (apt-get install postgresql): %v", err)
	}
	root, err := os.MkdirTemp("", "backstop-demo-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	os.Chmod(root, 0o755) // the postgres user enters it when we are root
	dataDir := filepath.Join(root, "data")
	addr := apptest.FreeAddr(t)
	base := "http://" + addr
	env := demoEnv(dataDir, addr)

	d := startDemo(t, env)
	staff := signIn(t, base, "staff@foodbank.demo", d.passwords["staff@foodbank.demo"])
	for _, q := range []string{"needs-review", "conflict", "failed"} {
		waitFor(t, 3*time.Minute, "item in the "+q+" queue", func() bool {
			return queueRows(t, staff, base+"/t/food-bank/queues/"+q) > 0
		})
	}
	eng := signIn(t, base, "engineer@backstop.demo", d.passwords["engineer@backstop.demo"])
	today := time.Now().UTC().Format("2006-01-02")
	waitFor(t, 2*time.Minute, "today's report for food-bank", func() bool {
		return status(t, eng, base+"/t/food-bank/reports/"+today) == http.StatusOK
	})

	d.interrupt(t)
	assertAllStopped(t, dataDir, addr, d.simAddr)

	// `make run` again: the same data, new passwords.
	again := startDemo(t, env)
	staff = signIn(t, base, "staff@foodbank.demo", again.passwords["staff@foodbank.demo"])
	if n := queueRows(t, staff, base+"/t/food-bank/queues/failed"); n == 0 {
		t.Error("after a restart the failed queue is empty: the data was not kept")
	}
	if strings.Contains(again.p.Output(), "back-filling") {
		t.Error("the second start back-filled history again")
	}
	again.interrupt(t)
	assertAllStopped(t, dataDir, addr, again.simAddr)
}

// demoEnv is what a newcomer's shell has: no DATABASE_URL and no BACKSTOP_
// settings but the data directory and the address (later entries win over
// the test's own environment, and an empty value counts as unset).
func demoEnv(dataDir, addr string) []string {
	env := []string{"DATABASE_URL=", "TEST_DATABASE_URL="}
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "BACKSTOP_") {
			env = append(env, k+"=")
		}
	}
	return append(env, "BACKSTOP_DATA_DIR="+dataDir, "BACKSTOP_ADDR="+addr)
}

type demoRun struct {
	p         *apptest.Proc
	passwords map[string]string
	simAddr   string
}

var (
	passwordLine = regexp.MustCompile(`(?m)^\s+.+?\s+(\S+@\S+\.demo)\s+(\S+)\s*$`)
	simLine      = regexp.MustCompile(`simulated Virtuous \(http://([0-9.:]+),`)
)

// startDemo starts `backstop demo` and waits until it serves and has
// printed its banner (the sign-in details and the simulator's address).
func startDemo(t *testing.T, env []string) *demoRun {
	t.Helper()
	p := apptest.Start(t, env, "demo", "--every", "500ms")
	p.WaitOutput(t, "Press Ctrl-C to stop", 3*time.Minute)
	d := &demoRun{p: p, passwords: map[string]string{}}
	for _, m := range passwordLine.FindAllStringSubmatch(p.Output(), -1) {
		d.passwords[m[1]] = m[2]
	}
	if len(d.passwords) != 3 {
		t.Fatalf("got %d passwords in the banner, want 3:\n%s", len(d.passwords), p.Output())
	}
	m := simLine.FindStringSubmatch(p.Output())
	if m == nil {
		t.Fatalf("the banner does not name the simulator's address:\n%s", p.Output())
	}
	d.simAddr = m[1]
	return d
}

// interrupt sends SIGINT, as Ctrl-C does, and wants a clean exit.
func (d *demoRun) interrupt(t *testing.T) {
	t.Helper()
	d.p.Cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- d.p.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("backstop demo exited with %v after SIGINT:\n%s", err, tail(d.p.Output(), 30))
		}
	case <-time.After(90 * time.Second):
		t.Fatalf("backstop demo still running 90s after SIGINT:\n%s", tail(d.p.Output(), 30))
	}
}

// assertAllStopped: the private cluster is down and no process of the
// demo's is left: nothing answers on its ports and no process names its
// data directory.
func assertAllStopped(t *testing.T, dataDir, addr, simAddr string) {
	t.Helper()
	pg := filepath.Join(dataDir, "postgres")
	if pgcluster.Running(pg) {
		t.Errorf("the private PostgreSQL in %s is still running", pg)
	}
	if _, err := os.Stat(filepath.Join(pg, "postmaster.pid")); err == nil {
		t.Errorf("%s/postmaster.pid is still there", pg)
	}
	for _, a := range []string{addr, simAddr} {
		if c, err := net.DialTimeout("tcp", a, time.Second); err == nil {
			c.Close()
			t.Errorf("something still listens on %s", a)
		}
	}
	if pids := processesMentioning(dataDir); len(pids) > 0 {
		t.Errorf("processes still running with %s in their command line: %v", dataDir, pids)
	}
}

func processesMentioning(s string) []string {
	entries, _ := os.ReadDir("/proc")
	var pids []string
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !strings.Contains(string(b), s) {
			continue
		}
		// A zombie or an exiting process is not "left running".
		if st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil && strings.Contains(string(st), ") Z ") {
			continue
		}
		pids = append(pids, e.Name()+": "+strings.ReplaceAll(string(b), "\x00", " "))
	}
	return pids
}

var csrfValue = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// signIn signs in through the sign-in form, as a browser would.
func signIn(t *testing.T, base, email, password string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	page := get(t, c, base+"/signin")
	m := csrfValue.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("the sign-in page has no CSRF field:\n%s", page)
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/signin", strings.NewReader(url.Values{
		"_csrf": {m[1]}, "email": {email}, "password": {password}, "next": {"/"},
	}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.Contains(string(body), `id="signin-error"`) {
		t.Fatalf("sign-in as %s: status %d\n%s", email, resp.StatusCode, body)
	}
	return c
}

// queueRows counts a queue page's rows (each has a selection checkbox).
func queueRows(t *testing.T, c *http.Client, u string) int {
	t.Helper()
	return strings.Count(get(t, c, u), `name="sel"`)
}

func get(t *testing.T, c *http.Client, u string) string {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d\n%s", u, resp.StatusCode, body)
	}
	return string(body)
}

func status(t *testing.T, c *http.Client, u string) int {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func waitFor(t *testing.T, limit time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s", what, limit)
		}
		time.Sleep(time.Second)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
