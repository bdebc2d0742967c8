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
		if p != v {
			out = append(out, Diff{Field: f, Platform: p, Virtuous: v})
		}
	}
	return out
}

// Canonical forms.

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

// CanonAddress joins the parts that are present, case-folded, so "12 Main St"
// and "12  main st" agree.
func CanonAddress(a Address) string {
	parts := []string{a.Address1, a.Address2, a.City, a.State, a.Postal, a.Country}
	empty := true
	for i, p := range parts {
		parts[i] = strings.ToLower(CanonText(p))
		empty = empty && parts[i] == ""
	}
	if empty {
		return ""
	}
	return strings.Join(parts, " | ")
}

// DesignationPart is one designation in canonical form.
type DesignationPart struct {
	Key    string // project code, else name, else id
	Amount string
}

// CanonDesignations writes designations sorted by key: "CODE=10.00; OTHER=5.00".
func CanonDesignations(ds []DesignationPart) string {
	parts := make([]string, 0, len(ds))
	for _, d := range ds {
		parts = append(parts, strings.ToLower(CanonText(d.Key))+"="+d.Amount)
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
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
