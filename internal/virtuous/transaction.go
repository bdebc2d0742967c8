package virtuous

import "backstop/internal/money"

// GiftTransaction is the body of POST /api/v2/Gift/Transaction, field for
// field as the spec template names it (virtuous-api.md §2.1), including its
// lower-case contact name fields and its "Fullfillment" spelling. Every field
// is omitted when empty. The spec types everything as a string placeholder;
// following the derived guidance, booleans and integers are sent as JSON
// booleans and numbers, and money as a fixed-point string (see Amount).
type GiftTransaction struct {
	// TransactionSource and TransactionID are both Virtuous's idempotency key
	// and the reconciliation join key: use a stable upstream id, never one
	// generated per attempt.
	TransactionSource string              `json:"transactionSource,omitempty"`
	TransactionID     string              `json:"transactionId,omitempty"`
	Contact           *TransactionContact `json:"contact,omitempty"`
	// GiftDate is YYYY-MM-DD (see Date), the form of the batch endpoint's
	// defaultGiftDate example; the single-gift format is not documented.
	GiftDate                       string                   `json:"giftDate,omitempty"`
	CancelDate                     string                   `json:"cancelDate,omitempty"`
	GiftType                       string                   `json:"giftType,omitempty"`
	Amount                         string                   `json:"amount,omitempty"` // "500.00": see Amount
	CurrencyCode                   string                   `json:"currencyCode,omitempty"`
	ExchangeRate                   money.Decimal            `json:"exchangeRate,omitempty"`
	Frequency                      string                   `json:"frequency,omitempty"`
	RecurringGiftTransactionID     string                   `json:"recurringGiftTransactionId,omitempty"`
	RecurringGiftTransactionUpdate *bool                    `json:"recurringGiftTransactionUpdate,omitempty"`
	PledgeFrequency                string                   `json:"pledgeFrequency,omitempty"`
	PledgeTransactionID            string                   `json:"pledgeTransactionId,omitempty"`
	PledgeExpectedFullfillmentDate string                   `json:"pledgeExpectedFullfillmentDate,omitempty"`
	Batch                          string                   `json:"batch,omitempty"`
	Notes                          string                   `json:"notes,omitempty"`
	Segment                        string                   `json:"segment,omitempty"`
	MediaOutlet                    string                   `json:"mediaOutlet,omitempty"`
	ReceiptDate                    string                   `json:"receiptDate,omitempty"`
	ReceiptSegment                 string                   `json:"receiptSegment,omitempty"`
	CashAccountingCode             string                   `json:"cashAccountingCode,omitempty"`
	Tribute                        string                   `json:"tribute,omitempty"`
	TributeDedication              *TributeDedication       `json:"tributeDedication,omitempty"`
	IsPrivate                      *bool                    `json:"isPrivate,omitempty"`
	IsTaxDeductible                *bool                    `json:"isTaxDeductible,omitempty"`
	CheckNumber                    string                   `json:"checkNumber,omitempty"`
	CreditCardType                 string                   `json:"creditCardType,omitempty"`
	NonCashGiftTypeID              *int64                   `json:"nonCashGiftTypeId,omitempty"`
	NonCashGiftType                string                   `json:"nonCashGiftType,omitempty"`
	NonCashGiftDescription         string                   `json:"nonCashGiftDescription,omitempty"`
	StockTickerSymbol              string                   `json:"stockTickerSymbol,omitempty"`
	StockNumberOfShares            *int64                   `json:"stockNumberOfShares,omitempty"`
	IRACustodian                   string                   `json:"iraCustodian,omitempty"`
	SubmissionURL                  string                   `json:"submissionUrl,omitempty"`
	Designations                   []TransactionDesignation `json:"designations,omitempty"`
	Premiums                       []TransactionPremium     `json:"premiums,omitempty"`
	CustomFields                   CustomFields             `json:"customFields,omitempty"`
	CustomObjects                  []CustomObject           `json:"customObjects,omitempty"`
	ContactIndividualID            *int64                   `json:"contactIndividualId,omitempty"`
	PassthroughContact             *TransactionContact      `json:"passthroughContact,omitempty"`
	EventAttendee                  *EventAttendee           `json:"eventAttendee,omitempty"`
}

