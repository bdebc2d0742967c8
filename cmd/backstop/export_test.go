package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"backstop/internal/audit"
	"backstop/internal/store"
)

// childArgsEnv makes the test binary run as `backstop ARGS…` (arguments
// separated by \x1f): the export is measured in a process of its own,
// running the command's real code path, main's run().
const childArgsEnv = "BACKSTOP_TEST_CHILD_ARGS"

func childMain(args []string) int {
	err := run(context.Background(), args, &stdio{in: os.Stdin, out: os.Stdout, err: os.Stderr, getenv: os.Getenv})
	// The kernel's high-water mark of this process's resident memory.
	if b, rerr := os.ReadFile("/proc/self/status"); rerr == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "VmHWM:") {
				fmt.Fprintln(os.Stderr, "child "+line)
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "backstop:", err)
		return exitCode(err)
	}
	return 0
}

// child is a running `backstop` subprocess.
type child struct {
	cmd    *exec.Cmd
	stdout io.ReadCloser
	stderr bytes.Buffer
}

func startChild(tb testing.TB, env map[string]string, args ...string) *child {
	tb.Helper()
	c := &child{cmd: exec.Command(os.Args[0])}
	c.cmd.Env = append(os.Environ(), childArgsEnv+"="+strings.Join(args, "\x1f"))
	for k, v := range env {
		c.cmd.Env = append(c.cmd.Env, k+"="+v)
	}
	c.cmd.Stderr = &c.stderr
	var err error
	if c.stdout, err = c.cmd.StdoutPipe(); err != nil {
		tb.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	return c
}

// wait returns the child's peak resident memory in bytes, as getrusage
// saw it (ru_maxrss) and as the child's /proc/self/status said (VmHWM).
func (c *child) wait(tb testing.TB) (maxRSS, vmHWM int64) {
	tb.Helper()
	if err := c.cmd.Wait(); err != nil {
		tb.Fatalf("child: %v\n%s", err, c.stderr.String())
	}
	maxRSS = c.cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss * 1024 // KiB on Linux
	for _, line := range strings.Split(c.stderr.String(), "\n") {
		if f := strings.Fields(line); len(f) == 4 && f[1] == "VmHWM:" {
			kib, _ := strconv.ParseInt(f[2], 10, 64)
			vmHWM = kib * 1024
		}
	}
	if vmHWM == 0 {
		tb.Fatalf("the child did not report VmHWM:\n%s", c.stderr.String())
	}
	return maxRSS, vmHWM
}

const (
	exportRecords = 100_000
	exportBase    = "2026-01-01T00:00:00Z"
)

// seedExport inserts exportRecords records and n audit rows for tenant
// acme with generate_series: row g (1…n) is at exportBase + g seconds, on
// record (g−1) mod exportRecords (none when g is a multiple of 50,000), and
// some cells would be formulas: every 1000th record's source reference,
// every 7th row's actor.
func seedExport(tb testing.TB, db *sql.DB, n int) (tenantID, firstRecord int64) {
	tb.Helper()
	if err := db.QueryRow(`SELECT id FROM tenants WHERE slug = 'acme'`).Scan(&tenantID); err != nil {
		tb.Fatal(err)
	}
	if _, err := db.Exec(`
		INSERT INTO records (tenant_id, kind, platform_id, source, source_ref, ext_source, ext_id, status,
		                     payload, payload_sha, created_at, platform_updated_at, updated_at)
		SELECT $1, 'gift', 'order-' || k, 'stripe',
		       CASE WHEN k % 1000 = 0 THEN '=HYPERLINK("http://evil/' || k || '")' ELSE 'pi_' || k END,
		       'Backstop-Stripe', 'txn-' || k, 'confirmed', '{}', '\x01', now(), now(), now()
		FROM generate_series(1, $2::int) k`, tenantID, exportRecords); err != nil {
		tb.Fatal(err)
	}
	if err := db.QueryRow(`SELECT min(id) FROM records WHERE tenant_id = $1`, tenantID).Scan(&firstRecord); err != nil {
		tb.Fatal(err)
	}
	if _, err := db.Exec(`
		INSERT INTO audit_log (tenant_id, record_id, at, actor, action, category, from_status, to_status, details)
		SELECT $1, CASE WHEN g % 50000 = 0 THEN NULL ELSE $2 + (g - 1) % $3 END,
		       $4::timestamptz + g * interval '1 second',
		       CASE WHEN g % 7 = 0 THEN '@system' ELSE 'system:reconcile' END,
		       'confirmed.reconciliation', 'stuck', 'submitted', 'confirmed',
		       jsonb_build_object('n', g, 'note', 'recovered, "quoted"')
		FROM generate_series(1, $5::int) g`, tenantID, firstRecord, exportRecords, exportBase, n); err != nil {
		tb.Fatal(err)
	}
	if _, err := db.Exec(`ANALYZE records; ANALYZE audit_log`); err != nil {
		tb.Fatal(err)
	}
	return tenantID, firstRecord
}

// expectedRow is row g of seedExport as the export must write it.
func expectedRow(g, firstRecord int64) []string {
	base, _ := time.Parse(time.RFC3339, exportBase)
	k := (g-1)%exportRecords + 1
	rec, pid, ref, src, ts, tid := strconv.FormatInt(firstRecord+k-1, 10), fmt.Sprintf("order-%d", k), fmt.Sprintf("pi_%d", k), "stripe", "Backstop-Stripe", fmt.Sprintf("txn-%d", k)
	if k%1000 == 0 {
		ref = fmt.Sprintf(`'=HYPERLINK("http://evil/%d")`, k)
	}
	if g%50000 == 0 {
		rec, pid, ref, src, ts, tid = "", "", "", "", "", ""
	}
	actor := "system:reconcile"
	if g%7 == 0 {
		actor = "'@system"
	}
	return []string{base.Add(time.Duration(g) * time.Second).Format(audit.TimeFormat), "acme", rec, pid, src, ref, ts, tid,
		"confirmed.reconciliation", "stuck", actor, "submitted", "confirmed", fmt.Sprintf(`{"n": %d, "note": "recovered, \"quoted\""}`, g)}
}

// readExport parses the child's CSV as it streams, checking the header,
// every row's time and the sampled rows in full, and returns the row count.
func readExport(tb testing.TB, r io.Reader, firstRecord int64, sample map[int64]bool) int64 {
	tb.Helper()
	cr := csv.NewReader(bufio.NewReaderSize(r, 1<<16))
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil || strings.Join(head, ",") != strings.Join(audit.Header, ",") {
		tb.Fatalf("header %q (%v), want %q", head, err, audit.Header)
	}
	base, _ := time.Parse(time.RFC3339, exportBase)
	var g int64
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			tb.Fatalf("row %d does not parse: %v", g+1, err)
		}
		g++
		if want := base.Add(time.Duration(g) * time.Second).Format(audit.TimeFormat); rec[0] != want {
			tb.Fatalf("row %d: time %q, want %q (out of order or missing rows)", g, rec[0], want)
		}
		if sample[g] {
			if want := expectedRow(g, firstRecord); strings.Join(rec, "|") != strings.Join(want, "|") {
				tb.Errorf("row %d:\n got %q\nwant %q", g, rec, want)
			}
		}
	}
	return g
}

