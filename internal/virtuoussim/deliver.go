package virtuoussim

import (
	"bytes"
	"container/heap"
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// delivery is one copy of one event on its way to one subscription.
type delivery struct {
	org     *Org
	event   string
	url     string
	secret  string
	header  string
	body    []byte
	attempt int // attempts made so far
	due     time.Time
	index   int // in the retry heap
}

// deliverer is the Sim's webhook pool: a FIFO that never blocks the API
// handlers that feed it, a fixed number of workers, and a timer heap of
// retries.
type deliverer struct {
	sim    *Sim
	client *http.Client
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	queue    []*delivery
	retries  retryHeap
	inFlight int
	closed   bool
	wake     chan struct{} // workers: the queue has work
	rewake   chan struct{} // scheduler: the heap changed
	idle     chan struct{} // closed and replaced whenever the pool goes idle
	wg       sync.WaitGroup
}

func newDeliverer(s *Sim, workers int) *deliverer {
	ctx, cancel := context.WithCancel(context.Background())
	d := &deliverer{
		sim:    s,
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers, IdleConnTimeout: 30 * time.Second}},
		ctx:    ctx, cancel: cancel,
		wake:   make(chan struct{}, 1),
		rewake: make(chan struct{}, 1),
		idle:   make(chan struct{}),
	}
	for range workers {
		d.wg.Add(1)
		go d.worker()
	}
	d.wg.Add(1)
	go d.scheduler()
	return d
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

func (d *deliverer) enqueue(x *delivery) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	d.queue = append(d.queue, x)
	signal(d.wake)
}

func (d *deliverer) busyLocked() bool {
	return len(d.queue) > 0 || len(d.retries) > 0 || d.inFlight > 0
}

// settleLocked wakes WaitIdle callers once nothing is left to do.
func (d *deliverer) settleLocked() {
	if !d.busyLocked() {
		close(d.idle)
		d.idle = make(chan struct{})
	}
}

func (d *deliverer) waitIdle(ctx context.Context) error {
	for {
		d.mu.Lock()
		if !d.busyLocked() || d.closed {
			d.mu.Unlock()
			return nil
		}
		ch := d.idle
		d.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (d *deliverer) worker() {
	defer d.wg.Done()
	for {
		d.mu.Lock()
		for len(d.queue) == 0 && !d.closed {
			d.mu.Unlock()
			select {
			case <-d.wake:
			case <-d.ctx.Done():
			}
			d.mu.Lock()
		}
		if d.closed {
			d.mu.Unlock()
			return
		}
		x := d.queue[0]
		d.queue[0] = nil
		d.queue = d.queue[1:]
		d.inFlight++
		if len(d.queue) > 0 {
			signal(d.wake) // let another worker pick up the rest
		}
		d.mu.Unlock()

		ok, sched := d.attempt(x)

		d.mu.Lock()
		d.inFlight--
		if !ok && !d.closed {
			d.retryLocked(x, sched)
		}
		d.settleLocked()
		d.mu.Unlock()
	}
}

// attempt makes one delivery attempt and counts its outcome. It also returns
// the org's retry schedule, read here because d.mu must not be held while
// taking an org's lock (the org holds its lock while it enqueues).
func (d *deliverer) attempt(x *delivery) (bool, []time.Duration) {
	o := x.org
	cfg := o.config()
	sched := cfg.WebhookRetries
	x.attempt++
	now := o.now()
	for _, w := range cfg.Outages {
		if w.contains(now) {
			o.count(func(c *Counters) { c.WebhookFailedAttempts++ })
			return false, sched
		}
	}
	ctx, cancel := context.WithTimeout(d.ctx, cfg.WebhookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, x.url, bytes.NewReader(x.body))
	if err != nil {
		o.count(func(c *Counters) { c.WebhookFailedAttempts++ })
		return false, sched
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Virtuous-Webhooks/1.0")
	if x.secret != "" {
		req.Header.Set(x.header, Sign(x.secret, x.body))
	}
	resp, err := d.client.Do(req)
	if err == nil {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
	}
	if err != nil || resp.StatusCode < 200 || resp.StatusCode > 299 {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		d.sim.log.Debug("webhook delivery failed", slog.String("org", o.name), slog.String("event", x.event),
			slog.Int("attempt", x.attempt), slog.Int("status", status), slog.Any("error", err))
		o.count(func(c *Counters) { c.WebhookFailedAttempts++ })
		return false, sched
	}
	o.count(func(c *Counters) { c.WebhooksDelivered++; c.WebhooksByEvent[x.event]++ })
	return true, sched
}

// retryLocked schedules the next attempt, or gives the event up as lost.
func (d *deliverer) retryLocked(x *delivery, sched []time.Duration) {
	if x.attempt > len(sched) {
		x.org.count(func(c *Counters) { c.WebhooksLost++; c.WebhooksLostExhausted++ })
		d.sim.log.Info("webhook given up", slog.String("org", x.org.name), slog.String("event", x.event),
			slog.Int("attempts", x.attempt))
		return
	}
	x.due = time.Now().Add(sched[x.attempt-1])
	heap.Push(&d.retries, x)
	x.org.count(func(c *Counters) { c.WebhooksRetried++ })
	signal(d.rewake)
}

// scheduler moves due retries back onto the queue.
func (d *deliverer) scheduler() {
	defer d.wg.Done()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		d.mu.Lock()
		if d.closed {
			d.mu.Unlock()
			return
		}
		now := time.Now()
		for len(d.retries) > 0 && !d.retries[0].due.After(now) {
			x := heap.Pop(&d.retries).(*delivery)
			d.queue = append(d.queue, x)
			signal(d.wake)
		}
		wait := time.Hour
		if len(d.retries) > 0 {
			wait = d.retries[0].due.Sub(now)
		}
		d.mu.Unlock()
		t.Reset(wait)
		select {
		case <-t.C:
		case <-d.rewake:
			if !t.Stop() {
				select {
				case <-t.C:
				default:
				}
			}
		case <-d.ctx.Done():
		}
	}
}

func (d *deliverer) close() {
	d.mu.Lock()
	d.closed = true
	d.queue = nil
	d.retries = nil
	close(d.idle)
	d.idle = make(chan struct{})
	d.mu.Unlock()
	d.cancel()
	d.wg.Wait()
	d.client.CloseIdleConnections()
}

// retryHeap orders pending retries by due time.
type retryHeap []*delivery

func (h retryHeap) Len() int           { return len(h) }
func (h retryHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h retryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *retryHeap) Push(x any) { d := x.(*delivery); d.index = len(*h); *h = append(*h, d) }
func (h *retryHeap) Pop() any {
	old := *h
	n := len(old)
	d := old[n-1]
	old[n-1] = nil
	*h = old[:n-1]
	return d
}