// TransactionContact is the donor block of a GiftTransaction (also its
// passthroughContact). The name fields are spelled as in the spec template
// (firstname, middlename, lastname); whether Virtuous binds them
// case-insensitively is UNCONFIRMED, so the spec spelling is the safe one.
type TransactionContact struct {
	ReferenceID string              `json:"referenceId,omitempty"`
	ID          *int64              `json:"id,omitempty"`
	Name        string              `json:"name,omitempty"`
	Type        string              `json:"type,omitempty"`
	Title       string              `json:"title,omitempty"`
	FirstName   string              `json:"firstname,omitempty"`
	MiddleName  string              `json:"middlename,omitempty"`
	LastName    string              `json:"lastname,omitempty"`
	Suffix      string              `json:"suffix,omitempty"`
	BirthMonth  string              `json:"birthMonth,omitempty"`
	BirthDay    string              `json:"birthDay,omitempty"`
	BirthYear   string              `json:"birthYear,omitempty"`
	Gender      string              `json:"gender,omitempty"`
	EmailType   string              `json:"emailType,omitempty"`
	Email       string              `json:"email,omitempty"`
	PhoneType   string              `json:"phoneType,omitempty"`
	Phone       string              `json:"phone,omitempty"`
	Address     *TransactionAddress `json:"address,omitempty"`
	Tags        string              `json:"tags,omitempty"` // "tag1;tag2"
	EmailLists  []string            `json:"emailLists,omitempty"`
}

// TransactionAddress is the nested address of a TransactionContact.
type TransactionAddress struct {
	Address1 string `json:"address1,omitempty"`
	Address2 string `json:"address2,omitempty"`
	City     string `json:"city,omitempty"`
	State    string `json:"state,omitempty"`
	Postal   string `json:"postal,omitempty"`
	Country  string `json:"country,omitempty"`
}

// TransactionDesignation splits a gift to a project. The derived docs say
// the designations must sum to the gift's amount or Virtuous answers 400.
type TransactionDesignation struct {
	ID               *int64 `json:"id,omitempty"`
	Name             string `json:"name,omitempty"`
	Code             string `json:"code,omitempty"`
	AmountDesignated string `json:"amountDesignated,omitempty"` // see Amount
}

// TransactionPremium is a thank-you item sent for a gift.
type TransactionPremium struct {
	ID       *int64 `json:"id,omitempty"`
	Name     string `json:"name,omitempty"`
	Code     string `json:"code,omitempty"`
	Quantity string `json:"quantity,omitempty"`
}

// TributeDedication names who a gift honours and who to acknowledge.
type TributeDedication struct {
	TributeID                *int64 `json:"tributeId,omitempty"`
	TributeType              string `json:"tributeType,omitempty"`
	TributeFirstName         string `json:"tributeFirstName,omitempty"`
	TributeLastName          string `json:"tributeLastName,omitempty"`
	TributeCity              string `json:"tributeCity,omitempty"`
	TributeState             string `json:"tributeState,omitempty"`
	AcknowledgeeIndividualID *int64 `json:"acknowledgeeIndividualId,omitempty"`
	AcknowledgeeFirstName    string `json:"acknowledgeeFirstName,omitempty"`
	AcknowledgeeLastName     string `json:"acknowledgeeLastName,omitempty"`
	AcknowledgeeAddress      string `json:"acknowledgeeAddress,omitempty"`
	AcknowledgeeCity         string `json:"acknowledgeeCity,omitempty"`
	AcknowledgeeState        string `json:"acknowledgeeState,omitempty"`
	AcknowledgeePostal       string `json:"acknowledgeePostal,omitempty"`
	AcknowledgeeEmail        string `json:"acknowledgeeEmail,omitempty"`
	AcknowledgeePhone        string `json:"acknowledgeePhone,omitempty"`
}

