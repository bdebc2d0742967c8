// Package pgcluster runs a private PostgreSQL server from the machine's own
// server binaries (initdb, pg_ctl), so that `make run` and the tests need no
// database set up by hand. The cluster listens on loopback at a free port and
// on a unix socket in a short private directory.
package pgcluster

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Options tune a cluster. The zero value is a durable cluster for people.
type Options struct {
	// Fast turns off fsync and synchronous commit: for tests and benchmarks,
	// whose data is disposable.
	Fast bool
	// Template is an initdb'd data directory to copy instead of running
	// initdb again (tests use one per machine to start in a fraction of the time).
	Template string
	// Log receives progress lines; nil discards them.
	Log func(format string, args ...any)
	// Port to listen on; 0 picks a free one. A test restarting a cluster
	// it stopped passes the old port, so that clients reconnect.
	Port int
}

// Cluster is a running private PostgreSQL server.
type Cluster struct {
	DataDir   string
	SocketDir string
	Port      int
	bin       string
	runAsPG   bool
	attached  bool // started by another process: Stop leaves it running
}

// ErrNoServer means the machine has no PostgreSQL server binaries.
var ErrNoServer = errors.New("no PostgreSQL server binaries found (install the postgresql package, or set DATABASE_URL)")

// BinDir finds the directory holding initdb and pg_ctl: PATH first, then the
// newest /usr/lib/postgresql/*/bin.
func BinDir() (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if _, err := exec.LookPath("initdb"); err == nil {
			real, err := filepath.EvalSymlinks(p)
			if err != nil {
				real = p
			}
			return filepath.Dir(real), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			return d, nil
		}
	}
	return "", ErrNoServer
}

func versionOf(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// Start initialises dataDir when it holds no cluster yet, then starts the
// server. A server still running from an earlier start on the same dataDir is
// reported as an error rather than shared, so two owners never race.
func Start(ctx context.Context, dataDir string, opts Options) (*Cluster, error) {
	logf := opts.Log
	if logf == nil {
		logf = func(string, ...any) {}
	}
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	dataDir, err = filepath.Abs(dataDir)
	if err != nil {
		return nil, err
	}
	c := &Cluster{DataDir: dataDir, bin: bin, runAsPG: os.Geteuid() == 0}
	if err := os.MkdirAll(filepath.Dir(dataDir), 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", filepath.Dir(dataDir), err)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		if err := c.create(ctx, opts, logf); err != nil {
			return nil, err
		}
	}
	if err := c.chown(dataDir); err != nil {
		return nil, err
	}
	if pid, ok := runningPID(dataDir); ok {
		return nil, fmt.Errorf("a PostgreSQL server (pid %d) is already running on %s: stop the other Backstop first", pid, dataDir)
	}
	// Keep the socket path short: unix socket paths are limited to 107 bytes.
	sum := sha256.Sum256([]byte(dataDir))
	c.SocketDir = filepath.Join(os.TempDir(), "bspg-"+hex.EncodeToString(sum[:5]))
	if err := os.MkdirAll(c.SocketDir, 0o755); err != nil {
		return nil, fmt.Errorf("create socket dir: %w", err)
	}
	if err := c.chown(c.SocketDir); err != nil {
		return nil, err
	}
	if c.Port = opts.Port; c.Port == 0 {
		if c.Port, err = freePort(); err != nil {
			return nil, err
		}
	}
	pgOpts := fmt.Sprintf("-c port=%d -c listen_addresses=127.0.0.1 -c unix_socket_directories=%s -c max_connections=200 -c shared_buffers=128MB",
		c.Port, c.SocketDir)
	if opts.Fast {
		pgOpts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
	}
	logf("starting PostgreSQL in %s on port %d", dataDir, c.Port)
	out, err := c.run(ctx, "pg_ctl", "-D", dataDir, "-w", "-t", "60", "-l", filepath.Join(dataDir, "server.log"), "-o", pgOpts, "start")
	if err != nil {
		tail, _ := os.ReadFile(filepath.Join(dataDir, "server.log"))
		return nil, fmt.Errorf("pg_ctl start: %w\n%s\n%s", err, out, lastLines(tail, 15))
	}
	return c, nil
}

