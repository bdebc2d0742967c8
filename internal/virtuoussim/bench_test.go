package virtuoussim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// BenchmarkQueryFullGift100k pages through 100,000 gifts modified today,
// 1000 at a time, over real HTTP — what the missed-webhook pass does after
// an outage. One op is one page.
func BenchmarkQueryFullGift100k(b *testing.B) {
	s := New(Options{Clock: NewManualClock(t0), Seed: 1, RateLimit: 1 << 30})
	defer s.Close()
	o := s.AddOrg("Bench", "key-bench")
	start := time.Now()
	if _, err := o.BulkLoadGifts(100_000, BulkGifts{TransactionSource: "Stripe"}); err != nil {
		b.Fatal(err)
	}
	b.Logf("loaded 100k gifts in %v", time.Since(start))
	url, err := s.Start("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	body, _ := json.Marshal(groups(
		[]map[string]any{cond("Last Modified Date", "OnOrAfter", "2024-06-06"), cond("Transaction Source", "Is", "Stripe")}))
	b.ResetTimer()
	var bytesRead int64
	for i := 0; b.Loop(); i++ {
		skip := (i % 100) * 1000
		req, _ := http.NewRequest("POST", url+"/api/Gift/Query/FullGift?skip="+strconv.Itoa(skip)+"&take=1000", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer key-bench")
		res, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			b.Fatalf("status %d", res.StatusCode)
		}
		bytesRead += n
	}
	b.ReportMetric(float64(bytesRead)/float64(b.N)/1e6, "MB/page")
}

// BenchmarkQueryScan100k measures the matcher alone: one pass over 100,000
// gifts counting matches, without rendering.
func BenchmarkQueryScan100k(b *testing.B) {
	s := New(Options{Clock: NewManualClock(t0), Seed: 1})
	defer s.Close()
	o := s.AddOrg("Bench", "key-bench")
	if _, err := o.BulkLoadGifts(100_000, BulkGifts{}); err != nil {
		b.Fatal(err)
	}
	var q queryBody
	raw, _ := json.Marshal(groups([]map[string]any{cond("Last Modified Date", "OnOrAfter", "2024-06-06"), cond("Transaction Source", "Is", "Bulk")}))
	if err := json.Unmarshal(raw, &q); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		o.mu.RLock()
		match, err := compile(o.giftFieldsWithOrg(), &q, o.now())
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for _, g := range o.gifts {
			if match(g) {
				n++
			}
		}
		o.mu.RUnlock()
		if n != 100_000 {
			b.Fatalf("matched %d", n)
		}
	}
}
