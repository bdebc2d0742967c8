package virtuous

import (
	"encoding/json"
	"strings"

	"backstop/internal/money"
)

// Gift is a Virtuous gift as GET /api/Gift/…, the FullGift query and gift
// webhooks return it (virtuous-api.md §3). Only the fields Backstop reads are
// kept; unknown fields are ignored, and JSON nulls decode to zero values.
type Gift struct {
	ID                   int64         `json:"id"`
	TransactionSource    string        `json:"transactionSource"`
	TransactionID        string        `json:"transactionId"`
	ContactID            int64         `json:"contactId"`
	ContactName          string        `json:"contactName"`
	ContactURL           string        `json:"contactUrl,omitempty"`
	ContactIndividualID  *int64        `json:"contactIndividualId"`
	ContactPassthroughID *int64        `json:"contactPassthroughId"`
	GiftType             string        `json:"giftType"`
	GiftTypeFormatted    string        `json:"giftTypeFormatted,omitempty"`
	GiftDate             Time          `json:"giftDate"` // midnight, no zone
	GiftDateFormatted    string        `json:"giftDateFormatted,omitempty"`
	Amount               money.Decimal `json:"amount"`
	CurrencyCode         string        `json:"currencyCode"`
	ExchangeRate         money.Decimal `json:"exchangeRate"`
	BaseCurrencyCode     string        `json:"baseCurrencyCode,omitempty"`
	Batch                string        `json:"batch"`
	Notes                string        `json:"notes"`
	SegmentID            *int64        `json:"segmentId"`
	Segment              string        `json:"segment"`
	SegmentCode          string        `json:"segmentCode"`
	MediaOutlet          string        `json:"mediaOutlet,omitempty"`
	ReceiptDate          Time          `json:"receiptDate"`
	CashAccountingCode   string        `json:"cashAccountingCode,omitempty"`
	CreateDateTimeUTC    Time          `json:"createDateTimeUtc"`
	CreatedByUser        string        `json:"createdByUser"`
	ModifiedDateTimeUTC  Time          `json:"modifiedDateTimeUtc"`
	ModifiedByUser       string        `json:"modifiedByUser"`
	GiftDesignations     []Designation `json:"giftDesignations"`
	CustomFields         CustomFields  `json:"customFields"`
	GiftURL              string        `json:"giftUrl"`
	IsPrivate            bool          `json:"isPrivate"`
	IsTaxDeductible      bool          `json:"isTaxDeductible"`
}

// Designation is one project a gift's amount is split to.
type Designation struct {
	ID                     int64         `json:"id"`
	ProjectID              int64         `json:"projectId"`
	Project                string        `json:"project"`
	ProjectCode            string        `json:"projectCode"`
	ExternalAccountingCode string        `json:"externalAccountingCode,omitempty"`
	ProjectType            string        `json:"projectType,omitempty"`
	ProjectLocation        string        `json:"projectLocation,omitempty"`
	ProjectURL             string        `json:"projectUrl,omitempty"`
	AmountDesignated       money.Decimal `json:"amountDesignated"`
	Display                string        `json:"display"`
}

// Contact is a Virtuous contact (a household, organization or foundation)
// as GET /api/Contact/…, the FullContact query and contact webhooks return it.
type Contact struct {
	ID                  int64        `json:"id"`
	ContactType         string       `json:"contactType"`
	Name                string       `json:"name"`
	IsPrivate           bool         `json:"isPrivate"`
	MergedIntoContactID *int64       `json:"mergedIntoContactId"` // non-nil: repoint stored ids here
	Address             *Address     `json:"address"`
	ContactIndividuals  []Individual `json:"contactIndividuals"`
	ContactReferences   []Reference  `json:"contactReferences"`
	ContactGiftsURL     string       `json:"contactGiftsUrl,omitempty"`
	OriginSegmentID     *int64       `json:"originSegmentId"`
	CreateDateTimeUTC   Time         `json:"createDateTimeUtc"`
	ModifiedDateTimeUTC Time         `json:"modifiedDateTimeUtc"`
	Tags                Tags         `json:"tags"`
	CustomFields        CustomFields `json:"customFields"`
}

