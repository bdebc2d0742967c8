// Package virtuous is Backstop's client for the Virtuous CRM+ REST API
// (virtuous-api.md): Gift and Contact Transactions, lookups by id and by
// external reference, the paged Query API, webhook parsing and signature
// checks, and the tolerant decoding the API's mixed shapes need.
//
// Every HTTP attempt first reserves a call from an optional shared Budget
// (the organization's hourly limit is shared by every process and every other
// integration) and reports the X-RateLimit-* headers back to it. Transient
// failures are retried with exponential backoff and full jitter; the API key
// never appears in an error, a log line or a String().
package virtuous

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"backstop/internal/derrors"
)

// Config configures a Client for one Virtuous organization (one tenant).
type Config struct {
	// BaseURL is the API root, e.g. https://api.virtuoussoftware.com (a
	// path prefix is kept, for simulators mounted below the root).
	BaseURL string
	// APIKey is sent as a Bearer token. It never appears in errors, logs or
	// String().
	APIKey string
	// HTTPClient sends the requests. Default: one that does not follow
	// redirects, so a redirected POST is an error rather than a silent GET.
	HTTPClient *http.Client
	// Budget is the shared rate budget; nil means none.
	Budget Budget
	// MaxAttempts bounds the attempts of one call, the first included
	// (default 5). Retried: 429, 500, 502, 503, 504, 520, per-attempt
	// timeouts and connection errors.
	MaxAttempts int
	// Timeout bounds one attempt of an ordinary call (default 30s).
	Timeout time.Duration
	// QueryTimeout bounds one attempt of a Query call (default 600s: the
	// Full* queries are known to be slow).
	QueryTimeout time.Duration
	// BaseBackoff and MaxBackoff shape the exponential backoff between
	// attempts (defaults 500ms and 30s); each wait is drawn uniformly from
	// [0, min(MaxBackoff, BaseBackoff·2^(attempt-1))] ("full jitter").
	BaseBackoff, MaxBackoff time.Duration
	// MaxRetryAfter is the longest wait a 429 may ask for that the client
	// sits out before retrying (default 60s). A longer one is returned at once
	// as an *APIError carrying RetryAfter, so that a job can reschedule
	// instead of holding a worker for up to an hour.
	MaxRetryAfter time.Duration
	// Logger receives a debug line per request and a warning per retry.
	// Default: discard.
	Logger *slog.Logger
}

// String describes c without its API key.
func (c Config) String() string {
	return fmt.Sprintf("virtuous.Config{BaseURL: %q, APIKey: %s}", redactURL(c.BaseURL), redactedKey(c.APIKey))
}

// GoString is String, so that %#v does not print the key either.
func (c Config) GoString() string { return c.String() }

// LogValue keeps the key out of structured logs.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(slog.String("base_url", redactURL(c.BaseURL)), slog.String("api_key", redactedKey(c.APIKey)))
}

func redactedKey(k string) string {
	if k == "" {
		return "(none)"
	}
	return "[redacted]"
}

// redactURL shows a URL without its password, query or fragment, any of
// which could carry a credential pasted in by mistake.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(invalid URL)"
	}
	hadQuery := u.RawQuery != "" || u.ForceQuery
	u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = "", false, "", ""
	if hadQuery {
		return u.Redacted() + "?…"
	}
	return u.Redacted()
}

// Client calls the Virtuous API for one organization. It is safe for
// concurrent use.
type Client struct {
	base          string // no trailing slash
	key           string
	hc            *http.Client
	budget        Budget
	maxAttempts   int
	timeout       time.Duration
	queryTimeout  time.Duration
	baseBackoff   time.Duration
	maxBackoff    time.Duration
	maxRetryAfter time.Duration
	log           *slog.Logger
	calls         atomic.Int64
	// sleep waits between attempts and now reads the time the rate headers
	// are measured against; tests replace them to see the waits without
	// sitting them out.
	sleep func(context.Context, time.Duration) error
	now   func() time.Time
}

