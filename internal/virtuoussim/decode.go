package virtuoussim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"backstop/internal/money"
)

// The spec types every transaction field as a string placeholder ("<integer>",
// "<boolean>") while clients send real numbers and booleans, so the simulator
// accepts either for scalars, as a lenient ASP.NET model binder would.
// encoding/json matches field names case-insensitively, which is also how the
// spec's "firstname" and the n8n node's "firstName" both bind.

// flexString accepts a JSON string, number or boolean.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*f = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
	case len(b) > 0 && (b[0] == '{' || b[0] == '['):
		return fmt.Errorf("expected a string, got %s", b[:1])
	default:
		*f = flexString(b)
	}
	return nil
}

// flexInt accepts a JSON integer, a string holding one, or "" / null (zero).
type flexInt int64

func (f *flexInt) UnmarshalJSON(b []byte) error {
	var s flexString
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	t := strings.TrimSpace(string(s))
	if t == "" {
		*f = 0
		return nil
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil {
		return fmt.Errorf("%q is not an integer", t)
	}
	*f = flexInt(n)
	return nil
}

// MarshalJSON writes the integer as a JSON number.
func (f flexInt) MarshalJSON() ([]byte, error) { return strconv.AppendInt(nil, int64(f), 10), nil }

// flexBool accepts true/false, "true"/"false" (any case), 1/0, or nothing.
type flexBool struct {
	set, v bool
}

func (f *flexBool) UnmarshalJSON(b []byte) error {
	var s flexString
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	switch strings.ToLower(strings.TrimSpace(string(s))) {
	case "":
		*f = flexBool{}
	case "true", "1", "yes":
		*f = flexBool{set: true, v: true}
	case "false", "0", "no":
		*f = flexBool{set: true, v: false}
	default:
		return fmt.Errorf("%q is not a boolean", s)
	}
	return nil
}

func (f flexBool) or(def bool) bool {
	if f.set {
		return f.v
	}
	return def
}

// txContact is the nested contact of a gift transaction.
type txContact struct {
	ReferenceID flexString `json:"referenceId"`
	ID          flexInt    `json:"id"`
	Name        flexString `json:"name"`
	Type        flexString `json:"type"`
	Title       flexString `json:"title"`
	FirstName   flexString `json:"firstname"`
	MiddleName  flexString `json:"middlename"`
	LastName    flexString `json:"lastname"`
	EmailType   flexString `json:"emailType"`
	Email       flexString `json:"email"`
	PhoneType   flexString `json:"phoneType"`
	Phone       flexString `json:"phone"`
	Address     *struct {
		Address1 flexString `json:"address1"`
		Address2 flexString `json:"address2"`
		City     flexString `json:"city"`
		State    flexString `json:"state"`
		Postal   flexString `json:"postal"`
		Country  flexString `json:"country"`
	} `json:"address"`
}

// giftTxBody is the body of POST /api/v2/Gift/Transaction. Fields the
// simulator does not model (tributes, premiums, pledges, events …) are
// accepted and ignored, as Virtuous keeps them for the Import Tool.
type giftTxBody struct {
	TransactionSource flexString         `json:"transactionSource"`
	TransactionID     flexString         `json:"transactionId"`
	Contact           *txContact         `json:"contact"`
	GiftDate          flexString         `json:"giftDate"`
	GiftType          flexString         `json:"giftType"`
	Amount            money.Decimal      `json:"amount"`
	CurrencyCode      flexString         `json:"currencyCode"`
	Batch             flexString         `json:"batch"`
	Notes             flexString         `json:"notes"`
	Segment           flexString         `json:"segment"`
	ReceiptDate       flexString         `json:"receiptDate"`
	IsPrivate         flexBool           `json:"isPrivate"`
	IsTaxDeductible   flexBool           `json:"isTaxDeductible"`
	Designations      []DesignationInput `json:"designations"`
	CustomFields      json.RawMessage    `json:"customFields"`
}

// contactTxBody is the flat body of POST /api/Contact/Transaction.
type contactTxBody struct {
	ReferenceSource flexString      `json:"referenceSource"`
	ReferenceID     flexString      `json:"referenceId"`
	ContactType     flexString      `json:"contactType"`
	Name            flexString      `json:"name"`
	Title           flexString      `json:"title"`
	FirstName       flexString      `json:"firstName"`
	MiddleName      flexString      `json:"middleName"`
	LastName        flexString      `json:"lastName"`
	EmailType       flexString      `json:"emailType"`
	Email           flexString      `json:"email"`
	PhoneType       flexString      `json:"phoneType"`
	Phone           flexString      `json:"phone"`
	Address1        flexString      `json:"address1"`
	Address2        flexString      `json:"address2"`
	City            flexString      `json:"city"`
	State           flexString      `json:"state"`
	Postal          flexString      `json:"postal"`
	Country         flexString      `json:"country"`
	CustomFields    json.RawMessage `json:"customFields"`
}

// parseCustomFields accepts the documented object map ({"k":"v"}) and, to be
// lenient, the array shape the API itself returns ([{name,value}]).
func parseCustomFields(raw json.RawMessage) ([]customField, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	if raw[0] == '[' {
		var arr []struct {
			Name  flexString `json:"name"`
			Value flexString `json:"value"`
		}
		if err := json.Unmarshal(raw, &arr); err != nil {
			return nil, err
		}
		out := make([]customField, 0, len(arr))
		for _, a := range arr {
			out = append(out, customField{string(a.Name), string(a.Value)})
		}
		return out, nil
	}
	// Keep the client's key order: decode token by token.
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	var out []customField
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		k, _ := t.(string)
		var v flexString
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("customFields[%q]: %w", k, err)
		}
		out = append(out, customField{k, string(v)})
	}
	return out, nil
}

// parseDate reads the date formats clients send and the query docs show:
// 2024-06-01, 6/1/2024, 06/01/2024, and full timestamps (whose date part is
// taken in their own zone). It returns UTC midnight of that date.
func parseDate(s string) (time.Time, bool) {
	t, _, ok := parseDateTime(s)
	if !ok {
		return time.Time{}, false
	}
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC), true
}

var dateTimeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.9999999",
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05",
	"1/2/2006 3:04:05 PM",
	"1/2/2006 15:04:05",
	"1/2/2006 15:04",
}

var dateLayouts = []string{"2006-01-02", "1/2/2006", "01/02/2006"}

// parseDateTime reads a date or a timestamp. Timestamps without a zone are
// UTC, as Virtuous's *DateTimeUtc fields are. hasTime reports whether s had a
// time of day.
func parseDateTime(s string) (t time.Time, hasTime, ok bool) {
	s = strings.TrimSpace(s)
	for _, l := range dateLayouts {
		if t, err := time.ParseInLocation(l, s, time.UTC); err == nil {
			return t, false, true
		}
	}
	for _, l := range dateTimeLayouts {
		if t, err := time.ParseInLocation(l, s, time.UTC); err == nil {
			return t, true, true
		}
	}
	return time.Time{}, false, false
}