// Address is a contact's (primary) postal address.
type Address struct {
	ID                  int64  `json:"id"`
	Address1            string `json:"address1"`
	Address2            string `json:"address2"`
	City                string `json:"city"`
	State               string `json:"state"`
	Postal              string `json:"postal"`
	Country             string `json:"country"`
	IsPrimary           bool   `json:"isPrimary"`
	CreateDateTimeUTC   Time   `json:"createDateTimeUtc"`
	ModifiedDateTimeUTC Time   `json:"modifiedDateTimeUtc"`
}

// Individual is a person within a contact.
type Individual struct {
	ID             int64           `json:"id"`
	ContactID      int64           `json:"contactId"`
	Prefix         string          `json:"prefix,omitempty"`
	FirstName      string          `json:"firstName"`
	MiddleName     string          `json:"middleName,omitempty"`
	LastName       string          `json:"lastName"`
	Suffix         string          `json:"suffix,omitempty"`
	IsPrimary      bool            `json:"isPrimary"`
	ContactMethods []ContactMethod `json:"contactMethods"`
}

// ContactMethod is an email address, phone number or similar; Type names it
// ("Work Email", "Mobile Phone").
type ContactMethod struct {
	ID        int64  `json:"id"`
	Type      string `json:"type"`
	Value     string `json:"value"`
	IsOptedIn bool   `json:"isOptedIn"`
	IsPrimary bool   `json:"isPrimary"`
}

// Reference is an external id a contact is known by (referenceSource /
// referenceId of a Contact Transaction).
type Reference struct {
	Source string `json:"source"`
	ID     string `json:"id"`
}

// UnmarshalJSON accepts the id as a string or a number; the sources only
// say the shape is {source, id}.
func (r *Reference) UnmarshalJSON(b []byte) error {
	var aux struct {
		Source looseString `json:"source"`
		ID     looseString `json:"id"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*r = Reference{Source: string(aux.Source), ID: string(aux.ID)}
	return nil
}

// PrimaryIndividual is the individual marked primary, else the first, else nil.
func (c *Contact) PrimaryIndividual() *Individual {
	for i := range c.ContactIndividuals {
		if c.ContactIndividuals[i].IsPrimary {
			return &c.ContactIndividuals[i]
		}
	}
	if len(c.ContactIndividuals) > 0 {
		return &c.ContactIndividuals[0]
	}
	return nil
}

// PrimaryEmail is the contact's best email address: see primaryMethod.
func (c *Contact) PrimaryEmail() string { return c.primaryMethod("email") }

// PrimaryPhone is the contact's best phone number: see primaryMethod.
func (c *Contact) PrimaryPhone() string { return c.primaryMethod("phone") }

// primaryMethod picks the value of a contact method whose type contains kind
// (case-insensitively): the primary individual's before anyone else's, and
// within one individual the method marked primary before the first one.
func (c *Contact) primaryMethod(kind string) string {
	if p := c.PrimaryIndividual(); p != nil {
		if v := p.method(kind); v != "" {
			return v
		}
	}
	for i := range c.ContactIndividuals {
		if v := c.ContactIndividuals[i].method(kind); v != "" {
			return v
		}
	}
	return ""
}

func (p *Individual) method(kind string) string {
	var first string
	for _, m := range p.ContactMethods {
		if m.Value == "" || !strings.Contains(strings.ToLower(m.Type), kind) {
			continue
		}
		if m.IsPrimary {
			return m.Value
		}
		if first == "" {
			first = m.Value
		}
	}
	return first
}

// Page is one page of a Query response.
type Page[T any] struct {
	List  []T `json:"list"`
	Total int `json:"total"`
}
