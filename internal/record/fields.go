package record

import (
	"encoding/json"
	"sort"
	"strings"
	"unicode"

	"backstop/internal/money"
)

// Field is one field of the declared drift mapping: what the drift pass
// compares between the platform's record and Virtuous.
type Field string

const (
	FieldAmount       Field = "amount"
	FieldCurrency     Field = "currency"
	FieldGiftDate     Field = "gift_date"
	FieldGiftType     Field = "gift_type"
	FieldDesignations Field = "designations"
	FieldFirstName    Field = "first_name"
	FieldLastName     Field = "last_name"
	FieldEmail        Field = "email"
	FieldPhone        Field = "phone"
	FieldAddress      Field = "address"
)

// Fields is the mapping, in display order.
var Fields = []Field{FieldAmount, FieldCurrency, FieldGiftDate, FieldGiftType, FieldDesignations,
	FieldFirstName, FieldLastName, FieldEmail, FieldPhone, FieldAddress}

// GiftFields are the fields a Gift itself carries; the donor fields of a
// gift come from its Virtuous contact.
var GiftFields = []Field{FieldAmount, FieldCurrency, FieldGiftDate, FieldGiftType, FieldDesignations}

// DonorFields are the fields of a person.
var DonorFields = []Field{FieldFirstName, FieldLastName, FieldEmail, FieldPhone, FieldAddress}

// Values are one side's field values in canonical form, so that equal data
// compares equal whatever its spelling: amounts as fixed decimals, emails in
// lower case, phones as digits, addresses trimmed and case-folded.
type Values map[Field]string

// Diff is one field whose sides disagree.
type Diff struct {
	Field    Field  `json:"field"`
	Platform string `json:"platform"`
	Virtuous string `json:"virtuous"`
}

// Compare lists the fields where platform and virtuous disagree. A field the
// platform does not carry is not compared: the platform cannot drift on what
// it never sent.
func Compare(platform, virtuous Values) []Diff {
	var out []Diff
	for _, f := range Fields {
		p, ok := platform[f]
		if !ok || p == "" {
			continue
		}
		v, ok := virtuous[f]
		if !ok {
			continue // the other side's value is not known (e.g. no contact seen yet)
		}
		if !equal(f, p, v) {
			out = append(out, Diff{Field: f, Platform: p, Virtuous: v})
		}
	}
	return out
}

// equal compares one field: names, addresses and gift types ignore case
// (people retype them), the rest must match exactly.
func equal(f Field, a, b string) bool {
	switch f {
	case FieldFirstName, FieldLastName, FieldAddress, FieldGiftType:
		return strings.EqualFold(a, b)
	}
	return a == b
}

// Canonical forms keep the original case, so a resolved value can be written
// back to the other side as people wrote it.

// CanonAmount writes minor units as the currency's fixed decimal.
func CanonAmount(minor int64, currency string) string { return money.Format(minor, currency) }

