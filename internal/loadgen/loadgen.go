// Package loadgen drives Backstop's webhook receiver the way Virtuous does
// under load: signed GiftCreate and GiftUpdate deliveries from many
// concurrent senders, a share of them redelivered (at-least-once), with each
// request's latency and outcome recorded. The webhook-ingest benchmark and
// the fault suite use it.
package loadgen

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
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
	key       string
	body      []byte
	signature string // signed once: a redelivery is the same bytes
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
	target, err := parseTarget(cfg.URL)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	res := &Result{Refused: map[int]int{}, Acked: map[string]bool{}}
	var key *virtuous.Key // signs each new body once: a redelivery is the same bytes
	if cfg.Secret != "" {
		key = virtuous.NewKey(cfg.Secret)
	}
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
			c := newSender(ctx, target, cfg.Header)
			defer c.close()
			for ctx.Err() == nil {
				mu.Lock()
				var s sent
				if len(history) > 0 && rng.Float64() < cfg.DupRate {
					s = history[rng.IntN(len(history))]
				} else {
					s = makeEvent(next, rng)
					next++
					if key != nil {
						s.signature = key.Sign(s.body)
					}
					history = append(history, s)
				}
				mu.Unlock()
				t0 := time.Now()
				status, err := c.post(s.body, s.signature)
				took := time.Since(t0)
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

// target is where the deliveries go: an http:// URL on a host reachable
// directly (the load generator runs against loopback).
type target struct {
	addr, host, path string
}

func parseTarget(raw string) (target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return target{}, err
	}
	if u.Scheme != "http" {
		return target{}, fmt.Errorf("loadgen: %q: only http:// URLs", raw)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	return target{addr: addr, host: u.Host, path: u.RequestURI()}, nil
}

// sender is one sender's keep-alive connection, written and read directly
// rather than through net/http's client. The client's per-request work
// (its transport's reader and writer goroutines and their hand-offs) cost
// as much CPU as the receiver's whole request handling, on the same two
// cores as the receiver and PostgreSQL; Virtuous' senders run on machines
// of their own. The requests are the same HTTP/1.1 bytes a net/http client
// sends, and each response is parsed by net/http.
type sender struct {
	t      target
	header string
	buf    []byte

	mu sync.Mutex // guards conn against the cancellation below
	c  net.Conn
	br *bufio.Reader
	// stop ends a request in flight when the load's context ends.
	stop func() bool
	done bool
}

func newSender(ctx context.Context, t target, header string) *sender {
	s := &sender{t: t, header: header}
	s.stop = context.AfterFunc(ctx, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.done = true
		if s.c != nil {
			s.c.SetDeadline(time.Unix(1, 0))
		}
	})
	return s
}

func (s *sender) close() {
	s.stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.c != nil {
		s.c.Close()
		s.c = nil
	}
}

// post sends one delivery and returns the status of its answer. A
// transport error closes the connection; the next post dials again.
func (s *sender) post(body []byte, signature string) (int, error) {
	if err := s.ready(); err != nil {
		return 0, err
	}
	b := s.buf[:0]
	b = append(b, "POST "...)
	b = append(b, s.t.path...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, s.t.host...)
	b = append(b, "\r\nContent-Type: application/json\r\n"...)
	if signature != "" {
		b = append(b, s.header...)
		b = append(b, ": "...)
		b = append(b, signature...)
		b = append(b, "\r\n"...)
	}
	b = append(b, "Content-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\n\r\n"...)
	b = append(b, body...)
	s.buf = b
	if _, err := s.c.Write(b); err != nil {
		s.drop()
		return 0, err
	}
	status, closed, err := readResponse(s.br)
	if err != nil || closed {
		s.drop()
	}
	return status, err
}

// readResponse reads one response and returns its status; closed says the
// connection carries no other. It reads the framings HTTP/1.1 allows a
// response to a POST (Content-Length, chunked, or until the connection
// closes; interim 1xx answers skipped), as http.ReadResponse does
// (TestReadResponse compares them), without building a *Response and its
// header map: that was a third of the load generator's CPU, on the cores
// the receiver and PostgreSQL need.
func readResponse(br *bufio.Reader) (status int, closed bool, err error) {
	for {
		line, err := readLine(br)
		if err != nil {
			return 0, true, err
		}
		// "HTTP/1.1 202 Accepted"
		if len(line) < 12 || string(line[:7]) != "HTTP/1." || line[8] != ' ' || len(line) > 12 && line[12] != ' ' {
			return 0, true, fmt.Errorf("loadgen: malformed status line %q", line)
		}
		status, err = strconv.Atoi(string(line[9:12]))
		if err != nil || status < 100 {
			return 0, true, fmt.Errorf("loadgen: malformed status line %q", line)
		}
		closed = line[7] == '0' // HTTP/1.0: no keep-alive asked for
		length, chunked := int64(-1), false
		for {
			line, err := readLine(br)
			if err != nil {
				return 0, true, err
			}
			if len(line) == 0 {
				break
			}
			name, value, ok := bytes.Cut(line, []byte(":"))
			if !ok {
				return 0, true, fmt.Errorf("loadgen: malformed header %q", line)
			}
			value = bytes.TrimSpace(value)
			switch {
			case bytes.EqualFold(name, []byte("Content-Length")):
				if length, err = strconv.ParseInt(string(value), 10, 64); err != nil || length < 0 {
					return 0, true, fmt.Errorf("loadgen: bad Content-Length %q", value)
				}
			case bytes.EqualFold(name, []byte("Transfer-Encoding")):
				if !bytes.EqualFold(value, []byte("chunked")) {
					return 0, true, fmt.Errorf("loadgen: unsupported Transfer-Encoding %q", value)
				}
				chunked = true
			case bytes.EqualFold(name, []byte("Connection")):
				closed = closed && !hasToken(value, "keep-alive") || hasToken(value, "close")
			}
		}
		switch {
		case status < 200:
			continue // an interim answer; the final one follows
		case status == http.StatusNoContent || status == http.StatusNotModified:
		case chunked:
			err = discardChunked(br)
		case length >= 0:
			_, err = br.Discard(int(length))
		default:
			_, err = io.Copy(io.Discard, br)
			closed = true
		}
		if err != nil {
			return 0, true, err
		}
		return status, closed, nil
	}
}