// EventAttendee records attendance at a Virtuous event with the gift.
type EventAttendee struct {
	EventID      *int64 `json:"eventId,omitempty"`
	EventName    string `json:"eventName,omitempty"`
	Invited      *bool  `json:"invited,omitempty"`
	RSVP         *bool  `json:"rsvp,omitempty"`
	RSVPResponse *bool  `json:"rsvpResponse,omitempty"`
	Attended     *bool  `json:"attended,omitempty"`
}

// CustomObject is a named set of custom fields.
type CustomObject struct {
	Name   string              `json:"name,omitempty"`
	Fields []CustomObjectField `json:"fields,omitempty"`
}

// CustomObjectField is one field of a CustomObject.
type CustomObjectField struct {
	Name  string `json:"name,omitempty"`
	Value string `json:"value,omitempty"`
}

// ContactTransaction is the body of POST /api/Contact/Transaction
// (virtuous-api.md §2.3). Unlike a gift's contact block it is flat, and its
// name fields are camel-case (firstName, lastName), as the n8n node and the
// Ruby gem send them.
type ContactTransaction struct {
	ReferenceSource      string                `json:"referenceSource,omitempty"`
	ReferenceID          string                `json:"referenceId,omitempty"`
	ContactType          string                `json:"contactType,omitempty"` // Household, Organization, Foundation
	Name                 string                `json:"name,omitempty"`
	Title                string                `json:"title,omitempty"`
	FirstName            string                `json:"firstName,omitempty"`
	MiddleName           string                `json:"middleName,omitempty"`
	LastName             string                `json:"lastName,omitempty"`
	Suffix               string                `json:"suffix,omitempty"`
	BirthMonth           string                `json:"birthMonth,omitempty"`
	BirthDay             string                `json:"birthDay,omitempty"`
	BirthYear            string                `json:"birthYear,omitempty"`
	Gender               string                `json:"gender,omitempty"`
	EmailType            string                `json:"emailType,omitempty"` // "Home Email"
	Email                string                `json:"email,omitempty"`
	PhoneType            string                `json:"phoneType,omitempty"` // "Mobile Phone"
	Phone                string                `json:"phone,omitempty"`
	Address1             string                `json:"address1,omitempty"`
	Address2             string                `json:"address2,omitempty"`
	City                 string                `json:"city,omitempty"`
	State                string                `json:"state,omitempty"`
	Postal               string                `json:"postal,omitempty"`
	Country              string                `json:"country,omitempty"`
	EventID              *int64                `json:"eventId,omitempty"`
	EventName            string                `json:"eventName,omitempty"`
	Invited              *bool                 `json:"invited,omitempty"`
	RSVP                 *bool                 `json:"rsvp,omitempty"`
	RSVPResponse         *bool                 `json:"rsvpResponse,omitempty"`
	Attended             *bool                 `json:"attended,omitempty"`
	Tags                 string                `json:"tags,omitempty"` // "tag1;tag2"
	OriginSegmentCode    string                `json:"originSegmentCode,omitempty"`
	EmailLists           []string              `json:"emailLists,omitempty"`
	CustomFields         CustomFields          `json:"customFields,omitempty"`
	CustomObjects        []CustomObject        `json:"customObjects,omitempty"`
	VolunteerAttendances []VolunteerAttendance `json:"volunteerAttendances,omitempty"`
}

// VolunteerAttendance records volunteer hours with a Contact Transaction.
type VolunteerAttendance struct {
	VolunteerOpportunityID   *int64 `json:"volunteerOpportunityId,omitempty"`
	VolunteerOpportunityName string `json:"volunteerOpportunityName,omitempty"`
	Date                     string `json:"date,omitempty"`
	Hours                    string `json:"hours,omitempty"`
}

// Amount formats minor units of currency as the fixed-point string
// Transactions carry: Amount(50000, "USD") = "500.00" (the currency's ISO
// 4217 digits, so two for most).
func Amount(minor int64, currency string) string { return money.Format(minor, currency) }