func (c *Cluster) create(ctx context.Context, opts Options, logf func(string, ...any)) error {
	if opts.Template != "" {
		if _, err := os.Stat(filepath.Join(opts.Template, "PG_VERSION")); err == nil {
			logf("copying initdb template %s", opts.Template)
			if out, err := exec.CommandContext(ctx, "cp", "-a", opts.Template, c.DataDir).CombinedOutput(); err != nil {
				return fmt.Errorf("copy template cluster: %w: %s", err, out)
			}
			return nil
		}
	}
	logf("initialising a new PostgreSQL cluster in %s", c.DataDir)
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return err
	}
	if err := c.chown(c.DataDir); err != nil {
		return err
	}
	args := []string{"-D", c.DataDir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C"}
	if opts.Fast {
		args = append(args, "--no-sync")
	}
	if out, err := c.run(ctx, "initdb", args...); err != nil {
		os.RemoveAll(c.DataDir)
		return fmt.Errorf("initdb: %w\n%s", err, out)
	}
	return nil
}

// StartOrAttach starts the cluster in dataDir, or, when another process of
// ours already runs it (`make run` in one terminal, `backstop tenant add` in
// another), connects to that one and leaves it running on Stop.
func StartOrAttach(ctx context.Context, dataDir string, opts Options) (*Cluster, error) {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, err
	}
	if _, ok := runningPID(abs); ok {
		return attach(abs)
	}
	return Start(ctx, abs, opts)
}

// attach reads the running server's port from postmaster.pid (line 4).
func attach(dataDir string) (*Cluster, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		return nil, err
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 5 {
		return nil, fmt.Errorf("%s/postmaster.pid is incomplete; is the server still starting?", dataDir)
	}
	port, err := strconv.Atoi(strings.TrimSpace(lines[3]))
	if err != nil {
		return nil, fmt.Errorf("%s/postmaster.pid: bad port %q", dataDir, lines[3])
	}
	return &Cluster{DataDir: dataDir, SocketDir: strings.TrimSpace(lines[4]), Port: port, attached: true}, nil
}

// URL is a lib/pq connection URL for database name on this cluster.
func (c *Cluster) URL(dbname string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.Port, dbname)
}

// Stop shuts the server down (fast mode: active sessions are ended).
func (c *Cluster) Stop() error {
	if c.attached {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := c.run(ctx, "pg_ctl", "-D", c.DataDir, "-w", "-t", "50", "-m", "fast", "stop")
	if err != nil {
		return fmt.Errorf("pg_ctl stop: %w: %s", err, out)
	}
	os.Remove(c.SocketDir)
	return nil
}

// Crash stops the server the way a power cut does (immediate mode: no
// shutdown checkpoint; the next start replays the WAL). Fault tests use it.
func (c *Cluster) Crash() error {
	if c.attached {
		return errors.New("pgcluster: will not crash a cluster another process started")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if out, err := c.run(ctx, "pg_ctl", "-D", c.DataDir, "-w", "-t", "50", "-m", "immediate", "stop"); err != nil {
		return fmt.Errorf("pg_ctl stop -m immediate: %w: %s", err, out)
	}
	return nil
}

// Running reports whether the server process for dataDir is alive.
func Running(dataDir string) bool {
	_, ok := runningPID(dataDir)
	return ok
}

func runningPID(dataDir string) (int, bool) {
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		return 0, false
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil || pid <= 0 {
		return 0, false
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return 0, false
	}
	return pid, true
}

// run executes a server binary, as the postgres user when we are root:
// initdb and postgres refuse to run as root.
func (c *Cluster) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	path := filepath.Join(c.bin, name)
	var cmd *exec.Cmd
	if c.runAsPG {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, path, args...)
	}
	// The server must outlive a Ctrl-C sent to our process group: we stop it
	// ourselves, in order, after the app has closed its connections.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Dir = "/"
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	return buf.Bytes(), err
}

func (c *Cluster) chown(path string) error {
	if !c.runAsPG {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return fmt.Errorf("running as root needs a postgres user to own the cluster: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return filepath.Walk(path, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
