package virtuoussim

import (
	"bytes"
	"container/heap"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// Webhook event names as they appear in the "event" field of a delivery.
const (
	EventGiftCreate    = "GiftCreate"
	EventGiftUpdate    = "GiftUpdate"
	EventGiftDelete    = "GiftDelete"
	EventContactCreate = "ContactCreate"
	EventContactUpdate = "ContactUpdate"
)

// DefaultSignatureHeader carries Base64(HMAC-SHA256(secret, body)). The real
// header name is unconfirmed; a subscription can choose another.
const DefaultSignatureHeader = "X-Virtuous-Signature"

// subscription is a webhook registration (POST /api/Webhook).
type subscription struct {
	ID              int64  `json:"id"`
	PayloadURL      string `json:"payloadUrl"`
	Secret          string `json:"secret"`
	ContactCreate   bool   `json:"contactCreate"`
	ContactUpdate   bool   `json:"contactUpdate"`
	GiftCreate      bool   `json:"giftCreate"`
	GiftUpdate      bool   `json:"giftUpdate"`
	GiftDelete      bool   `json:"giftDelete"`
	ProjectCreate   bool   `json:"projectCreate"`
	ProjectUpdate   bool   `json:"projectUpdate"`
	ProjectDelete   bool   `json:"projectDelete"`
	FormSubmission  bool   `json:"formSubmission"`
	ContactNoteCrt  bool   `json:"contactNoteCreate"`
	ContactNoteUpd  bool   `json:"contactNoteUpdate"`
	ContactNoteDel  bool   `json:"contactNoteDelete"`
	EventCreate     bool   `json:"eventCreate"`
	EventUpdate     bool   `json:"eventUpdate"`
	EventDelete     bool   `json:"eventDelete"`
	Active          bool   `json:"active"`
	SignatureHeader string `json:"-"`
}

func (s *subscription) wants(event string) bool {
	if !s.Active {
		return false
	}
	switch event {
	case EventGiftCreate:
		return s.GiftCreate
	case EventGiftUpdate:
		return s.GiftUpdate
	case EventGiftDelete:
		return s.GiftDelete
	case EventContactCreate:
		return s.ContactCreate
	case EventContactUpdate:
		return s.ContactUpdate
	}
	return false
}

// Subscribe registers a webhook for every gift and contact event ("Send me
// everything"). secret may be empty (no signature); header names the
// signature header (default X-Virtuous-Signature). It returns the
// subscription id.
func (o *Org) Subscribe(url, secret, header string) int64 {
	if header == "" {
		header = DefaultSignatureHeader
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	sub := &subscription{
		PayloadURL: url, Secret: secret, SignatureHeader: header, Active: true,
		ContactCreate: true, ContactUpdate: true, GiftCreate: true, GiftUpdate: true, GiftDelete: true,
	}
	return o.addSubscription(sub)
}

func (o *Org) addSubscription(sub *subscription) int64 {
	sub.ID = o.nextWebhook
	o.nextWebhook++
	if sub.SignatureHeader == "" {
		sub.SignatureHeader = DefaultSignatureHeader
	}
	o.webhooks[sub.ID] = sub
	return sub.ID
}

// emitGift raises a gift event. The payload is rendered now, under the org
// lock, so that it shows the gift as it was when the event happened. Callers
// hold o.mu.
func (o *Org) emitGift(event string, g *gift) {
	o.emit(event, "gift", func(b []byte) []byte { return o.appendGift(b, g, true) })
}

func (o *Org) emitContact(event string, c *contact) {
	o.emit(event, "contact", func(b []byte) []byte { return o.appendContact(b, c, true) })
}

// emit decides, per subscription, whether the event is lost, duplicated or
// wrapped in the optional envelope, and queues the delivery. Callers hold
// o.mu (the rng and the subscriptions are under it).
func (o *Org) emit(event, field string, render func([]byte) []byte) {
	var subs []*subscription
	for _, s := range o.webhooks {
		if s.wants(event) {
			subs = append(subs, s)
		}
	}
	if len(subs) == 0 {
		return
	}
	if len(subs) > 1 {
		sortSubs(subs)
	}
	var object []byte
	for _, sub := range subs {
		o.count(func(c *Counters) { c.WebhookEvents++ })
		if o.rng.Float64() < o.cfg.WebhookLossRate {
			o.count(func(c *Counters) { c.WebhooksLost++; c.WebhooksLostRandom++ })
			continue
		}
		if object == nil {
			object = render(nil)
		}
		b := make([]byte, 0, len(object)+200)
		ob := openObj(&b)
		ob.str("event", event)
		if o.rng.Float64() < o.cfg.EnvelopeRate {
			ob.str("eventId", o.uuid())
			ob.key("eventDateTimeUtc")
			b = append(b, '"')
			b = appendTimestamp(b, o.now(), tsLongZ)
			b = append(b, '"')
			ob.key("organization")
			org := openObj(&b)
			org.int("id", o.id)
			org.str("name", o.name)
			org.close()
		}
		ob.raw(field, string(object))
		ob.close()
		copies := 1
		if o.rng.Float64() < o.cfg.WebhookDupRate {
			copies = 2
			o.count(func(c *Counters) { c.WebhooksDuplicated++ })
		}
		for range copies {
			o.sim.hooks.enqueue(&delivery{
				org: o, event: event, url: sub.PayloadURL, secret: sub.Secret,
				header: sub.SignatureHeader, body: b,
			})
		}
	}
}

func (o *Org) uuid() string {
	var b [16]byte
	for i := range 2 {
		v := o.rng.Uint64()
		for j := range 8 {
			b[i*8+j] = byte(v >> (8 * j))
		}
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Sign returns the signature Virtuous sends with a payload: the Base64 of the
// HMAC-SHA256 of the raw body keyed with the subscription's secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

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

func sortSubs(subs []*subscription) {
	for i := 1; i < len(subs); i++ {
		for j := i; j > 0 && subs[j].ID < subs[j-1].ID; j-- {
			subs[j], subs[j-1] = subs[j-1], subs[j]
		}
	}
}
