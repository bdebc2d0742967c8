package virtuoussim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// Window is a half-open interval [From, To) of simulator-clock time.
type Window struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

func (w Window) contains(t time.Time) bool { return !t.Before(w.From) && t.Before(w.To) }

// OrgConfig is the misbehaviour dialled into one organization. The zero value
// is a well-behaved Virtuous (apart from the nightly batch, which is always
// there). Rates are shares between 0 and 1.
type OrgConfig struct {
	// WebhookLossRate is the share of webhook deliveries silently lost: never
	// sent, never retried — what a client sees after a Virtuous-side drop.
	WebhookLossRate float64
	// WebhookDupRate is the share of deliveries sent twice (at-least-once).
	WebhookDupRate float64
	// Outages are simulator-clock windows during which every delivery attempt
	// fails as if the receiver were down; Virtuous retries on WebhookRetries.
	Outages []Window
	// WebhookRetries is the real-time delay before each retry of a failed
	// delivery (non-2xx, connection error, timeout, outage). After the last
	// one the event is lost. Nil means 1s, 5s, 30s; an empty non-nil slice
	// means no retries.
	WebhookRetries []time.Duration
	// WebhookTimeout bounds one delivery attempt (default 10s).
	WebhookTimeout time.Duration
	// EnvelopeRate is the share of deliveries that carry the optional
	// envelope fields eventId, eventDateTimeUtc and organization (default
	// 0.5; set a negative value for none).
	EnvelopeRate float64

	// UnmatchedRate is the share of gift transactions the batch cannot match
	// to a contact: they go to Match Needed and stay 404 until resolved. The
	// choice is a hash of the seed and the transaction key, so a given
	// transaction's fate does not depend on the order of submissions.
	UnmatchedRate float64
	// UnmatchedEmailDomain: donors with an email in this domain are always
	// unmatched (default "unmatched.example").
	UnmatchedEmailDomain string
	// InvalidEmailDomain: transactions with an email in this domain are
	// rejected with 400 at submission (default "invalid.example").
	InvalidEmailDomain string

	// ServerErrorRate is the share of API requests answered 500, 502, 503,
	// 504 or 520. For writes, half of them fail after the write took effect,
	// as a proxy timing out in front of a working server does.
	ServerErrorRate float64
	// TimeoutRate is the share of API requests that hang until the client
	// gives up (or TimeoutHang passes, then 504).
	TimeoutRate float64
	// TimeoutHang bounds a hanging request (default 60s).
	TimeoutHang time.Duration
	// SlowRate is the share of requests delayed by an extra SlowBy.
	SlowRate float64
	SlowBy   time.Duration
	// MalformedRate is the share of 200 JSON responses whose body is cut
	// short, so that it does not parse.
	MalformedRate float64
	// Latency is added to every API request.
	Latency time.Duration
	// RateLimit overrides Options.RateLimit for this org when positive.
	RateLimit int
	// ThrottleRate is the share of API requests that open a burst of 429s
	// lasting ThrottleFor (real time, default 2s): every request in it is
	// refused with Retry-After and X-RateLimit-Remaining 0, as when the
	// organization's other integrations have spent its budget. Requests a
	// client sends in a burst after it was told to wait are counted in
	// Counters.RetryAfterIgnored.
	ThrottleRate float64
	ThrottleFor  time.Duration
}

func (c OrgConfig) withDefaults() OrgConfig {
	if c.UnmatchedEmailDomain == "" {
		c.UnmatchedEmailDomain = "unmatched.example"
	}
	if c.InvalidEmailDomain == "" {
		c.InvalidEmailDomain = "invalid.example"
	}
	if c.WebhookRetries == nil {
		c.WebhookRetries = []time.Duration{time.Second, 5 * time.Second, 30 * time.Second}
	}
	if c.WebhookTimeout <= 0 {
		c.WebhookTimeout = 10 * time.Second
	}
	if c.EnvelopeRate == 0 {
		c.EnvelopeRate = 0.5
	}
	if c.TimeoutHang <= 0 {
		c.TimeoutHang = 60 * time.Second
	}
	if c.ThrottleFor <= 0 {
		c.ThrottleFor = 2 * time.Second
	}
	return c
}

// duration is a time.Duration that reads "6h" or a number of nanoseconds
// and writes "6h0m0s", so the control API takes human durations.
type duration time.Duration

func (d duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		*d = duration(v)
		return nil
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("duration %s: want \"1m30s\" or nanoseconds", b)
	}
	*d = duration(n)
	return nil
}

