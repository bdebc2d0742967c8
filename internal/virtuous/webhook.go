package virtuous

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultSignatureHeader is where the webhook signature is presumed to
// arrive. UNCONFIRMED: only docs.virtuous.org presumes this name; tenants can
// configure another, and a sandbox delivery should pin it down.
const DefaultSignatureHeader = "X-Virtuous-Signature"

// Event is one webhook delivery, as observed in real receiver code:
// {"event":"GiftCreate","gift":{…}} or {"event":"ContactCreate","contact":{…}},
// optionally inside the envelope fields eventId, eventDateTimeUtc,
// organization and organizationUser (modelled by one public receiver;
// UNCONFIRMED but plausible).
type Event struct {
	// Name is the event in PascalCase: GiftCreate, GiftUpdate, GiftDelete,
	// ContactCreate, ContactUpdate, or another known Virtuous event; an
	// unknown name is kept verbatim.
	Name             string
	Gift             *Gift
	Contact          *Contact
	EventID          string
	EventDateTimeUTC Time
	Organization     *Organization
	OrganizationUser *OrganizationUser
	// Raw is the body exactly as delivered: the slice ParseWebhook was
	// given, not a copy (the receiver stores that same slice).
	Raw json.RawMessage
}

// Organization is the Virtuous organization a webhook came from.
type Organization struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// OrganizationUser is the user whose action fired a webhook.
type OrganizationUser struct {
	ID           int64  `json:"id"`
	EmailAddress string `json:"emailAddress"`
}

// eventNames are the 15 events a subscription can toggle, by their
// lower-case letters, so that "giftcreate", "GIFT_CREATE" and "gift-create"
// all normalise to GiftCreate.
var eventNames = func() map[string]string {
	m := map[string]string{}
	for _, n := range []string{
		"GiftCreate", "GiftUpdate", "GiftDelete", "ContactCreate", "ContactUpdate",
		"ProjectCreate", "ProjectUpdate", "ProjectDelete", "FormSubmission",
		"ContactNoteCreate", "ContactNoteUpdate", "ContactNoteDelete",
		"EventCreate", "EventUpdate", "EventDelete",
	} {
		m[strings.ToLower(n)] = n
	}
	return m
}()

// spelled holds each name as eventNames spells it, as itself.
var spelled = func() map[string]string {
	m := map[string]string{}
	for _, n := range eventNames {
		m[n] = n
	}
	return m
}()

var kinds = map[string]string{
	"GiftCreate": "gift", "GiftUpdate": "gift", "GiftDelete": "gift",
	"ContactCreate": "contact", "ContactUpdate": "contact",
}

func normalizeEventName(s string) string {
	if _, ok := spelled[s]; ok {
		return s // already a name: nothing to trim or fold
	}
	s = strings.TrimSpace(s)
	key := strings.Map(func(r rune) rune {
		switch r {
		case '_', '-', '.', ' ':
			return -1
		}
		return r
	}, strings.ToLower(s))
	if n, ok := eventNames[key]; ok {
		return n
	}
	return s
}

// ParseWebhook reads a webhook body. It fails on malformed JSON, a missing
// event name, and a gift or contact event without its object (or whose
// object has no id), so that a receiver can reject what it cannot apply.
//
// A gift delivery in the usual shape is decoded without reflection (see
// parseGiftWebhook); anything else by encoding/json, in one pass, gift or
// contact included. Only when that fails is it decoded again object by
// object, to say which part is wrong: at thousands of deliveries a second
// the second scan of every object cost a third of the decoding, and bad
// bodies are rare. (One difference: an object whose key is repeated is
// merged, encoding/json's rule for a struct, where the second pass would
// keep the last copy whole. The apply worker parses the stored body with
// this same function, so what is acknowledged and what is applied agree
// either way.)
func ParseWebhook(body []byte) (*Event, error) {
	if e, ok := parseGiftWebhook(body); ok {
		return e, nil
	}
	return parseWebhookReflect(body)
}

