package virtuoussim

import (
	"net/http"
	"strconv"
	"time"
)

// rateWindow is a fixed window that opens with the first request after the
// previous one closed. Virtuous documents an hourly budget per organization
// shared by every key; a window that starts with the first request makes a
// test's "N requests then a 429" independent of where the wall clock is.
type rateWindow struct {
	start time.Time
	used  int
}

// admit spends one request of the org's budget and writes the X-RateLimit-*
// headers. It reports false, with Retry-After set, when the budget is gone.
func (o *Org) admit(w http.ResponseWriter, limit int) bool {
	window := o.sim.opts.RateWindow
	now := time.Now()
	o.cmu.Lock()
	if o.rate.start.IsZero() || now.Sub(o.rate.start) >= window {
		o.rate = rateWindow{start: now}
	}
	reset := o.rate.start.Add(window)
	ok := o.rate.used < limit
	if ok {
		o.rate.used++
	} else {
		o.counters.RateLimited++
	}
	remaining := max(limit-o.rate.used, 0)
	o.cmu.Unlock()

	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
	// Round the reset up so that a client sleeping until it never wakes early.
	resetUnix := reset.Unix()
	if reset.Nanosecond() > 0 {
		resetUnix++
	}
	h.Set("X-RateLimit-Reset", strconv.FormatInt(resetUnix, 10))
	if !ok {
		secs := int64((reset.Sub(now) + time.Second - 1) / time.Second)
		h.Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
	}
	return ok
}

func (o *Org) rateLimit() int {
	if l := o.config().RateLimit; l > 0 {
		return l
	}
	return o.sim.opts.RateLimit
}

// throttleBurst is an injected burst of 429s: from start until until.
type throttleBurst struct{ start, until time.Time }

// throttleGrace is how long after a burst's first 429 a request still
// counts as sent before the client could know: requests already on the way,
// and other processes learning of the 429 through the shared budget.
const throttleGrace = time.Second

// throttled answers 429 for a request inside an injected burst, or one that
// opens a burst, and reports whether it did.
func (o *Org) throttled(w http.ResponseWriter) bool {
	cfg := o.config()
	if cfg.ThrottleRate <= 0 {
		return false
	}
	now := time.Now()
	o.cmu.Lock()
	switch {
	case now.Before(o.burst.until):
		if now.Sub(o.burst.start) > throttleGrace {
			o.counters.RetryAfterIgnored++
		}
	case o.frng.Float64() < cfg.ThrottleRate:
		o.burst = throttleBurst{start: now, until: now.Add(cfg.ThrottleFor)}
		o.counters.ThrottleBursts++
	default:
		o.cmu.Unlock()
		return false
	}
	o.counters.Throttled++
	until := o.burst.until
	o.cmu.Unlock()
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(o.rateLimit()))
	h.Set("X-RateLimit-Remaining", "0")
	h.Set("X-RateLimit-Reset", strconv.FormatInt((until.UnixNano()+int64(time.Second)-1)/int64(time.Second), 10))
	h.Set("Retry-After", strconv.FormatInt(int64((until.Sub(now)+time.Second-1)/time.Second), 10))
	return true
}