// orgConfigJSON is OrgConfig's wire form on the control API.
type orgConfigJSON struct {
	WebhookLossRate      *float64    `json:"webhookLossRate,omitempty"`
	WebhookDupRate       *float64    `json:"webhookDupRate,omitempty"`
	Outages              *[]Window   `json:"outages,omitempty"`
	WebhookRetries       *[]duration `json:"webhookRetries,omitempty"`
	WebhookTimeout       *duration   `json:"webhookTimeout,omitempty"`
	EnvelopeRate         *float64    `json:"envelopeRate,omitempty"`
	UnmatchedRate        *float64    `json:"unmatchedRate,omitempty"`
	UnmatchedEmailDomain *string     `json:"unmatchedEmailDomain,omitempty"`
	InvalidEmailDomain   *string     `json:"invalidEmailDomain,omitempty"`
	ServerErrorRate      *float64    `json:"serverErrorRate,omitempty"`
	TimeoutRate          *float64    `json:"timeoutRate,omitempty"`
	TimeoutHang          *duration   `json:"timeoutHang,omitempty"`
	SlowRate             *float64    `json:"slowRate,omitempty"`
	SlowBy               *duration   `json:"slowBy,omitempty"`
	MalformedRate        *float64    `json:"malformedRate,omitempty"`
	Latency              *duration   `json:"latency,omitempty"`
	RateLimit            *int        `json:"rateLimit,omitempty"`
	ThrottleRate         *float64    `json:"throttleRate,omitempty"`
	ThrottleFor          *duration   `json:"throttleFor,omitempty"`
}

// MarshalJSON writes the config with camelCase keys and durations as text.
func (c OrgConfig) MarshalJSON() ([]byte, error) {
	rs := make([]duration, len(c.WebhookRetries))
	for i, r := range c.WebhookRetries {
		rs[i] = duration(r)
	}
	outages := c.Outages
	if outages == nil {
		outages = []Window{}
	}
	wt, th, sb, lat, tf := duration(c.WebhookTimeout), duration(c.TimeoutHang), duration(c.SlowBy), duration(c.Latency), duration(c.ThrottleFor)
	return json.Marshal(orgConfigJSON{
		WebhookLossRate: &c.WebhookLossRate, WebhookDupRate: &c.WebhookDupRate, Outages: &outages,
		WebhookRetries: &rs, WebhookTimeout: &wt, EnvelopeRate: &c.EnvelopeRate,
		UnmatchedRate: &c.UnmatchedRate, UnmatchedEmailDomain: &c.UnmatchedEmailDomain,
		InvalidEmailDomain: &c.InvalidEmailDomain, ServerErrorRate: &c.ServerErrorRate,
		TimeoutRate: &c.TimeoutRate, TimeoutHang: &th, SlowRate: &c.SlowRate, SlowBy: &sb,
		MalformedRate: &c.MalformedRate, Latency: &lat, RateLimit: &c.RateLimit,
		ThrottleRate: &c.ThrottleRate, ThrottleFor: &tf,
	})
}

// UnmarshalJSON overlays the fields present in b onto c, so that a control
// API PUT of {"webhookLossRate":0.2} changes only that knob.
func (c *OrgConfig) UnmarshalJSON(b []byte) error {
	var j orgConfigJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return err
	}
	setF := func(dst *float64, src *float64) {
		if src != nil {
			*dst = *src
		}
	}
	setD := func(dst *time.Duration, src *duration) {
		if src != nil {
			*dst = time.Duration(*src)
		}
	}
	setF(&c.WebhookLossRate, j.WebhookLossRate)
	setF(&c.WebhookDupRate, j.WebhookDupRate)
	setF(&c.EnvelopeRate, j.EnvelopeRate)
	setF(&c.UnmatchedRate, j.UnmatchedRate)
	setF(&c.ServerErrorRate, j.ServerErrorRate)
	setF(&c.TimeoutRate, j.TimeoutRate)
	setF(&c.SlowRate, j.SlowRate)
	setF(&c.MalformedRate, j.MalformedRate)
	setF(&c.ThrottleRate, j.ThrottleRate)
	setD(&c.ThrottleFor, j.ThrottleFor)
	setD(&c.WebhookTimeout, j.WebhookTimeout)
	setD(&c.TimeoutHang, j.TimeoutHang)
	setD(&c.SlowBy, j.SlowBy)
	setD(&c.Latency, j.Latency)
	if j.Outages != nil {
		c.Outages = *j.Outages
	}
	if j.WebhookRetries != nil {
		c.WebhookRetries = make([]time.Duration, len(*j.WebhookRetries))
		for i, r := range *j.WebhookRetries {
			c.WebhookRetries[i] = time.Duration(r)
		}
	}
	if j.UnmatchedEmailDomain != nil {
		c.UnmatchedEmailDomain = *j.UnmatchedEmailDomain
	}
	if j.InvalidEmailDomain != nil {
		c.InvalidEmailDomain = *j.InvalidEmailDomain
	}
	if j.RateLimit != nil {
		c.RateLimit = *j.RateLimit
	}
	return nil
}
