// Package loadgen drives Backstop's webhook receiver the way Virtuous does
// under load: signed GiftCreate and GiftUpdate deliveries from many
// concurrent senders, a share of them redelivered (at-least-once), with each
// request's latency and outcome recorded. The webhook-ingest benchmark and
// the fault suite use it.
package loadgen

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"time"

	"backstop/internal/virtuous"
)

// Config describes a load.
type Config struct {
	URL         string // the tenant's webhook URL
	Secret      string // signs each body when set
	Header      string // signature header (default X-Virtuous-Signature)
	Concurrency int    // senders (default 8)
	Duration    time.Duration
	DupRate     float64 // share of requests that redeliver an earlier body
	Seed        uint64
	FirstID     int64 // first Virtuous gift id (default 1)
}

// Result is what the load did.
type Result struct {
	Sent       int
	Accepted   int // 202: a new event stored
	Duplicates int // 200: recognised as already stored
	Refused    map[int]int
	Errors     int // transport errors (no answer)
	Elapsed    time.Duration
	Latencies  []time.Duration
	// Acked holds the dedupe identity ("event:id:modified") of every
	// distinct event acknowledged with a 2xx: what must be stored.
	Acked map[string]bool
	// Outcomes is every request in the order its answer came, for tests
	// that look at what was answered when (during an outage, after it).
	Outcomes []Outcome
}

// Outcome is one request: when it was sent and answered, and the status
// (0 for a transport error).
type Outcome struct {
	Sent, Answered time.Time
	Status         int
}

// Rate is acknowledged requests per second.
func (r *Result) Rate() float64 { return float64(r.Accepted+r.Duplicates) / r.Elapsed.Seconds() }

// Lost counts the events acknowledged with a 2xx that are not in stored
// (dedupe keys): what the receiver promised and did not keep.
func Lost(acked, stored map[string]bool) int {
	n := 0
	for k := range acked {
		if !stored[k] {
			n++
		}
	}
	return n
}

// Percentile returns the p-th percentile latency (0 < p ≤ 100).
func (r *Result) Percentile(p float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	s := slices.Clone(r.Latencies)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p / 100)
	return s[i]
}

type sent struct {
	key  string
	body []byte
}

// Run sends load until cfg.Duration passes or ctx ends.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 8
	}
	if cfg.Header == "" {
		cfg.Header = virtuous.DefaultSignatureHeader
	}
	if cfg.FirstID == 0 {
		cfg.FirstID = 1
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Concurrency * 2}}
	res := &Result{Refused: map[int]int{}, Acked: map[string]bool{}}
	var mu sync.Mutex
	var next int64 = cfg.FirstID
	var history []sent
	var wg sync.WaitGroup
	start := time.Now()
	for w := range cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(cfg.Seed, uint64(w)))
			for ctx.Err() == nil {
				mu.Lock()
				var s sent
				if len(history) > 0 && rng.Float64() < cfg.DupRate {
					s = history[rng.IntN(len(history))]
				} else {
					s = makeEvent(next, rng)
					next++
					history = append(history, s)
				}
				mu.Unlock()
				t0 := time.Now()
				status, took, err := post(ctx, client, cfg, s.body)
				if ctx.Err() != nil && err != nil {
					return // the deadline cut this request short: not a result
				}
				mu.Lock()
				res.Sent++
				res.Latencies = append(res.Latencies, took)
				res.Outcomes = append(res.Outcomes, Outcome{Sent: t0, Answered: t0.Add(took), Status: status})
				switch {
				case err != nil:
					res.Errors++
				case status == http.StatusAccepted:
					res.Accepted++
					res.Acked[s.key] = true
				case status == http.StatusOK:
					res.Duplicates++
					res.Acked[s.key] = true
				default:
					res.Refused[status]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	return res, nil
}

func post(ctx context.Context, c *http.Client, cfg Config, body []byte) (int, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.URL, bytes.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if cfg.Secret != "" {
		req.Header.Set(cfg.Header, virtuous.Sign(cfg.Secret, body))
	}
	t0 := time.Now()
	resp, err := c.Do(req)
	took := time.Since(t0)
	if err != nil {
		return 0, took, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, took, nil
}

// makeEvent is a GiftCreate for gift n, or now and then a GiftUpdate of an
// earlier gift, in the shape real receivers observe.
func makeEvent(n int64, rng *rand.Rand) sent {
	event, id := "GiftCreate", n
	mod := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Second)
	if n > 10 && rng.IntN(4) == 0 {
		event, id = "GiftUpdate", 1+rng.Int64N(n-1)
	}
	ts := mod.Format("2006-01-02T15:04:05.000")
	body := fmt.Sprintf(`{"event":%q,"gift":{"id":%d,"transactionSource":"Load","transactionId":"load-%d","contactId":%d,`+
		`"contactName":"Load Donor %d","giftType":"Credit","giftDate":"2026-11-01T00:00:00","giftDateFormatted":"11/1/2026",`+
		`"amount":%d.%02d,"currencyCode":"USD","exchangeRate":1.0,"createDateTimeUtc":%q,"modifiedDateTimeUtc":%q,`+
		`"giftDesignations":[],"customFields":{"Receipt Status":"Pending"},"giftUrl":"/api/Gift/%d"}}`,
		event, id, id, 100000+id%5000, id%5000, 5+id%500, id%100, ts, ts, id)
	return sent{key: fmt.Sprintf("%s:%d:%s", event, id, mod.Format(time.RFC3339Nano)), body: []byte(body)}
}
