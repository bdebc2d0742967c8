// Package dbtest gives each test its own migrated PostgreSQL database, cloned
// from a template migrated once per test binary. With TEST_DATABASE_URL unset
// it starts a private cluster (internal/pgcluster) for the package's tests and
// stops it afterwards; with it set, that server is used.
//
// Use it from TestMain:
//
//	func TestMain(m *testing.M) { dbtest.Main(m) }
package dbtest

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/lib/pq"

	"backstop/internal/pgcluster"
	"backstop/internal/store"
	"backstop/migrations"
)

var (
	serverURL    string // admin connection (database postgres) on the test server
	templateName string
	cloneMu      sync.Mutex
	counter      atomic.Int64
	setupErr     error
)

// Main sets up the server and template, runs the tests, and tears down.
func Main(m *testing.M) {
	code := func() int {
		cleanup, err := setup()
		if cleanup != nil {
			defer cleanup()
		}
		if err != nil {
			if required() {
				fmt.Fprintf(os.Stderr, "dbtest: %v\n", err)
				return 1
			}
			setupErr = err
		}
		return m.Run()
	}()
	os.Exit(code)
}

// required: under CI (or when asked) a missing database is a failure, not a skip.
func required() bool {
	return os.Getenv("CI") != "" || os.Getenv("BACKSTOP_REQUIRE_DB") != ""
}

func setup() (cleanup func(), err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		serverURL = u
	} else {
		root, err := os.MkdirTemp("", "backstop-test-")
		if err != nil {
			return nil, err
		}
		// The postgres user must be able to enter every parent of the data dir.
		os.Chmod(root, 0o755)
		cleanup = func() { os.RemoveAll(root) }
		c, err := pgcluster.Start(ctx, filepath.Join(root, "pg"), pgcluster.Options{Fast: true, Template: initdbCache(ctx)})
		if err != nil {
			return cleanup, err
		}
		cleanup = func() {
			c.Stop()
			os.RemoveAll(root)
		}
		serverURL = c.URL("postgres")
	}
	templateName, err = ensureTemplate(ctx)
	return cleanup, err
}

// initdbCache keeps one initdb'd data directory per machine and PostgreSQL
// version, so each test binary copies it instead of running initdb (seconds).
func initdbCache(ctx context.Context) string {
	bin, err := pgcluster.BinDir()
	if err != nil {
		return ""
	}
	sum := sha256.Sum256([]byte(bin))
	dir := filepath.Join(os.TempDir(), "backstop-initdb-"+hex.EncodeToString(sum[:4]))
	if _, err := os.Stat(filepath.Join(dir, "PG_VERSION")); err == nil {
		return dir
	}
	lock, err := os.OpenFile(dir+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return ""
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return ""
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if _, err := os.Stat(filepath.Join(dir, "PG_VERSION")); err == nil {
		return dir
	}
	tmp := dir + ".tmp"
	os.RemoveAll(tmp)
	c, err := pgcluster.Start(ctx, tmp, pgcluster.Options{Fast: true})
	if err != nil {
		os.RemoveAll(tmp)
		return ""
	}
	c.Stop()
	os.Remove(filepath.Join(tmp, "server.log"))
	if err := os.Rename(tmp, dir); err != nil {
		return ""
	}
	return dir
}

// ensureTemplate creates a migrated template database named after the
// migrations' content, so a shared server keeps one per schema version.
func ensureTemplate(ctx context.Context) (string, error) {
	h := sha256.New()
	fs.WalkDir(migrations.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := fs.ReadFile(migrations.FS, p)
			h.Write([]byte(p))
			h.Write(b)
		}
		return nil
	})
	name := "backstop_tmpl_" + hex.EncodeToString(h.Sum(nil)[:6])
	admin, err := sql.Open("postgres", serverURL)
	if err != nil {
		return "", err
	}
	defer admin.Close()
	conn, err := admin.Conn(ctx)
	if err != nil {
		return "", fmt.Errorf("connect to test server: %w", err)
	}
	defer conn.Close()
	// Serialise template creation between test binaries sharing a server.
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(727274)`); err != nil {
		return "", err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(727274)`)
	var exists bool
	if err := conn.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	building := name + "_building"
	conn.ExecContext(ctx, `DROP DATABASE IF EXISTS `+building)
	if _, err := conn.ExecContext(ctx, `CREATE DATABASE `+building); err != nil {
		return "", fmt.Errorf("create template: %w", err)
	}
	db, err := sql.Open("postgres", withDB(serverURL, building))
	if err != nil {
		return "", err
	}
	err = migrations.Up(ctx, db)
	db.Close()
	if err != nil {
		return "", err
	}
	if _, err := conn.ExecContext(ctx, `ALTER DATABASE `+building+` RENAME TO `+name); err != nil {
		return "", err
	}
	return name, nil
}

func withDB(u, db string) string {
	p, err := url.Parse(u)
	if err != nil {
		panic(err)
	}
	p.Path = "/" + db
	return p.String()
}

// URL returns the URL of a fresh migrated database for t, dropped when t ends.
func URL(t testing.TB) string {
	t.Helper()
	if setupErr != nil {
		t.Skipf("no test database: %v (install PostgreSQL server binaries or set TEST_DATABASE_URL)", setupErr)
	}
	if templateName == "" {
		t.Fatal("dbtest: call dbtest.Main from TestMain")
	}
	name := fmt.Sprintf("t_%d_%d_%s", os.Getpid(), counter.Add(1), sanitize(t.Name()))
	admin, err := sql.Open("postgres", serverURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	cloneMu.Lock()
	for i := 0; ; i++ {
		_, err = admin.Exec(`CREATE DATABASE ` + name + ` TEMPLATE ` + templateName)
		// Another binary's clone may hold the template for a moment.
		if err == nil || i == 20 || !strings.Contains(err.Error(), "being accessed by other users") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	cloneMu.Unlock()
	if err != nil {
		t.Fatalf("clone test database: %v", err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("postgres", serverURL)
		if err != nil {
			return
		}
		defer a.Close()
		a.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`)
	})
	return withDB(serverURL, name)
}

// Store opens a Store on a fresh database for t, closed when t ends.
func Store(t testing.TB) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// ServerURL is the admin URL of the test server (for tests that start
// Backstop as a subprocess against a database of their own).
func ServerURL(t testing.TB) string {
	if setupErr != nil {
		t.Skipf("no test database: %v", setupErr)
	}
	return serverURL
}

func sanitize(s string) string {
	s = strings.ToLower(s)
	var b strings.Builder
	for _, r := range s {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
		if b.Len() >= 30 {
			break
		}
	}
	return b.String()
}

// Ctx returns a context for one test, cancelled when it ends.
func Ctx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), cmp.Or(timeoutFromEnv(), 60*time.Second))
	t.Cleanup(cancel)
	return ctx
}

func timeoutFromEnv() time.Duration {
	d, _ := time.ParseDuration(os.Getenv("BACKSTOP_TEST_TIMEOUT"))
	return d
}
