package record

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"regexp"
	"strings"
	"time"

	"backstop/internal/derrors"
	"backstop/internal/money"
)

// Intake is what the platform PUTs for one record.
type Intake struct {
	Source    Source          `json:"source"`
	SourceRef string          `json:"source_ref"`
	Livemode  *bool           `json:"livemode,omitempty"` // Stripe: false for test-mode objects
	EventID   string          `json:"event_id,omitempty"` // Eventbrite: the order's event, for the organizer link
	Txn       json.RawMessage `json:"transaction"`
}

// Parsed is a validated intake: the canonical Transaction to send and the
// fields the queues and passes read without parsing JSON.
type Parsed struct {
	Kind       Kind
	Source     Source
	SourceRef  string
	SourceMeta json.RawMessage
	ExtSource  string
	ExtID      string
	Payload    json.RawMessage // canonical JSON: spec spellings, defaults filled in
	PayloadSHA []byte
	DonorName  string
	DonorEmail string
	Amount     *int64
	Currency   *string
	GiftDate   *time.Time
}

// Defaults supplies what the platform may leave out.
type Defaults struct {
	// TransactionSource for a source (the tenant's setting).
	TransactionSource func(Source) string
}

const maxIDLen = 200

var (
	stripeGiftRE    = regexp.MustCompile(`^(pi|ch|py|in)_[A-Za-z0-9]{6,250}$`)
	stripeContactRE = regexp.MustCompile(`^(cus|pi|ch)_[A-Za-z0-9]{6,250}$`)
	eventbriteRE    = regexp.MustCompile(`^[0-9]{6,20}$`)
	dateRE          = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}`)
)

// ParseIntake decodes and validates one intake body for kind and platformID.
// Every error names the offending field; a valid body comes back in
// canonical form.
func ParseIntake(kind Kind, platformID string, body []byte, d Defaults) (*Parsed, error) {
	if !kind.Valid() {
		return nil, derrors.Invalid("kind", "%q is not a record kind (gift or contact)", kind)
	}
	if err := checkID("platform_id", platformID); err != nil {
		return nil, err
	}
	var in Intake
	if err := strictDecode(body, &in); err != nil {
		return nil, err
	}
	if hasNULEscape(body) {
		return nil, derrors.Invalid("", "a string holds a NUL character (\\u0000), which Backstop cannot store")
	}
	if !in.Source.Valid() {
		return nil, derrors.Invalid("source", "%q is not a source (stripe, eventbrite or other)", in.Source)
	}
	if err := checkSourceRef(kind, in.Source, in.SourceRef); err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(in.Txn)) == 0 || bytes.Equal(bytes.TrimSpace(in.Txn), []byte("null")) {
		return nil, derrors.Invalid("transaction", "required")
	}
	p := &Parsed{Kind: kind, Source: in.Source, SourceRef: in.SourceRef, SourceMeta: sourceMeta(in)}
	var err error
	if kind == Gift {
		err = p.parseGift(in, d)
	} else {
		err = p.parseContact(in, d)
	}
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(append(append([]byte{}, p.Payload...), p.SourceMeta...))
	p.PayloadSHA = sum[:]
	return p, nil
}

func sourceMeta(in Intake) json.RawMessage {
	m := map[string]any{}
	if in.Livemode != nil {
		m["livemode"] = *in.Livemode
	}
	if in.EventID != "" {
		m["event_id"] = in.EventID
	}
	b, _ := json.Marshal(m)
	return b
}

func checkSourceRef(kind Kind, src Source, ref string) error {
	if err := checkID("source_ref", ref); err != nil {
		return err
	}
	switch {
	case src == Stripe && kind == Gift && !stripeGiftRE.MatchString(ref):
		return derrors.Invalid("source_ref", "%q is not a Stripe payment id (pi_, ch_, py_ or in_ followed by letters and digits)", ref)
	case src == Stripe && kind == Contact && !stripeContactRE.MatchString(ref):
		return derrors.Invalid("source_ref", "%q is not a Stripe customer or payment id (cus_, pi_ or ch_ …)", ref)
	case src == Eventbrite && !eventbriteRE.MatchString(ref):
		return derrors.Invalid("source_ref", "%q is not an Eventbrite order id (digits only)", ref)
	}
	return nil
}

// checkID: ids become URL path segments in Virtuous lookups, where a '/'
// behaves in undocumented ways, so they are kept free of it.
func checkID(field, v string) error {
	switch {
	case strings.TrimSpace(v) == "":
		return derrors.Invalid(field, "required")
	case len(v) > maxIDLen:
		return derrors.Invalid(field, "longer than %d characters", maxIDLen)
	case strings.ContainsAny(v, "/\\\r\n\t") || strings.TrimSpace(v) != v:
		return derrors.Invalid(field, "%q must not contain slashes, line breaks or surrounding spaces", v)
	}
	return nil
}

// hasNULEscape reports whether the JSON b holds a \u0000 escape: PostgreSQL's
// jsonb refuses one, so a body with it would fail as a 500 when stored.
func hasNULEscape(b []byte) bool {
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		i++ // the escaped character; `\\u0000` is a backslash, then text
		if i < len(b) && b[i] == 'u' && bytes.HasPrefix(b[i+1:], []byte("0000")) {
			return true
		}
	}
	return false
}

// strictDecode refuses unknown fields and trailing data.
func strictDecode(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return derrors.Invalid("", "unexpected data after the JSON object")
	}
	return nil
}

// jsonError turns a decoding error into a FieldError that names the field.
func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		return derrors.Invalid(te.Field, "must be a JSON %s, not %s", te.Type.Kind(), te.Value)
	case errors.As(err, &se):
		return derrors.Invalid("", "malformed JSON at byte %d: %v", se.Offset, se)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return derrors.Invalid(strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`), "unknown field")
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return derrors.Invalid("", "the body is empty or truncated JSON")
	}
	return derrors.Invalid("", "%v", err)
}

func checkEmail(field, v string) error {
	if v == "" {
		return nil
	}
	a, err := mail.ParseAddress(v)
	if err != nil || a.Address != v {
		return derrors.Invalid(field, "%q is not an email address", v)
	}
	return nil
}

func parseDate(field, v string) (*time.Time, error) {
	if v == "" {
		return nil, derrors.Invalid(field, "required (YYYY-MM-DD)")
	}
	if !dateRE.MatchString(v) {
		return nil, derrors.Invalid(field, "%q is not a date (YYYY-MM-DD)", v)
	}
	t, err := time.Parse("2006-01-02", v[:10])
	if err != nil {
		return nil, derrors.Invalid(field, "%q is not a date: %v", v, err)
	}
	if rest := v[10:]; rest != "" {
		if _, err := time.Parse("2006-01-02T15:04:05", v[:min(len(v), 19)]); err != nil || len(v) < 19 {
			return nil, derrors.Invalid(field, "%q is not a date (YYYY-MM-DD)", v)
		}
	}
	return &t, nil
}

func amountMinor(field string, d money.Decimal, currency string) (int64, error) {
	if d == "" {
		return 0, derrors.Invalid(field, "required")
	}
	n, err := d.Minor(currency)
	if err != nil {
		return 0, derrors.Invalid(field, "%v", err)
	}
	if n <= 0 {
		return 0, derrors.Invalid(field, "must be positive")
	}
	return n, nil
}

func fullName(first, last, name string) string {
	if n := strings.TrimSpace(strings.TrimSpace(first) + " " + strings.TrimSpace(last)); n != "" {
		return n
	}
	return strings.TrimSpace(name)
}

func canonical(v any) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode transaction: %w", err)
	}
	return b, nil
}