const million = 1_000_000

// 1,000,000 audit rows export as valid CSV from a `backstop audit export`
// process whose peak resident memory stays under 64 MiB.
func TestAuditExportMillionRows(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	if _, stderr, code := c.run("", "tenant", "add", "--slug", "acme", "--name", "Acme", "--virtuous-key", "k"); code != 0 {
		t.Fatalf("setup: %s", stderr)
	}
	_, first := seedExport(t, c.db(), million)
	sample := map[int64]bool{}
	for _, g := range []int64{1, 2, 7, 999, 1000, 49_999, 50_000, 100_000, 100_001, 123_457, 500_000, 999_999, million} {
		sample[g] = true
	}
	for g := int64(13); g < million; g += 9_973 {
		sample[g] = true
	}
	ch := startChild(t, c.env, "audit", "export", "--tenant", "acme")
	n := readExport(t, ch.stdout, first, sample)
	maxRSS, hwm := ch.wait(t)
	t.Logf("%d rows; child peak RSS: getrusage %.1f MiB, VmHWM %.1f MiB", n, float64(maxRSS)/(1<<20), float64(hwm)/(1<<20))
	if n != million {
		t.Errorf("got %d rows, want %d", n, million)
	}
	if !strings.Contains(ch.stderr.String(), "1000000 audit entries exported") {
		t.Errorf("stderr %q lacks the count", ch.stderr.String())
	}
	const limit = 64 << 20
	if maxRSS >= limit || hwm >= limit {
		t.Errorf("peak RSS %d / VmHWM %d bytes, want under 64 MiB", maxRSS, hwm)
	}
}

