package virtuoussim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
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

func sortSubs(subs []*subscription) {
	for i := 1; i < len(subs); i++ {
		for j := i; j > 0 && subs[j].ID < subs[j-1].ID; j-- {
			subs[j], subs[j-1] = subs[j-1], subs[j]
		}
	}
}