// New checks cfg and fills in its defaults.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("virtuous: BaseURL %q is not an http(s) URL without query: %w", redactURL(cfg.BaseURL), derrors.InvalidArgument)
	}
	if cfg.APIKey == "" || strings.ContainsFunc(cfg.APIKey, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return nil, fmt.Errorf("virtuous: APIKey is empty or holds spaces or control characters: %w", derrors.InvalidArgument)
	}
	if cfg.MaxAttempts < 0 || cfg.Timeout < 0 || cfg.QueryTimeout < 0 || cfg.BaseBackoff < 0 || cfg.MaxBackoff < 0 || cfg.MaxRetryAfter < 0 {
		return nil, fmt.Errorf("virtuous: negative MaxAttempts, timeout or backoff: %w", derrors.InvalidArgument)
	}
	c := &Client{
		base:          strings.TrimRight(u.String(), "/"),
		key:           cfg.APIKey,
		hc:            cfg.HTTPClient,
		budget:        cfg.Budget,
		maxAttempts:   cmp.Or(cfg.MaxAttempts, 5),
		timeout:       cmp.Or(cfg.Timeout, 30*time.Second),
		queryTimeout:  cmp.Or(cfg.QueryTimeout, 600*time.Second),
		baseBackoff:   cmp.Or(cfg.BaseBackoff, 500*time.Millisecond),
		maxBackoff:    cmp.Or(cfg.MaxBackoff, 30*time.Second),
		maxRetryAfter: cmp.Or(cfg.MaxRetryAfter, 60*time.Second),
		log:           cmp.Or(cfg.Logger, slog.New(slog.DiscardHandler)),
		sleep:         sleep,
		now:           time.Now,
	}
	if c.hc == nil {
		c.hc = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	return c, nil
}

// String describes c without its API key.
func (c *Client) String() string { return "virtuous.Client(" + redactURL(c.base) + ")" }

// GoString is String, so that %#v does not print the key either.
func (c *Client) GoString() string { return c.String() }

// Calls is the number of HTTP requests this client has sent, retries
// included; reconciliation runs report it as their API cost.
func (c *Client) Calls() int64 { return c.calls.Load() }

// call is one logical API call, sent as one or more attempts.
type call struct {
	method  string
	path    string // escaped, from /api/…; no query
	query   url.Values
	body    []byte // nil for no body
	timeout time.Duration
	// decode reads a 2xx body, for calls whose answer is a JSON document
	// and which are safe to repeat (a lookup, a Query): a body that is not
	// complete JSON — cut short on the way — is asked for again, like a
	// dropped connection.
	decode func(body []byte) error
}

// maxBody bounds a response body: a FullGift page of 1000 gifts is a few MB.
const maxBody = 64 << 20

// noRetry is the wait attempt returns for a failure not worth repeating.
const noRetry = time.Duration(-1)

// do sends r, retrying transient failures, and returns the body of the first
// 2xx response. A non-2xx answer is returned as an *APIError.
func (c *Client) do(ctx context.Context, r call) ([]byte, error) {
	for n := 1; ; n++ {
		body, wait, err := c.attempt(ctx, r, n)
		if err == nil {
			return body, nil
		}
		if wait < 0 || n >= c.maxAttempts {
			return nil, err
		}
		c.log.LogAttrs(ctx, slog.LevelWarn, "virtuous request will be retried",
			slog.String("method", r.method), slog.String("path", r.path), slog.Int("attempt", n),
			slog.Duration("wait", wait), slog.Any("error", err))
		if werr := c.sleep(ctx, wait); werr != nil {
			// Both stay matchable: the caller's cancellation and the failure it cut short.
			return nil, fmt.Errorf("%w; stopped waiting to retry: %w", err, werr)
		}
	}
}

// attempt sends r once. It returns how long to wait before trying again, or
// noRetry when trying again cannot help.
func (c *Client) attempt(ctx context.Context, r call, n int) ([]byte, time.Duration, error) {
	if err := c.reserve(ctx); err != nil {
		return nil, noRetry, fmt.Errorf("virtuous: %s %s: %w", r.method, r.path, err)
	}
	actx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	req, err := c.newRequest(actx, r)
	if err != nil {
		return nil, noRetry, err
	}
	c.calls.Add(1)
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, c.transportWait(ctx, err, n), c.transportError(ctx, r, err)
	}
	defer resp.Body.Close()
	return c.response(ctx, r, resp, n, start)
}