// The flags select what the export holds; bad ones exit 2 before anything
// is written.
func TestAuditExportFlags(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.run("", "tenant", "add", "--slug", "acme", "--name", "Acme", "--virtuous-key", "k")
	_, first := seedExport(t, c.db(), 200)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"audit", "export"}, "tenant: required"},
		{[]string{"audit", "export", "--tenant", "nope"}, "not found"},
		{[]string{"audit", "export", "--tenant", "acme", "--since", "yesterday"}, "since: \"yesterday\" is not an RFC 3339 time"},
		{[]string{"audit", "export", "--tenant", "acme", "--since", "2026-02-01", "--until", "2026-01-01"}, "until: must be after since"},
		{[]string{"audit", "export", "--tenant", "acme", "--record", "x"}, "record: \"x\" is not a record id"},
		{[]string{"audit", "export", "--tenant", "acme", "--action", "a,,b"}, "action: must not be empty"},
	} {
		out, stderr, code := c.run("", tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) || out != "" {
			t.Errorf("%v: got exit %d %q with %d bytes out, want 2 saying %q and nothing written", tc.args, code, stderr, len(out), tc.want)
		}
	}
	count := func(args ...string) int {
		out, stderr, code := c.run("", append([]string{"audit", "export", "--tenant", "acme"}, args...)...)
		if code != 0 {
			t.Fatalf("%v: %d %s", args, code, stderr)
		}
		recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		return len(recs) - 1
	}
	for _, tc := range []struct {
		args []string
		want int
	}{
		{nil, 200},
		{[]string{"--since", "2026-01-01T00:01:40Z"}, 101},                // rows 100…200
		{[]string{"--until", "2026-01-01T00:00:10Z"}, 9},                  // rows 1…9
		{[]string{"--since", "2026-01-01", "--until", "2026-01-01"}, 200}, // the whole day
		{[]string{"--actor", "@system"}, 28},                              // every 7th
		{[]string{"--action", "confirmed.reconciliation,drift.resolved"}, 200},
		{[]string{"--category", "drift"}, 0},
		{[]string{"--record", strconv.FormatInt(first+4, 10)}, 1},
	} {
		if got := count(tc.args...); got != tc.want {
			t.Errorf("%v: got %d rows, want %d", tc.args, got, tc.want)
		}
	}
}

