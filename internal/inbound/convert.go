package inbound

import (
	"encoding/json"
	"strconv"
	"strings"

	"backstop/internal/record"
	"backstop/internal/virtuous"
)

// FromGift reduces a Virtuous gift to an Object: its transaction key, its
// fields of the drift mapping in canonical form, and its version.
func FromGift(g *virtuous.Gift) Object {
	o := Object{Kind: record.Gift, VirtuousID: g.ID, ModifiedAt: g.ModifiedDateTimeUTC.Time.UTC()}
	if g.TransactionSource != "" && g.TransactionID != "" {
		o.Keys = []Key{{g.TransactionSource, g.TransactionID}}
	}
	if g.ContactID != 0 {
		cid := g.ContactID
		o.ContactID = &cid
	}
	cur := strings.ToUpper(g.CurrencyCode)
	o.Values = record.Values{FieldCurrency: cur, FieldGiftType: record.CanonText(g.GiftType)}
	if n, err := g.Amount.Minor(cur); err == nil {
		o.Values[FieldAmount] = record.CanonAmount(n, cur)
	}
	if !g.GiftDate.IsZero() {
		o.Values[FieldGiftDate] = g.GiftDate.Time.Format("2006-01-02")
	}
	if len(g.GiftDesignations) > 0 {
		parts := make([]record.DesignationPart, 0, len(g.GiftDesignations))
		for _, d := range g.GiftDesignations {
			key := d.ProjectCode
			if key == "" {
				key = d.Project
			}
			if key == "" {
				key = strconv.FormatInt(d.ProjectID, 10)
			}
			n, _ := d.AmountDesignated.Minor(cur)
			parts = append(parts, record.DesignationPart{Key: key, Amount: record.CanonAmount(n, cur)})
		}
		o.Values[FieldDesignations] = record.CanonDesignations(parts)
	}
	scrub(&o)
	o.Data = feedData(o, map[string]any{"transaction_source": g.TransactionSource, "transaction_id": g.TransactionID,
		"contact_id": g.ContactID, "contact_name": g.ContactName, "notes": g.Notes})
	return o
}

// FromContact reduces a Virtuous contact to an Object; its keys are its
// contactReferences.
func FromContact(c *virtuous.Contact) Object {
	o := Object{Kind: record.Contact, VirtuousID: c.ID, ModifiedAt: c.ModifiedDateTimeUTC.Time.UTC(), MergedInto: c.MergedIntoContactID}
	for _, r := range c.ContactReferences {
		if r.Source != "" && r.ID != "" {
			o.Keys = append(o.Keys, Key{r.Source, r.ID})
		}
	}
	var first, last string
	if p := c.PrimaryIndividual(); p != nil {
		first, last = p.FirstName, p.LastName
	}
	var addr record.Address
	if a := c.Address; a != nil {
		addr = record.Address{Address1: a.Address1, Address2: a.Address2, City: a.City, State: a.State, Postal: a.Postal, Country: a.Country}
	}
	o.Values = record.Values{
		FieldFirstName: record.CanonText(first),
		FieldLastName:  record.CanonText(last),
		FieldEmail:     record.CanonEmail(c.PrimaryEmail()),
		FieldPhone:     record.CanonPhone(c.PrimaryPhone()),
		FieldAddress:   record.CanonAddress(addr),
	}
	refs := make([]map[string]string, len(o.Keys))
	for i, k := range o.Keys {
		refs[i] = map[string]string{"source": k.Source, "id": k.ID}
	}
	scrub(&o)
	o.Data = feedData(o, map[string]any{"name": c.Name, "contact_type": c.ContactType, "references": refs,
		"merged_into_contact_id": c.MergedIntoContactID})
	return o
}

// feedData is what the changes feed tells the platform about an object: its
// fields of the drift mapping, which are what the platform can apply, and
// the identifiers it joins on — not every property of the Virtuous object,
// which would make a Query page of 1,000 gifts write megabytes to the feed.
func feedData(o Object, ids map[string]any) json.RawMessage {
	for k, v := range ids {
		if s, ok := v.(string); ok {
			ids[k] = noNUL(s)
		}
	}
	ids["values"] = o.Values
	ids["modified_at"] = o.ModifiedAt
	b, _ := json.Marshal(ids)
	return b
}

// Short names for the fields, for readability above.
const (
	FieldAmount       = record.FieldAmount
	FieldCurrency     = record.FieldCurrency
	FieldGiftDate     = record.FieldGiftDate
	FieldGiftType     = record.FieldGiftType
	FieldDesignations = record.FieldDesignations
	FieldFirstName    = record.FieldFirstName
	FieldLastName     = record.FieldLastName
	FieldEmail        = record.FieldEmail
	FieldPhone        = record.FieldPhone
	FieldAddress      = record.FieldAddress
)

// scrub replaces NUL characters in what o will write to PostgreSQL, whose
// text and jsonb cannot hold them: JSON allows "\u0000" in any string
// Virtuous sends, and one such gift must neither fail a Query page nor
// block the webhook queue.
func scrub(o *Object) {
	for i, k := range o.Keys {
		o.Keys[i] = Key{noNUL(k.Source), noNUL(k.ID)}
	}
	for f, v := range o.Values {
		o.Values[f] = noNUL(v)
	}
}

func noNUL(s string) string {
	if strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(s, "\x00", "\uFFFD")
}