// parseWebhookReflect is ParseWebhook by encoding/json alone.
func parseWebhookReflect(body []byte) (*Event, error) {
	var env envelope[*Gift, *Contact]
	if err := json.Unmarshal(body, &env); err != nil {
		return parseWebhookSlowly(body)
	}
	e := env.event(body)
	e.Gift, e.Contact = env.Gift, env.Contact
	if err := e.check(); err != nil {
		return nil, err
	}
	return e, nil
}

// envelope is a delivery's outer object, its gift and contact decoded
// either at once (*Gift, *Contact) or kept raw (json.RawMessage).
type envelope[G, C any] struct {
	Event            string            `json:"event"`
	Gift             G                 `json:"gift"`
	Contact          C                 `json:"contact"`
	EventID          looseString       `json:"eventId"`
	EventDateTimeUTC Time              `json:"eventDateTimeUtc"`
	Organization     *Organization     `json:"organization"`
	OrganizationUser *OrganizationUser `json:"organizationUser"`
}

func (env *envelope[G, C]) event(body []byte) *Event {
	return &Event{
		Name:             normalizeEventName(env.Event),
		EventID:          string(env.EventID),
		EventDateTimeUTC: env.EventDateTimeUTC,
		Organization:     env.Organization,
		OrganizationUser: env.OrganizationUser,
		Raw:              body,
	}
}

// parseWebhookSlowly is ParseWebhook decoding the envelope first and then
// each object on its own, so an error names the object it is in.
func parseWebhookSlowly(body []byte) (*Event, error) {
	var env envelope[json.RawMessage, json.RawMessage]
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("virtuous: webhook body: %w", err)
	}
	e := env.event(body)
	if e.Name == "" {
		return nil, errors.New("virtuous: webhook body has no event name")
	}
	var err error
	if e.Gift, err = decodeObject[Gift](env.Gift, "gift"); err != nil {
		return nil, err
	}
	if e.Contact, err = decodeObject[Contact](env.Contact, "contact"); err != nil {
		return nil, err
	}
	if err := e.check(); err != nil {
		return nil, err
	}
	return e, nil
}

// check refuses an event without a name, and a gift or contact event
// without its object's id.
func (e *Event) check() error {
	if e.Name == "" {
		return errors.New("virtuous: webhook body has no event name")
	}
	switch e.Kind() {
	case "gift":
		if e.Gift == nil || e.Gift.ID == 0 {
			return fmt.Errorf("virtuous: %s webhook without a gift id", e.Name)
		}
	case "contact":
		if e.Contact == nil || e.Contact.ID == 0 {
			return fmt.Errorf("virtuous: %s webhook without a contact id", e.Name)
		}
	}
	return nil
}

// decodeObject decodes an optional object; absent or null is nil.
func decodeObject[T any](raw json.RawMessage, name string) (*T, error) {
	if len(raw) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return nil, nil
	}
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("virtuous: webhook %s: %w", name, err)
	}
	return &v, nil
}

// Kind is "gift" or "contact" for the events that carry one, else "".
func (e *Event) Kind() string { return kinds[e.Name] }

// DedupeKey identifies a delivery so that a redelivery is recognised: the
// event, the object's id and its modifiedDateTimeUtc. Other events key on
// their eventId, or failing that on a hash of the body.
func (e *Event) DedupeKey() string { return e.Header().DedupeKey() }

// Header is what a receiver stores about a delivery besides its body:
// which event, which object and which version.
type Header struct {
	Name       string
	EventID    string
	ObjectID   int64
	ModifiedAt Time
	raw        []byte
}

// Header returns the delivery's header.
func (e *Event) Header() *Header {
	h := &Header{Name: e.Name, EventID: e.EventID, raw: e.Raw}
	switch {
	case e.Kind() == "gift" && e.Gift != nil:
		h.ObjectID, h.ModifiedAt = e.Gift.ID, e.Gift.ModifiedDateTimeUTC
	case e.Kind() == "contact" && e.Contact != nil:
		h.ObjectID, h.ModifiedAt = e.Contact.ID, e.Contact.ModifiedDateTimeUTC
	}
	return h
}

