package loadgen_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"backstop/internal/apptest"
	"backstop/internal/dbtest"
	"backstop/internal/loadgen"
	"backstop/internal/store"
	"backstop/internal/tenant"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

const secretKey = "loadgen secret key 0123456789"

// serve starts `backstop serve` on url's database and returns the webhook
// URL of a new tenant and its secret.
func serve(tb testing.TB, url string) (hookURL, hookSecret string) {
	n := tenant.NewTenant{Slug: "load", Name: "Load", VirtuousBaseURL: "http://127.0.0.1:9", VirtuousKey: "k", WebhookSecret: "hook-secret"}
	_, _, token := apptest.CreateTenant(tb, url, secretKey, n)
	_, base := apptest.Serve(tb, []string{"DATABASE_URL=" + url, "BACKSTOP_SECRET_KEY=" + secretKey, "BACKSTOP_LOG_FORMAT=json"})
	return tenant.WebhookURL(base, "load", token), "hook-secret"
}

var tpsRE = regexp.MustCompile(`tps = ([0-9.]+) \(without initial connection time\)`)

// pgbenchInserts measures single-row INSERT transactions per second with
// pgbench on the same database: the baseline the ingest rate is compared to.
func pgbenchInserts(tb testing.TB, url string, clients int, d time.Duration) float64 {
	s, err := store.Open(context.Background(), url)
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	if _, err := s.DB().Exec(`CREATE TABLE IF NOT EXISTS bench_insert (id bigserial PRIMARY KEY, body text NOT NULL, at timestamptz NOT NULL DEFAULT now())`); err != nil {
		tb.Fatal(err)
	}
	script := filepath.Join(tb.TempDir(), "insert.sql")
	os.WriteFile(script, []byte("INSERT INTO bench_insert (body) VALUES ('a single-row insert of about the size of a webhook event');\n"), 0o644)
	out, err := exec.Command("pgbench", "-n", "-c", strconv.Itoa(clients), "-j", "2", "-T", strconv.Itoa(int(d.Seconds())), "-f", script, url).CombinedOutput()
	if err != nil {
		tb.Fatalf("pgbench: %v\n%s", err, out)
	}
	m := tpsRE.FindSubmatch(out)
	if m == nil {
		tb.Fatalf("pgbench output has no tps:\n%s", out)
	}
	tps, _ := strconv.ParseFloat(string(m[1]), 64)
	return tps
}

// BenchmarkWebhookIngest: signed GiftCreate/GiftUpdate webhooks, 20%
// redelivered, POSTed by 8 concurrent senders to `backstop serve` on
// loopback, against pgbench's single-row INSERT rate on the same database
// in the same run (three alternating rounds; medians reported). Targets:
// ingest ≥ 30% of pgbench, p99 < 100 ms, events stored = events acknowledged.
func BenchmarkWebhookIngest(b *testing.B) {
	if _, err := exec.LookPath("pgbench"); err != nil {
		b.Skip("pgbench not found (Debian: apt-get install postgresql)")
	}
	for _, clients := range []int{8, 16} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) { benchIngest(b, clients) })
	}
}

func benchIngest(b *testing.B, clients int) {
	const rounds = 3
	round := 8 * time.Second
	for range b.N {
		url := dbtest.URL(b)
		hook, sec := serve(b, url)
		var rates, tpss, p50s, p99s []float64
		firstID := int64(1)
		acked := map[string]bool{}
		for range rounds {
			tpss = append(tpss, pgbenchInserts(b, url, clients, round))
			res, err := loadgen.Run(context.Background(), loadgen.Config{URL: hook, Secret: sec, Concurrency: clients, Duration: round, DupRate: 0.2, Seed: uint64(firstID), FirstID: firstID})
			if err != nil {
				b.Fatal(err)
			}
			if res.Errors > 0 || len(res.Refused) > 0 {
				b.Fatalf("%d transport errors, refusals %v", res.Errors, res.Refused)
			}
			firstID += int64(res.Accepted) + 1_000_000
			for k := range res.Acked {
				acked[k] = true
			}
			rates = append(rates, res.Rate())
			p50s = append(p50s, float64(res.Percentile(50).Microseconds())/1000)
			p99s = append(p99s, float64(res.Percentile(99).Microseconds())/1000)
		}
		stored := apptest.StoredEvents(b, url)
		missing := loadgen.Lost(acked, stored)
		// A request cut off by a round's deadline may be stored without its
		// acknowledgement reaching the sender (who would redeliver it): at
		// most one per sender per round. An acknowledged event never lost.
		if missing > 0 || len(stored) < len(acked) || len(stored)-len(acked) > clients*rounds {
			b.Fatalf("events acknowledged %d, stored %d, acknowledged but not stored %d", len(acked), len(stored), missing)
		}
		rate, tps := median(rates), median(tpss)
		b.ReportMetric(rate, "webhooks/s")
		b.ReportMetric(tps, "pgbench_inserts/s")
		b.ReportMetric(rate/tps, "ratio")
		b.ReportMetric(median(p50s), "p50_ms")
		b.ReportMetric(median(p99s), "p99_ms")
		b.ReportMetric(float64(len(acked)), "events_acked")
		b.ReportMetric(float64(missing), "acked_but_lost")
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
