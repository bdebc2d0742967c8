package record

import (
	"encoding/json"
	"strings"
	"time"

	"backstop/internal/derrors"
	"backstop/internal/money"
)

// GiftTransaction is the body of POST /api/v2/Gift/Transaction, field for
// field as virtuous-api.md §2.1 documents it. Fields Backstop interprets are
// typed; the rest pass through as JSON. Decoding is case-insensitive (Go's
// encoding/json), so firstName and firstname both land in FirstName; encoding
// writes the spec's spelling.
type GiftTransaction struct {
	TransactionSource              string          `json:"transactionSource"`
	TransactionID                  string          `json:"transactionId"`
	Contact                        *TxnContact     `json:"contact,omitempty"`
	GiftDate                       string          `json:"giftDate"`
	CancelDate                     json.RawMessage `json:"cancelDate,omitempty"`
	GiftType                       string          `json:"giftType,omitempty"`
	Amount                         money.Decimal   `json:"amount"`
	CurrencyCode                   string          `json:"currencyCode"`
	ExchangeRate                   json.RawMessage `json:"exchangeRate,omitempty"`
	Frequency                      json.RawMessage `json:"frequency,omitempty"`
	RecurringGiftTransactionID     json.RawMessage `json:"recurringGiftTransactionId,omitempty"`
	RecurringGiftTransactionUpdate json.RawMessage `json:"recurringGiftTransactionUpdate,omitempty"`
	PledgeFrequency                json.RawMessage `json:"pledgeFrequency,omitempty"`
	PledgeTransactionID            json.RawMessage `json:"pledgeTransactionId,omitempty"`
	PledgeExpectedFullfillmentDate json.RawMessage `json:"pledgeExpectedFullfillmentDate,omitempty"`
	Batch                          json.RawMessage `json:"batch,omitempty"`
	Notes                          json.RawMessage `json:"notes,omitempty"`
	Segment                        json.RawMessage `json:"segment,omitempty"`
	MediaOutlet                    json.RawMessage `json:"mediaOutlet,omitempty"`
	ReceiptDate                    json.RawMessage `json:"receiptDate,omitempty"`
	ReceiptSegment                 json.RawMessage `json:"receiptSegment,omitempty"`
	CashAccountingCode             json.RawMessage `json:"cashAccountingCode,omitempty"`
	Tribute                        json.RawMessage `json:"tribute,omitempty"`
	TributeDedication              json.RawMessage `json:"tributeDedication,omitempty"`
	IsPrivate                      json.RawMessage `json:"isPrivate,omitempty"`
	IsTaxDeductible                json.RawMessage `json:"isTaxDeductible,omitempty"`
	CheckNumber                    json.RawMessage `json:"checkNumber,omitempty"`
	CreditCardType                 json.RawMessage `json:"creditCardType,omitempty"`
	NonCashGiftTypeID              json.RawMessage `json:"nonCashGiftTypeId,omitempty"`
	NonCashGiftType                json.RawMessage `json:"nonCashGiftType,omitempty"`
	NonCashGiftDescription         json.RawMessage `json:"nonCashGiftDescription,omitempty"`
	StockTickerSymbol              json.RawMessage `json:"stockTickerSymbol,omitempty"`
	StockNumberOfShares            json.RawMessage `json:"stockNumberOfShares,omitempty"`
	IraCustodian                   json.RawMessage `json:"iraCustodian,omitempty"`
	SubmissionURL                  json.RawMessage `json:"submissionUrl,omitempty"`
	Designations                   []Designation   `json:"designations,omitempty"`
	Premiums                       json.RawMessage `json:"premiums,omitempty"`
	CustomFields                   json.RawMessage `json:"customFields,omitempty"`
	CustomObjects                  json.RawMessage `json:"customObjects,omitempty"`
	ContactIndividualID            json.RawMessage `json:"contactIndividualId,omitempty"`
	PassthroughContact             json.RawMessage `json:"passthroughContact,omitempty"`
	EventAttendee                  json.RawMessage `json:"eventAttendee,omitempty"`
}

// TxnContact is the contact block of a gift Transaction.
type TxnContact struct {
	ReferenceID string          `json:"referenceId,omitempty"`
	ID          json.RawMessage `json:"id,omitempty"`
	Name        string          `json:"name,omitempty"`
	Type        string          `json:"type,omitempty"`
	Title       string          `json:"title,omitempty"`
	FirstName   string          `json:"firstname,omitempty"`
	MiddleName  string          `json:"middlename,omitempty"`
	LastName    string          `json:"lastname,omitempty"`
	Suffix      string          `json:"suffix,omitempty"`
	BirthMonth  json.RawMessage `json:"birthMonth,omitempty"`
	BirthDay    json.RawMessage `json:"birthDay,omitempty"`
	BirthYear   json.RawMessage `json:"birthYear,omitempty"`
	Gender      string          `json:"gender,omitempty"`
	EmailType   string          `json:"emailType,omitempty"`
	Email       string          `json:"email,omitempty"`
	PhoneType   string          `json:"phoneType,omitempty"`
	Phone       string          `json:"phone,omitempty"`
	Address     *Address        `json:"address,omitempty"`
	Tags        json.RawMessage `json:"tags,omitempty"`
	EmailLists  json.RawMessage `json:"emailLists,omitempty"`
}