// response reads one answer: it reports the rate headers to the budget
// before anything else (even a failed read spent the call), then sorts the
// status into success, a retry after some wait, or a final *APIError.
func (c *Client) response(ctx context.Context, r call, resp *http.Response, n int, start time.Time) ([]byte, time.Duration, error) {
	info := parseRateInfo(resp.Header, resp.StatusCode, c.now())
	if c.budget != nil && info.observable() {
		c.budget.Observe(ctx, info)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, c.transportWait(ctx, err, n), c.transportError(ctx, r, err)
	}
	c.log.LogAttrs(ctx, slog.LevelDebug, "virtuous request",
		slog.String("method", r.method), slog.String("path", r.path), slog.Int("status", resp.StatusCode),
		slog.Int("attempt", n), slog.Duration("duration", time.Since(start)))
	if len(body) > maxBody {
		return nil, noRetry, fmt.Errorf("virtuous: %s %s: response larger than %d bytes", r.method, r.path, maxBody)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if r.decode == nil {
			return body, 0, nil
		}
		err := r.decode(body)
		var se *json.SyntaxError
		switch {
		case err == nil:
			return body, 0, nil
		case errors.As(err, &se):
			return nil, c.backoff(n), fmt.Errorf("virtuous: %s %s: %d answered with %d bytes that are not complete JSON (cut short?): %w",
				r.method, r.path, resp.StatusCode, len(body), err)
		}
		return nil, noRetry, fmt.Errorf("virtuous: %s %s: decode response: %w", r.method, r.path, err)
	}
	e := newAPIError(r.method, r.path, resp.StatusCode, body, c.key)
	switch {
	case !e.Retryable():
		return nil, noRetry, e
	case e.Status == http.StatusTooManyRequests:
		e.RetryAfter = info.RetryAfter
		return nil, c.rateLimitWait(info, n), e
	}
	return nil, c.backoff(n), e
}

// reserve takes a call from the budget. A refusal that says room comes
// back within MaxRetryAfter — typically the Retry-After of a 429 another
// call of this organization just got — is waited out, as the client waits
// out its own 429s; a longer one is returned at once, so that the job can
// reschedule instead of holding a worker.
func (c *Client) reserve(ctx context.Context) error {
	if c.budget == nil {
		return nil
	}
	for {
		err := c.budget.Reserve(ctx)
		var rw interface{ ResumeAt() time.Time }
		if err == nil || !errors.As(err, &rw) {
			return err
		}
		wait := time.Until(rw.ResumeAt())
		if wait <= 0 || wait > c.maxRetryAfter {
			return err
		}
		if werr := sleep(ctx, wait); werr != nil {
			return fmt.Errorf("%w; stopped waiting for the budget: %w", err, werr)
		}
	}
}

func (c *Client) newRequest(ctx context.Context, r call) (*http.Request, error) {
	u := c.base + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return nil, fmt.Errorf("virtuous: %s %s: %w", r.method, r.path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "backstop-virtuous/1")
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// transportWait decides whether a failure to get a response is worth
// another attempt: a per-attempt timeout or a broken connection is, the
// caller's own cancellation and a certificate Virtuous does not pass are not.
func (c *Client) transportWait(ctx context.Context, err error, n int) time.Duration {
	var certErr *tls.CertificateVerificationError
	if ctx.Err() != nil || errors.As(err, &certErr) {
		return noRetry
	}
	return c.backoff(n)
}

// transportError words a failure to get a response. The *url.Error's own
// text repeats the full URL; the method and path say enough.
func (c *Client) transportError(ctx context.Context, r call, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("virtuous: %s %s: %w", r.method, r.path, ctx.Err())
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("virtuous: %s %s: no response within %s: %w", r.method, r.path, r.timeout, err)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("virtuous: %s %s: %w", r.method, r.path, err)
}

// rateLimitWait is how long a 429 asks for: Retry-After, else until the
// window's reset, else ordinary backoff; noRetry when that is longer than
// the client is willing to hold a caller.
func (c *Client) rateLimitWait(info RateInfo, n int) time.Duration {
	wait := info.RetryAfter
	if wait == 0 && !info.Reset.IsZero() {
		wait = info.Reset.Sub(c.now())
	}
	if wait <= 0 {
		return c.backoff(n)
	}
	if wait > c.maxRetryAfter {
		return noRetry
	}
	return wait
}

// backoff is the full-jitter wait after the nth failed attempt.
func (c *Client) backoff(n int) time.Duration {
	d := c.baseBackoff
	for i := 1; i < n && d < c.maxBackoff; i++ {
		d *= 2
	}
	d = min(d, c.maxBackoff)
	if d <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(d) + 1))
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
