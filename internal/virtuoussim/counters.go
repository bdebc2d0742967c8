package virtuoussim

import "maps"

// Counters is what an org has seen and done, for tests and the demo to
// assert on: how hard the client hit each endpoint, which faults it got, and
// what became of each webhook.
type Counters struct {
	// Requests counts authenticated API requests by route, e.g.
	// "POST /api/v2/Gift/Transaction" or
	// "GET /api/Gift/{transactionSource}/{transactionId}". Requests refused
	// with 429 are included.
	Requests map[string]int64 `json:"requests"`
	// RateLimited counts 429 responses for requests over the hourly limit.
	RateLimited int64 `json:"rateLimited"`
	// ThrottleBursts counts injected bursts of 429s (ThrottleRate) and
	// Throttled the 429s answered in them. RetryAfterIgnored counts the
	// requests that arrived in a burst more than throttleGrace after its
	// first 429 told the client to wait: requests a well-behaved client
	// does not send.
	ThrottleBursts    int64 `json:"throttleBursts"`
	Throttled         int64 `json:"throttled"`
	RetryAfterIgnored int64 `json:"retryAfterIgnored"`
	// ServerErrors, Timeouts, Malformed and Slow count injected faults;
	// ServerErrorsAfterWrite counts the 5xx answers to writes that took
	// effect anyway.
	ServerErrors           int64 `json:"serverErrors"`
	ServerErrorsAfterWrite int64 `json:"serverErrorsAfterWrite"`
	Timeouts               int64 `json:"timeouts"`
	Malformed              int64 `json:"malformed"`
	Slow                   int64 `json:"slow"`
	// TransactionPosts counts POST /api/v2/Gift/Transaction per
	// "transactionSource/transactionId", accepted, deduplicated or rejected.
	TransactionPosts map[string]int64 `json:"transactionPosts"`
	// ContactTransactionPosts counts POST /api/Contact/Transaction per
	// "referenceSource/referenceId".
	ContactTransactionPosts map[string]int64 `json:"contactTransactionPosts"`
	// Deduplicated counts gift transactions ignored because their key was
	// already pending, in the bucket or imported.
	Deduplicated int64 `json:"deduplicated"`
	// Rejected counts transactions answered 400.
	Rejected int64 `json:"rejected"`

	// Webhook events: Events is how many events were raised for the org's
	// subscriptions (one per subscription). Delivered counts 2xx deliveries
	// (a duplicate counts twice). Lost counts events that never arrived:
	// LostRandom were dropped by WebhookLossRate, LostExhausted ran out of
	// retries. Duplicated counts extra copies sent. Retried counts retry
	// attempts, FailedAttempts every failed attempt (outage, refused,
	// non-2xx, timeout). Suppressed counts events not raised because of a
	// bulk load.
	WebhookEvents         int64 `json:"webhookEvents"`
	WebhooksDelivered     int64 `json:"webhooksDelivered"`
	WebhooksLost          int64 `json:"webhooksLost"`
	WebhooksLostRandom    int64 `json:"webhooksLostRandom"`
	WebhooksLostExhausted int64 `json:"webhooksLostExhausted"`
	WebhooksDuplicated    int64 `json:"webhooksDuplicated"`
	WebhooksRetried       int64 `json:"webhooksRetried"`
	WebhookFailedAttempts int64 `json:"webhookFailedAttempts"`
	WebhooksSuppressed    int64 `json:"webhooksSuppressed"`
	// WebhooksByEvent counts delivered webhooks by event name.
	WebhooksByEvent map[string]int64 `json:"webhooksByEvent"`
}

func newCounters() Counters {
	return Counters{
		Requests:                map[string]int64{},
		TransactionPosts:        map[string]int64{},
		ContactTransactionPosts: map[string]int64{},
		WebhooksByEvent:         map[string]int64{},
	}
}

// Posts is how many times the gift transaction source/id was POSTed.
func (c Counters) Posts(source, id string) int64 {
	return c.TransactionPosts[txKey{source, id}.String()]
}

func (c Counters) clone() Counters {
	d := c
	d.Requests = maps.Clone(c.Requests)
	d.TransactionPosts = maps.Clone(c.TransactionPosts)
	d.ContactTransactionPosts = maps.Clone(c.ContactTransactionPosts)
	d.WebhooksByEvent = maps.Clone(c.WebhooksByEvent)
	return d
}

// Counters returns a copy of the org's counters.
func (o *Org) Counters() Counters {
	o.cmu.Lock()
	defer o.cmu.Unlock()
	return o.counters.clone()
}

// ResetCounters zeroes the counters (not the rate window).
func (o *Org) ResetCounters() {
	o.cmu.Lock()
	defer o.cmu.Unlock()
	o.counters = newCounters()
}

// count applies f to the counters under their lock.
func (o *Org) count(f func(c *Counters)) {
	o.cmu.Lock()
	f(&o.counters)
	o.cmu.Unlock()
}