// Address is a postal address as Transactions carry it.
type Address struct {
	Address1 string `json:"address1,omitempty"`
	Address2 string `json:"address2,omitempty"`
	City     string `json:"city,omitempty"`
	State    string `json:"state,omitempty"`
	Postal   string `json:"postal,omitempty"`
	Country  string `json:"country,omitempty"`
}

// Designation splits a gift across projects.
type Designation struct {
	ID               json.RawMessage `json:"id,omitempty"`
	Name             string          `json:"name,omitempty"`
	Code             string          `json:"code,omitempty"`
	AmountDesignated money.Decimal   `json:"amountDesignated"`
}

// ContactTransaction is the flat body of POST /api/Contact/Transaction (§2.3).
type ContactTransaction struct {
	ReferenceSource      string          `json:"referenceSource"`
	ReferenceID          string          `json:"referenceId"`
	ContactType          string          `json:"contactType,omitempty"`
	Name                 string          `json:"name,omitempty"`
	Title                string          `json:"title,omitempty"`
	FirstName            string          `json:"firstName,omitempty"`
	MiddleName           string          `json:"middleName,omitempty"`
	LastName             string          `json:"lastName,omitempty"`
	Suffix               string          `json:"suffix,omitempty"`
	BirthMonth           json.RawMessage `json:"birthMonth,omitempty"`
	BirthDay             json.RawMessage `json:"birthDay,omitempty"`
	BirthYear            json.RawMessage `json:"birthYear,omitempty"`
	Gender               string          `json:"gender,omitempty"`
	EmailType            string          `json:"emailType,omitempty"`
	Email                string          `json:"email,omitempty"`
	PhoneType            string          `json:"phoneType,omitempty"`
	Phone                string          `json:"phone,omitempty"`
	Address1             string          `json:"address1,omitempty"`
	Address2             string          `json:"address2,omitempty"`
	City                 string          `json:"city,omitempty"`
	State                string          `json:"state,omitempty"`
	Postal               string          `json:"postal,omitempty"`
	Country              string          `json:"country,omitempty"`
	EventID              json.RawMessage `json:"eventId,omitempty"`
	EventName            json.RawMessage `json:"eventName,omitempty"`
	Invited              json.RawMessage `json:"invited,omitempty"`
	Rsvp                 json.RawMessage `json:"rsvp,omitempty"`
	RsvpResponse         json.RawMessage `json:"rsvpResponse,omitempty"`
	Attended             json.RawMessage `json:"attended,omitempty"`
	Tags                 json.RawMessage `json:"tags,omitempty"`
	OriginSegmentCode    json.RawMessage `json:"originSegmentCode,omitempty"`
	EmailLists           json.RawMessage `json:"emailLists,omitempty"`
	CustomFields         json.RawMessage `json:"customFields,omitempty"`
	CustomObjects        json.RawMessage `json:"customObjects,omitempty"`
	VolunteerAttendances json.RawMessage `json:"volunteerAttendances,omitempty"`
}

// DecodeGift reads a stored gift payload (already canonical).
func DecodeGift(payload []byte) (*GiftTransaction, error) {
	var g GiftTransaction
	if err := json.Unmarshal(payload, &g); err != nil {
		return nil, err
	}
	return &g, nil
}