// CanonEmail lower-cases and trims.
func CanonEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// CanonPhone keeps digits (and a leading +).
func CanonPhone(s string) string {
	var b strings.Builder
	for i, r := range strings.TrimSpace(s) {
		if unicode.IsDigit(r) || (i == 0 && r == '+') {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// CanonText trims and collapses inner whitespace.
func CanonText(s string) string { return strings.Join(strings.Fields(s), " ") }

// CanonAddress joins the six parts with " | " (empty when all are empty), so
// "12 Main St" and "12  main st" agree (see equal) and the parts can be read
// back with ParseAddress.
func CanonAddress(a Address) string {
	parts := []string{a.Address1, a.Address2, a.City, a.State, a.Postal, a.Country}
	empty := true
	for i, p := range parts {
		parts[i] = CanonText(p)
		empty = empty && parts[i] == ""
	}
	if empty {
		return ""
	}
	return strings.Join(parts, " | ")
}

// ParseAddress reads CanonAddress's form back.
func ParseAddress(s string) Address {
	p := strings.Split(s, " | ")
	for len(p) < 6 {
		p = append(p, "")
	}
	return Address{Address1: p[0], Address2: p[1], City: p[2], State: p[3], Postal: p[4], Country: p[5]}
}

// DesignationPart is one designation in canonical form.
type DesignationPart struct {
	Key    string // project code, else name, else id
	Amount string
}

// CanonDesignations writes designations sorted by key: "FOOD=10.00; RENT=5.00".
func CanonDesignations(ds []DesignationPart) string {
	parts := make([]string, 0, len(ds))
	for _, d := range ds {
		parts = append(parts, CanonText(d.Key)+"="+d.Amount)
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}

// ParseDesignations reads CanonDesignations's form back.
func ParseDesignations(s string) []DesignationPart {
	if s == "" {
		return nil
	}
	var out []DesignationPart
	for _, p := range strings.Split(s, "; ") {
		k, a, _ := strings.Cut(p, "=")
		out = append(out, DesignationPart{Key: k, Amount: a})
	}
	return out
}

// PlatformValues reads the platform side of a record from its stored body.
func PlatformValues(kind Kind, payload []byte) (Values, error) {
	if kind == Contact {
		c, err := DecodeContact(payload)
		if err != nil {
			return nil, err
		}
		return contactValues(c.FirstName, c.LastName, c.Email, c.Phone,
			Address{c.Address1, c.Address2, c.City, c.State, c.Postal, c.Country}), nil
	}
	g, err := DecodeGift(payload)
	if err != nil {
		return nil, err
	}
	minor, err := g.Amount.Minor(g.CurrencyCode)
	if err != nil {
		return nil, err
	}
	v := Values{
		FieldAmount:   CanonAmount(minor, g.CurrencyCode),
		FieldCurrency: strings.ToUpper(g.CurrencyCode),
		FieldGiftDate: g.GiftDate,
		FieldGiftType: CanonText(g.GiftType),
	}
	if len(g.Designations) > 0 {
		parts := make([]DesignationPart, 0, len(g.Designations))
		for _, d := range g.Designations {
			key := d.Code
			if key == "" {
				key = d.Name
			}
			if key == "" {
				key = strings.Trim(string(d.ID), `"`)
			}
			n, _ := d.AmountDesignated.Minor(g.CurrencyCode)
			parts = append(parts, DesignationPart{Key: key, Amount: CanonAmount(n, g.CurrencyCode)})
		}
		v[FieldDesignations] = CanonDesignations(parts)
	}
	if c := g.Contact; c != nil {
		var addr Address
		if c.Address != nil {
			addr = *c.Address
		}
		for f, x := range contactValues(c.FirstName, c.LastName, c.Email, c.Phone, addr) {
			v[f] = x
		}
	}
	return v, nil
}

func contactValues(first, last, email, phone string, a Address) Values {
	return Values{
		FieldFirstName: CanonText(first),
		FieldLastName:  CanonText(last),
		FieldEmail:     CanonEmail(email),
		FieldPhone:     CanonPhone(phone),
		FieldAddress:   CanonAddress(a),
	}
}

// MarshalValues is the stored form (records.virtuous_data).
func MarshalValues(v Values) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

// UnmarshalValues reads the stored form; empty means nothing known.
func UnmarshalValues(b []byte) Values {
	v := Values{}
	if len(b) > 0 {
		json.Unmarshal(b, &v)
	}
	return v
}

// ApplyValues writes field values into a stored body (gift or contact) and
// returns the new canonical body: how a value Virtuous won is taken into
// Backstop's copy of the platform's record.
func ApplyValues(kind Kind, payload []byte, vals Values) (json.RawMessage, error) {
	if kind == Contact {
		c, err := DecodeContact(payload)
		if err != nil {
			return nil, err
		}
		for f, v := range vals {
			switch f {
			case FieldFirstName:
				c.FirstName = v
			case FieldLastName:
				c.LastName = v
			case FieldEmail:
				c.Email = v
			case FieldPhone:
				c.Phone = v
			case FieldAddress:
				a := ParseAddress(v)
				c.Address1, c.Address2, c.City, c.State, c.Postal, c.Country = a.Address1, a.Address2, a.City, a.State, a.Postal, a.Country
			}
		}
		return json.Marshal(c)
	}
	g, err := DecodeGift(payload)
	if err != nil {
		return nil, err
	}
	if g.Contact == nil {
		g.Contact = &TxnContact{}
	}
	for f, v := range vals {
		switch f {
		case FieldAmount:
			g.Amount = money.Decimal(v)
		case FieldCurrency:
			g.CurrencyCode = v
		case FieldGiftDate:
			g.GiftDate = v
		case FieldGiftType:
			g.GiftType = v
		case FieldDesignations:
			g.Designations = nil
			for _, d := range ParseDesignations(v) {
				g.Designations = append(g.Designations, Designation{Code: d.Key, AmountDesignated: money.Decimal(d.Amount)})
			}
		case FieldFirstName:
			g.Contact.FirstName = v
		case FieldLastName:
			g.Contact.LastName = v
		case FieldEmail:
			g.Contact.Email = v
		case FieldPhone:
			g.Contact.Phone = v
		case FieldAddress:
			a := ParseAddress(v)
			g.Contact.Address = &a
		}
	}
	return json.Marshal(g)
}