// BenchmarkAuditExport: rows per second of `backstop audit export` over
// 1,000,000 rows, end to end through a pipe, and the process's peak RSS.
// Each round also measures two baselines on the same rows, so that the
// ratios mean something on a shared machine: psql writing the same rows
// as CSV to /dev/null (C from end to end) and a bare lib/pq read of them
// that discards each row (what any export through lib/pq must pay).
// The parent only counts the export's rows and bytes, quote-aware: checking
// content is TestAuditExportMillionRows' job, and parsing a million rows
// here would measure the checker, on the same two cores as the export.
func BenchmarkAuditExport(b *testing.B) {
	c := newCLI(b)
	if _, stderr, code := c.run("", "tenant", "add", "--slug", "acme", "--name", "Acme", "--virtuous-key", "k"); code != 0 {
		b.Fatalf("setup: %s", stderr)
	}
	tenantID, _ := seedExport(b, c.db(), million)
	settings, query := store.AuditExportBaseline(tenantID)
	db := c.db()
	var peak, size int64
	var rates, vsPsql, vsRead, cpu []float64
	for b.Loop() {
		start := time.Now()
		ch := startChild(b, c.env, "audit", "export", "--tenant", "acme")
		n, sz := countCSV(b, ch.stdout)
		maxRSS, _ := ch.wait(b)
		rate := million / time.Since(start).Seconds()
		if n != million {
			b.Fatalf("got %d rows, want %d", n, million)
		}
		b.StopTimer()
		psqlRows, readRate := psqlRate(b, c.env["DATABASE_URL"], settings, query), libpqReadRate(b, db, settings, query)
		b.StartTimer()
		rates, vsPsql, vsRead = append(rates, rate), append(vsPsql, rate/psqlRows), append(vsRead, rate/readRate)
		cpu = append(cpu, (ch.cmd.ProcessState.UserTime() + ch.cmd.ProcessState.SystemTime()).Seconds())
		peak, size = max(peak, maxRSS), sz
	}
	b.ReportMetric(median(rates), "median-rows/s")
	b.ReportMetric(median(vsPsql), "×psql")
	b.ReportMetric(median(vsRead), "×lib/pq-read")
	b.ReportMetric(median(cpu), "child-CPU-s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-MiB")
	b.Logf("rows/s per run %.0f; ratio to psql %.2f, to a bare lib/pq read %.2f; child CPU %.2f s; %d bytes; peak RSS %.1f MiB",
		rates, vsPsql, vsRead, cpu, size, float64(peak)/(1<<20))
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}

// countCSV counts the data rows (after the header) and bytes of CSV read
// from r: newlines outside quotes, since a quoted cell may hold one.
func countCSV(tb testing.TB, r io.Reader) (rows, size int64) {
	tb.Helper()
	buf := make([]byte, 256<<10)
	quoted := false
	var lines int64
	for {
		n, err := r.Read(buf)
		size += int64(n)
		for _, c := range buf[:n] {
			switch {
			case c == '"':
				quoted = !quoted
			case c == '\n' && !quoted:
				lines++
			}
		}
		if errors.Is(err, io.EOF) {
			return lines - 1, size
		}
		if err != nil {
			tb.Fatal(err)
		}
	}
}

// psqlRate is rows per second of psql reading query's rows, under
// settings, and writing them as CSV to /dev/null: C code end to end. With
// FETCH_COUNT psql reads through a cursor, planned as the export's is.
func psqlRate(tb testing.TB, url, settings, query string) float64 {
	tb.Helper()
	start := time.Now()
	out, err := exec.Command("psql", "-X", "-q", "--csv", "-v", "ON_ERROR_STOP=1", "-v", "FETCH_COUNT=10000", "-d", url,
		"-c", "BEGIN", "-c", settings, "-c", query, "-c", "COMMIT", "-o", "/dev/null").CombinedOutput()
	if err != nil {
		tb.Fatalf("psql: %v\n%s", err, out)
	}
	return million / time.Since(start).Seconds()
}

// libpqReadRate is rows per second of reading query's rows through lib/pq
// and database/sql, under settings and from a cursor as the export does,
// without looking at them.
func libpqReadRate(tb testing.TB, db *sql.DB, settings, query string) float64 {
	tb.Helper()
	start := time.Now()
	tx, err := db.Begin()
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec(settings); err != nil {
		tb.Fatal(err)
	}
	if _, err := tx.Exec(`DECLARE baseline NO SCROLL CURSOR FOR ` + query); err != nil {
		tb.Fatal(err)
	}
	rows, err := tx.Query(`FETCH ALL FROM baseline`)
	if err != nil {
		tb.Fatal(err)
	}
	var n int
	for rows.Next() {
		n++
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	if n != million {
		tb.Fatalf("read %d rows, want %d", n, million)
	}
	return million / time.Since(start).Seconds()
}