// Kind is "gift", "contact", or "" for events Backstop does not apply.
func (h *Header) Kind() string { return kinds[h.Name] }

// DedupeKey is Event.DedupeKey.
func (h *Header) DedupeKey() string {
	switch {
	case h.Kind() != "" && h.ObjectID != 0:
		// Appended, not concatenated: one allocation for the key, where
		// the id, the time and the key were three.
		b := make([]byte, 0, 64)
		b = append(append(b, h.Name...), ':')
		b = append(strconv.AppendInt(b, h.ObjectID, 10), ':')
		if !h.ModifiedAt.IsZero() {
			b = h.ModifiedAt.UTC().AppendFormat(b, time.RFC3339Nano)
		}
		return string(b)
	case h.EventID != "":
		return h.Name + ":event:" + h.EventID
	}
	sum := sha256.Sum256(h.raw)
	return h.Name + ":sha256:" + hex.EncodeToString(sum[:])
}

// Sign returns Base64(HMAC-SHA256(key=secret, msg=body)), the signature
// format the Virtuous support article describes.
func Sign(secret string, body []byte) string {
	return base64.StdEncoding.EncodeToString(mac(secret, body))
}

func mac(secret string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return m.Sum(nil)
}

// VerifySignature reports whether got is HMAC-SHA256(key=secret,
// msg=body). The encoding is UNCONFIRMED (the support article says Base64,
// docs.virtuous.org presumes hex), so got may be Base64 (standard or URL
// alphabet, padded or not) or hex, with an optional "sha256=" prefix. The
// comparison is constant-time. An empty secret verifies nothing: a tenant
// without one must decide explicitly to accept unsigned deliveries.
func VerifySignature(secret string, body []byte, got string) bool {
	got, ok := trimSignature(got)
	return ok && secret != "" && signatureMatches(got, mac(secret, body))
}

// Key is a webhook secret with HMAC states kept for reuse, for the
// receiver's Verify and the load generator's Sign: a new HMAC per delivery
// cost its allocations and the hashing of the key.
type Key struct {
	secret string
	macs   sync.Pool
}

// NewKey returns a Key for secret.
func NewKey(secret string) *Key {
	k := &Key{secret: secret}
	k.macs.New = func() any { return hmac.New(sha256.New, []byte(secret)) }
	return k
}

// Verify is VerifySignature(secret, body, got).
func (k *Key) Verify(body []byte, got string) bool {
	got, ok := trimSignature(got)
	if !ok || k.secret == "" {
		return false
	}
	var sum [sha256.Size]byte
	return signatureMatches(got, k.sum(sum[:0], body))
}

// Sign is Sign(secret, body).
func (k *Key) Sign(body []byte) string {
	var sum [sha256.Size]byte
	return base64.StdEncoding.EncodeToString(k.sum(sum[:0], body))
}

// sum appends HMAC-SHA256(secret, body) to b.
func (k *Key) sum(b, body []byte) []byte {
	m := k.macs.Get().(hash.Hash)
	m.Reset()
	m.Write(body)
	b = m.Sum(b)
	k.macs.Put(m)
	return b
}

func trimSignature(got string) (string, bool) {
	got = strings.TrimSpace(got)
	if len(got) >= 7 && strings.EqualFold(got[:7], "sha256=") {
		got = got[7:]
	}
	return got, got != ""
}

// signatureMatches compares got, in each encoding it may be in, with want.
// No early exit: every candidate is compared, whatever matched. got is
// decoded into buffers on the stack unless it is longer than any encoding
// of a SHA-256 sum.
func signatureMatches(got string, want []byte) bool {
	var srcBuf, dstBuf [128]byte
	in := append(srcBuf[:0], got...)
	dst := dstBuf[:]
	if len(in) > len(dst) {
		dst = make([]byte, len(in))
	}
	ok := false
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if n, err := enc.Decode(dst, in); err == nil && n == len(want) {
			ok = hmac.Equal(dst[:n], want) || ok
		}
	}
	if n, err := hex.Decode(dst, in); err == nil && n == len(want) {
		ok = hmac.Equal(dst[:n], want) || ok
	}
	return ok
}