// DecodeContact reads a stored contact payload.
func DecodeContact(payload []byte) (*ContactTransaction, error) {
	var c ContactTransaction
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

func (p *Parsed) parseGift(in Intake, d Defaults) error {
	var g GiftTransaction
	if err := strictDecode(in.Txn, &g); err != nil {
		return prefixField("transaction", err)
	}
	if g.TransactionSource == "" {
		g.TransactionSource = d.TransactionSource(in.Source)
	}
	if g.TransactionID == "" {
		g.TransactionID = in.SourceRef
	}
	if err := checkID("transaction.transactionSource", g.TransactionSource); err != nil {
		return err
	}
	if err := checkID("transaction.transactionId", g.TransactionID); err != nil {
		return err
	}
	g.CurrencyCode = strings.ToUpper(strings.TrimSpace(g.CurrencyCode))
	if g.CurrencyCode == "" {
		return derrors.Invalid("transaction.currencyCode", "required (an ISO 4217 code such as USD)")
	}
	if !money.ValidCurrency(g.CurrencyCode) {
		return derrors.Invalid("transaction.currencyCode", "%q is not an ISO 4217 currency code", g.CurrencyCode)
	}
	amount, err := amountMinor("transaction.amount", g.Amount, g.CurrencyCode)
	if err != nil {
		return err
	}
	g.Amount = money.Decimal(money.Format(amount, g.CurrencyCode))
	date, err := parseDate("transaction.giftDate", g.GiftDate)
	if err != nil {
		return err
	}
	g.GiftDate = date.Format("2006-01-02")
	if err := checkDesignations(g.Designations, amount, g.CurrencyCode); err != nil {
		return err
	}
	if g.Contact == nil {
		return derrors.Invalid("transaction.contact", "required: Virtuous matches the gift to a donor by it")
	}
	c := g.Contact
	if fullName(c.FirstName, c.LastName, c.Name) == "" && c.Email == "" {
		return derrors.Invalid("transaction.contact", "needs a name or an email for Virtuous to match the donor")
	}
	if err := checkEmail("transaction.contact.email", c.Email); err != nil {
		return err
	}
	if p.Payload, err = canonical(g); err != nil {
		return err
	}
	p.ExtSource, p.ExtID = g.TransactionSource, g.TransactionID
	p.DonorName, p.DonorEmail = fullName(c.FirstName, c.LastName, c.Name), c.Email
	p.Amount, p.Currency, p.GiftDate = &amount, &g.CurrencyCode, date
	return nil
}

func checkDesignations(ds []Designation, amount int64, currency string) error {
	if len(ds) == 0 {
		return nil
	}
	var sum int64
	for i := range ds {
		field := "transaction.designations[" + itoa(i) + "]"
		if ds[i].Name == "" && ds[i].Code == "" && len(ds[i].ID) == 0 {
			return derrors.Invalid(field, "needs an id, name or code")
		}
		n, err := amountMinor(field+".amountDesignated", ds[i].AmountDesignated, currency)
		if err != nil {
			return err
		}
		ds[i].AmountDesignated = money.Decimal(money.Format(n, currency))
		sum += n
	}
	if sum != amount {
		return derrors.Invalid("transaction.designations", "sum to %s but the amount is %s %s",
			money.Format(sum, currency), money.Format(amount, currency), currency)
	}
	return nil
}

func (p *Parsed) parseContact(in Intake, d Defaults) error {
	var c ContactTransaction
	if err := strictDecode(in.Txn, &c); err != nil {
		return prefixField("transaction", err)
	}
	if c.ReferenceSource == "" {
		c.ReferenceSource = d.TransactionSource(in.Source)
	}
	if c.ReferenceID == "" {
		c.ReferenceID = in.SourceRef
	}
	if err := checkID("transaction.referenceSource", c.ReferenceSource); err != nil {
		return err
	}
	if err := checkID("transaction.referenceId", c.ReferenceID); err != nil {
		return err
	}
	switch c.ContactType {
	case "", "Household", "Organization", "Foundation":
	default:
		return derrors.Invalid("transaction.contactType", "%q is not Household, Organization or Foundation", c.ContactType)
	}
	if fullName(c.FirstName, c.LastName, c.Name) == "" && c.Email == "" {
		return derrors.Invalid("transaction", "a contact needs a name or an email")
	}
	if err := checkEmail("transaction.email", c.Email); err != nil {
		return err
	}
	var err error
	if p.Payload, err = canonical(c); err != nil {
		return err
	}
	p.ExtSource, p.ExtID = c.ReferenceSource, c.ReferenceID
	p.DonorName, p.DonorEmail = fullName(c.FirstName, c.LastName, c.Name), c.Email
	return nil
}

// prefixField puts a parent path in front of a FieldError's field.
func prefixField(parent string, err error) error {
	fe, ok := err.(*derrors.FieldError)
	if !ok {
		return err
	}
	if fe.Field == "" {
		return derrors.Invalid(parent, "%s", fe.Msg)
	}
	return derrors.Invalid(parent+"."+fe.Field, "%s", fe.Msg)
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

// Summary is what the queues show of a body without parsing it.
type Summary struct {
	DonorName, DonorEmail string
	Amount                *int64
	Currency              *string
	GiftDate              *time.Time
}

// Summarize reads a stored (canonical) body's summary fields.
func Summarize(kind Kind, payload []byte) (Summary, error) {
	if kind == Contact {
		c, err := DecodeContact(payload)
		if err != nil {
			return Summary{}, err
		}
		return Summary{DonorName: fullName(c.FirstName, c.LastName, c.Name), DonorEmail: c.Email}, nil
	}
	g, err := DecodeGift(payload)
	if err != nil {
		return Summary{}, err
	}
	var s Summary
	if c := g.Contact; c != nil {
		s.DonorName, s.DonorEmail = fullName(c.FirstName, c.LastName, c.Name), c.Email
	}
	if n, err := g.Amount.Minor(g.CurrencyCode); err == nil {
		cur := g.CurrencyCode
		s.Amount, s.Currency = &n, &cur
	}
	if d, err := time.Parse("2006-01-02", g.GiftDate); err == nil {
		s.GiftDate = &d
	}
	return s, nil
}