// hasToken reports whether the comma-separated list v holds token.
func hasToken(v []byte, token string) bool {
	for t := range bytes.SplitSeq(v, []byte(",")) {
		if bytes.EqualFold(bytes.TrimSpace(t), []byte(token)) {
			return true
		}
	}
	return false
}

// readLine reads a line without its CRLF (the slice is br's buffer).
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		return nil, errors.New("loadgen: response line too long")
	}
	if err != nil {
		if err == io.EOF && len(line) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r")), nil
}

// discardChunked reads a chunked body and its trailer.
func discardChunked(br *bufio.Reader) error {
	for {
		line, err := readLine(br)
		if err != nil {
			return err
		}
		size, _, _ := bytes.Cut(line, []byte(";"))
		n, err := strconv.ParseUint(string(bytes.TrimSpace(size)), 16, 63)
		if err != nil {
			return fmt.Errorf("loadgen: bad chunk size %q", line)
		}
		if n == 0 {
			for {
				if line, err = readLine(br); err != nil || len(line) == 0 {
					return err
				}
			}
		}
		if _, err := br.Discard(int(n)); err != nil {
			return err
		}
		if line, err = readLine(br); err != nil || len(line) != 0 {
			return cmp.Or(err, errors.New("loadgen: chunk not followed by CRLF"))
		}
	}
}

// ready dials if there is no connection and gives the request its
// deadline, under the lock the cancellation takes, so that a cancellation
// is never overwritten by a later deadline.
func (s *sender) ready() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return context.Canceled
	}
	if s.c == nil {
		c, err := net.DialTimeout("tcp", s.t.addr, 10*time.Second)
		if err != nil {
			return err
		}
		s.c, s.br = c, bufio.NewReader(c)
	}
	return s.c.SetDeadline(time.Now().Add(10 * time.Second))
}

func (s *sender) drop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.c != nil {
		s.c.Close()
		s.c = nil
	}
}

// makeEvent is a GiftCreate for gift n, or now and then a GiftUpdate of an
// earlier gift, in the shape real receivers observe. It is built by
// appending, not with fmt: it ran for every new event on the cores the
// receiver needs (12% of the sender's CPU).
func makeEvent(n int64, rng *rand.Rand) sent {
	event, id := "GiftCreate", n
	mod := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Second)
	if n > 10 && rng.IntN(4) == 0 {
		event, id = "GiftUpdate", 1+rng.Int64N(n-1)
	}
	ts := mod.AppendFormat(nil, "2006-01-02T15:04:05.000")
	b := make([]byte, 0, 640)
	b = append(b, `{"event":"`...)
	b = append(b, event...)
	b = append(b, `","gift":{"id":`...)
	b = strconv.AppendInt(b, id, 10)
	b = append(b, `,"transactionSource":"Load","transactionId":"load-`...)
	b = strconv.AppendInt(b, id, 10)
	b = append(b, `","contactId":`...)
	b = strconv.AppendInt(b, 100000+id%5000, 10)
	b = append(b, `,"contactName":"Load Donor `...)
	b = strconv.AppendInt(b, id%5000, 10)
	b = append(b, `","giftType":"Credit","giftDate":"2026-11-01T00:00:00","giftDateFormatted":"11/1/2026","amount":`...)
	b = strconv.AppendInt(b, 5+id%500, 10)
	b = append(b, '.', byte('0'+id%100/10), byte('0'+id%10))
	b = append(b, `,"currencyCode":"USD","exchangeRate":1.0,"createDateTimeUtc":"`...)
	b = append(b, ts...)
	b = append(b, `","modifiedDateTimeUtc":"`...)
	b = append(b, ts...)
	b = append(b, `","giftDesignations":[],"customFields":{"Receipt Status":"Pending"},"giftUrl":"/api/Gift/`...)
	b = strconv.AppendInt(b, id, 10)
	b = append(b, `"}}`...)
	return sent{key: event + ":" + strconv.FormatInt(id, 10) + ":" + mod.Format(time.RFC3339Nano), body: b}
}
