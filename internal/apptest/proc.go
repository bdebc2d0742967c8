package apptest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"backstop/internal/secret"
	"backstop/internal/store"
	"backstop/internal/tenant"
)

// This file runs Backstop the way an operator does: the built binary as
// subprocesses (`backstop serve`, `backstop worker`, one-shot commands), so
// that fault tests can SIGKILL a worker and benchmarks measure the real
// server.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary builds cmd/backstop once per test binary and returns its path. The
// binary lives at one path per checkout, rebuilt in place (go build relinks
// only when something changed), under a lock shared by the test binaries of
// one `go test ./...`, so no run leaves a copy behind.
func Binary(tb testing.TB) string {
	tb.Helper()
	buildOnce.Do(func() { binPath, buildErr = build() })
	if buildErr != nil {
		tb.Fatal(buildErr)
	}
	return binPath
}

func build() (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(root))
	dir := filepath.Join(os.TempDir(), "backstop-bin-"+hex.EncodeToString(sum[:5]))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", err
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	path := filepath.Join(dir, "backstop")
	cmd := exec.Command("go", "build", "-o", path, "./cmd/backstop")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/backstop: %v\n%s", err, out)
	}
	return path, nil
}

// moduleRoot is the directory holding go.mod, found upwards from the test's
// working directory (its package's directory).
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("apptest: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Proc is a running backstop subprocess whose stdout and stderr are
// captured together.
type Proc struct {
	Cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	err  error // the exit status, once done is closed
}

// Start runs `backstop args…` with env added to the test's environment. The
// process is stopped (SIGINT, then SIGKILL) when tb ends if it still runs.
func Start(tb testing.TB, env []string, args ...string) *Proc {
	tb.Helper()
	cmd := exec.Command(Binary(tb), args...)
	cmd.Env = append(os.Environ(), env...)
	p := &Proc{Cmd: cmd, out: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start backstop %s: %v", strings.Join(args, " "), err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	tb.Cleanup(func() { p.Stop() })
	return p
}

// Run runs a one-shot `backstop args…` with stdin and returns its stdout;
// a non-zero exit fails tb with the command's stderr.
func Run(tb testing.TB, env []string, stdin string, args ...string) string {
	tb.Helper()
	out, errOut, code := Exec(tb, env, stdin, args...)
	if code != 0 {
		tb.Fatalf("backstop %s: exit %d\n%s", strings.Join(args, " "), code, errOut)
	}
	return out
}

// Exec runs a one-shot `backstop args…` with stdin and returns its stdout,
// its stderr and its exit code.
func Exec(tb testing.TB, env []string, stdin string, args ...string) (stdout, stderr string, code int) {
	tb.Helper()
	cmd := exec.Command(Binary(tb), args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		tb.Fatalf("backstop %s: %v", strings.Join(args, " "), err)
	}
	return o.String(), e.String(), code
}

// Wait waits for the process to exit by itself and returns its exit error.
func (p *Proc) Wait() error {
	<-p.done
	return p.err
}

// Output is everything the process has written so far.
func (p *Proc) Output() string { return p.out.String() }

// Running reports whether the process has not exited.
func (p *Proc) Running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// WaitOutput waits until the output contains s, failing tb if the process
// exits or timeout passes first.
func (p *Proc) WaitOutput(tb testing.TB, s string, timeout time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(p.Output(), s) {
		if !p.Running() {
			tb.Fatalf("backstop exited (%v) before printing %q:\n%s", p.err, s, p.Output())
		}
		if time.Now().After(deadline) {
			tb.Fatalf("backstop did not print %q within %s:\n%s", s, timeout, p.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kill sends SIGKILL and waits for the process to die: no deferred call,
// no shutdown hook, no last write runs.
func (p *Proc) Kill() {
	if p.Running() {
		p.Cmd.Process.Signal(syscall.SIGKILL)
	}
	<-p.done
}

// Stop asks the process to shut down (SIGINT) and waits up to 30s before
// killing it.
func (p *Proc) Stop() {
	if !p.Running() {
		return
	}
	p.Cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.Kill()
	}
}

// FreeAddr returns a loopback address with a port free at the time of the
// call, for a subprocess to listen on.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// WaitReady polls base+"/readyz" until it answers 200.
func WaitReady(tb testing.TB, p *Proc, base string) {
	tb.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if !p.Running() {
			tb.Fatalf("backstop exited before it was ready (%v):\n%s", p.err, p.Output())
		}
		if time.Now().After(deadline) {
			tb.Fatalf("backstop was not ready within a minute (%v):\n%s", err, p.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Serve starts `backstop serve` on a free loopback port with env (which
// must name the database and secret key) and returns it and its base URL
// once it is ready.
func Serve(tb testing.TB, env []string) (*Proc, string) {
	tb.Helper()
	addr := FreeAddr(tb)
	p := Start(tb, append(env, "BACKSTOP_ADDR="+addr), "serve")
	base := "http://" + addr
	WaitReady(tb, p, base)
	return p, base
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// CreateTenant adds a tenant to the database at dbURL, its secrets sealed
// with secretKey (the one the subprocesses get), and returns it, its intake
// token and the token of its webhook URL.
func CreateTenant(tb testing.TB, dbURL, secretKey string, n tenant.NewTenant) (*tenant.Tenant, string, string) {
	tb.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, dbURL)
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	box, err := secret.NewBox(secretKey)
	if err != nil {
		tb.Fatal(err)
	}
	t, intake, hook := n.Build(box)
	id, err := s.CreateTenant(ctx, t)
	if err != nil {
		tb.Fatal(err)
	}
	if t, err = s.TenantByID(ctx, id); err != nil {
		tb.Fatal(err)
	}
	return t, intake, hook
}

// StoredEvents is the dedupe key of every webhook delivery stored in the
// database at dbURL, to compare with what a load generator was told was
// acknowledged.
func StoredEvents(tb testing.TB, dbURL string) map[string]bool {
	tb.Helper()
	s, err := store.Open(context.Background(), dbURL)
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	var keys []string
	if err := s.DB().Select(&keys, `SELECT dedupe_key FROM inbound_events`); err != nil {
		tb.Fatal(err)
	}
	out := make(map[string]bool, len(keys))
	for _, k := range keys {
		out[k] = true
	}
	return out
}
