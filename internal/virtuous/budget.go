package virtuous

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Budget is a rate budget shared by every client of one Virtuous
// organization (every key and process draws on the organization's hourly
// limit). The client asks it before each HTTP attempt and tells it what the
// response headers said afterwards.
type Budget interface {
	// Reserve takes one call from the budget. When no room is left it returns
	// an error wrapping derrors.BudgetExhausted that says when the window
	// resets; the client then sends nothing and returns that error, unless
	// the error has a ResumeAt() time.Time method naming a moment within
	// Config.MaxRetryAfter, which the client waits for before asking again.
	Reserve(ctx context.Context) error
	// Observe corrects the budget from a response: it is called after every
	// response that carried any X-RateLimit-* header, and after every 429.
	Observe(ctx context.Context, r RateInfo)
}

// RateInfo is what one response said about the rate limit.
type RateInfo struct {
	Limit      int           // X-RateLimit-Limit; 0 when absent
	Remaining  int           // X-RateLimit-Remaining; meaningful only when HasHeaders
	Reset      time.Time     // X-RateLimit-Reset; zero when absent
	RetryAfter time.Duration // Retry-After; 0 when absent
	Status     int           // the response's HTTP status
	// HasHeaders reports whether the response carried a readable
	// X-RateLimit-Remaining, the count a budget corrects itself from. A 429
	// may arrive without it, and a response with only a limit or a reset
	// must not be read as "0 remaining".
	HasHeaders bool
}

// observable reports whether a response says anything a Budget can use.
func (r RateInfo) observable() bool {
	return r.HasHeaders || r.Limit > 0 || !r.Reset.IsZero() || r.Status == http.StatusTooManyRequests
}

// parseRateInfo reads the rate-limit headers of a response received at now.
func parseRateInfo(h http.Header, status int, now time.Time) RateInfo {
	ri := RateInfo{Status: status}
	if n, ok := headerInt(h, "X-RateLimit-Limit"); ok {
		ri.Limit = clampInt(n)
	}
	if n, ok := headerInt(h, "X-RateLimit-Remaining"); ok {
		ri.Remaining, ri.HasHeaders = clampInt(n), true
	}
	if n, ok := headerInt(h, "X-RateLimit-Reset"); ok && n > 0 {
		// Documented as Unix seconds; a small number can only be a delta
		// (seconds until the reset), which some gateways send instead.
		if n < 1_000_000_000 {
			ri.Reset = now.Add(time.Duration(n) * time.Second)
		} else {
			ri.Reset = time.Unix(n, 0)
		}
	}
	ri.RetryAfter = retryAfter(h.Get("Retry-After"), now)
	return ri
}

// headerInt reads an integer header, tolerating a fractional part.
func headerInt(h http.Header, name string) (int64, bool) {
	v := strings.TrimSpace(h.Get(name))
	if v == "" {
		return 0, false
	}
	v, _, _ = strings.Cut(v, ".")
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil
}

// clampInt fits a header count into [0, 1<<31).
func clampInt(n int64) int { return int(min(max(n, 0), 1<<31-1)) }

// retryAfter reads Retry-After as seconds or as an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		return time.Duration(min(n, 24*3600)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
