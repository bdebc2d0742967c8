package virtuoussim

import (
	"sync"
	"time"
)

// Clock is the simulator's notion of "now": it stamps createDateTimeUtc and
// modifiedDateTimeUtc, resolves relative query dates ("Today"), and decides
// whether a webhook outage window is open. Rate-limit windows, webhook retry
// delays and fault latencies use real time, because the client under test
// sleeps in real time.
type Clock interface{ Now() time.Time }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now().UTC() }

// ManualClock is a Clock that only moves when told to, so tests and demos can
// jump across nightly batches. A Sim built with a ManualClock runs each org's
// nightly batch once for every UTC midnight that Advance or Set crosses.
type ManualClock struct {
	mu    sync.Mutex
	now   time.Time
	hooks map[int]func(from, to time.Time)
	next  int
}

// NewManualClock returns a ManualClock reading t (converted to UTC).
func NewManualClock(t time.Time) *ManualClock {
	return &ManualClock{now: t.UTC(), hooks: map[int]func(from, to time.Time){}}
}

// Now returns the clock's current time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d (negative d is ignored) and runs the
// midnight hooks of every Sim using this clock.
func (c *ManualClock) Advance(d time.Duration) {
	if d <= 0 {
		return
	}
	c.mu.Lock()
	from := c.now
	c.now = c.now.Add(d)
	to := c.now
	c.mu.Unlock()
	c.fire(from, to)
}

// Set moves the clock to t. Moving it backwards is allowed (it breaks the
// monotonic assumptions of any client, which is sometimes the point) but runs
// no batch.
func (c *ManualClock) Set(t time.Time) {
	c.mu.Lock()
	from := c.now
	c.now = t.UTC()
	to := c.now
	c.mu.Unlock()
	if to.After(from) {
		c.fire(from, to)
	}
}

// fire calls the hooks outside the clock's lock: a hook (the nightly batch)
// reads the clock itself.
func (c *ManualClock) fire(from, to time.Time) {
	c.mu.Lock()
	hs := make([]func(from, to time.Time), 0, len(c.hooks))
	for i := 0; i < c.next; i++ {
		if h, ok := c.hooks[i]; ok {
			hs = append(hs, h)
		}
	}
	c.mu.Unlock()
	for _, h := range hs {
		h(from, to)
	}
}

func (c *ManualClock) addHook(h func(from, to time.Time)) (remove func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := c.next
	c.next++
	c.hooks[id] = h
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		delete(c.hooks, id)
	}
}

// midnightsBetween lists the UTC midnights m with from < m <= to, oldest first.
func midnightsBetween(from, to time.Time) []time.Time {
	var out []time.Time
	m := from.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	for !m.After(to) {
		out = append(out, m)
		m = m.Add(24 * time.Hour)
	}
	return out
}
