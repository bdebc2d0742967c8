package virtuoussim

import (
	"encoding/json"
	"time"

	"backstop/internal/money"
)

// txKey identifies a gift transaction: Virtuous's idempotency key and the
// reconciliation join key.
type txKey struct{ source, id string }

func (k txKey) String() string { return k.source + "/" + k.id }

// refKey identifies a contact by an external reference.
type refKey struct{ source, id string }

// gift is a real Gift record (created by the batch, a resolution or a direct
// entry). Pointers to it are shared by the indexes; the org's lock guards it.
type gift struct {
	id                 int64
	deleted            bool
	src, txid          string // empty for gifts entered directly in Virtuous
	contactID          int64
	individualID       int64
	giftType           string // canonical code: Cash, Credit, EFT, ...
	date               time.Time
	amount             int64 // minor units of currency
	currency           string
	batch, notes       string
	segmentID          int64
	segmentCode        string
	receiptDate        time.Time
	isPrivate          bool
	isTaxDeductible    bool
	created, modified  time.Time
	createdBy          string
	modifiedBy         string
	createdDay         int64 // days since the epoch, UTC: "Create Date" compares on these
	modifiedDay        int64
	designations       []giftDesignation
	customFields       []customField
	style              tsStyle
	contactPassthrough int64
}

type giftDesignation struct {
	id        int64
	projectID int64
	amount    int64
}

type customField struct{ name, value string }

type project struct {
	id         int64
	name, code string
}

// contact is a Contact record with its one primary individual, address and
// contact methods: what a donation platform's donors look like.
type contact struct {
	id              int64
	contactType     string
	name            string
	isPrivate       bool
	mergedInto      int64
	individualID    int64
	prefix          string
	firstName       string
	middleName      string
	lastName        string
	email           string
	emailType       string
	emailMethodID   int64
	phone           string
	phoneType       string
	phoneMethodID   int64
	address         Address
	addressID       int64
	references      []refKey
	customFields    []customField
	created         time.Time
	modified        time.Time
	createdBy       string
	modifiedBy      string
	createdDay      int64
	modifiedDay     int64
	style           tsStyle
	gifts           []int64 // ids of gifts attached to the contact, oldest first
	originSegmentID int64
}

// Address is a postal address as the transaction endpoints and the contact
// JSON name its parts.
type Address struct {
	Address1 string `json:"address1,omitempty"`
	Address2 string `json:"address2,omitempty"`
	City     string `json:"city,omitempty"`
	State    string `json:"state,omitempty"`
	Postal   string `json:"postal,omitempty"`
	Country  string `json:"country,omitempty"`
}

func (a Address) empty() bool { return a == Address{} }

// Reference is one external reference of a contact ({source, id} in the API).
type Reference struct {
	Source string `json:"source"`
	ID     string `json:"id"`
}

// Designation is one gift designation as the simulator's Go and control APIs
// report it.
type Designation struct {
	ID          int64  `json:"id"`
	ProjectID   int64  `json:"projectId"`
	Project     string `json:"project"`
	ProjectCode string `json:"projectCode"`
	Amount      string `json:"amountDesignated"`
	AmountMinor int64  `json:"amountMinor"`
}

// DesignationInput is a designation as clients send it in a gift transaction
// (designations[]) and as the control API accepts it. The project is found by
// id, then code, then name; an unknown code or name creates the project,
// which is what an org that lets imports add projects would see.
type DesignationInput struct {
	ID               int64         `json:"id,omitempty"`
	Name             string        `json:"name,omitempty"`
	Code             string        `json:"code,omitempty"`
	AmountDesignated money.Decimal `json:"amountDesignated"`
}

// UnmarshalJSON accepts the id as a number or a string, as the spec's
// "<integer>" placeholder invites.
func (d *DesignationInput) UnmarshalJSON(b []byte) error {
	var w struct {
		ID               flexInt       `json:"id"`
		Name             flexString    `json:"name"`
		Code             flexString    `json:"code"`
		AmountDesignated money.Decimal `json:"amountDesignated"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*d = DesignationInput{ID: int64(w.ID), Name: string(w.Name), Code: string(w.Code), AmountDesignated: w.AmountDesignated}
	return nil
}

// GiftSnapshot is a copy of one gift for Go tests and the control API.
type GiftSnapshot struct {
	ID                  int64             `json:"id"`
	TransactionSource   string            `json:"transactionSource,omitempty"`
	TransactionID       string            `json:"transactionId,omitempty"`
	ContactID           int64             `json:"contactId"`
	ContactIndividualID int64             `json:"contactIndividualId"`
	GiftType            string            `json:"giftType"`
	GiftDate            string            `json:"giftDate"` // YYYY-MM-DD
	Amount              string            `json:"amount"`   // decimal text, e.g. "10.50"
	AmountMinor         int64             `json:"amountMinor"`
	Currency            string            `json:"currencyCode"`
	Batch               string            `json:"batch,omitempty"`
	Notes               string            `json:"notes,omitempty"`
	Designations        []Designation     `json:"designations"`
	CustomFields        map[string]string `json:"customFields,omitempty"`
	Created             time.Time         `json:"createDateTimeUtc"`
	Modified            time.Time         `json:"modifiedDateTimeUtc"`
}

// ContactSnapshot is a copy of one contact for Go tests and the control API.
type ContactSnapshot struct {
	ID          int64       `json:"id"`
	ContactType string      `json:"contactType"`
	Name        string      `json:"name"`
	FirstName   string      `json:"firstName,omitempty"`
	LastName    string      `json:"lastName,omitempty"`
	Email       string      `json:"email,omitempty"`
	Phone       string      `json:"phone,omitempty"`
	Address     Address     `json:"address"`
	References  []Reference `json:"contactReferences"`
	MergedInto  int64       `json:"mergedIntoContactId,omitempty"`
	GiftIDs     []int64     `json:"giftIds"`
	Created     time.Time   `json:"createDateTimeUtc"`
	Modified    time.Time   `json:"modifiedDateTimeUtc"`
}

// Bucket names, as the Virtuous Import Tool labels them.
const (
	BucketMatchNeeded  = "Match Needed"
	BucketUpdateNeeded = "Update Needed"
)

// Pending is a gift transaction that the batch could not import: it waits in
// the Import Tool for an administrator, and GET /api/Gift/{source}/{id}
// answers 404 until it is resolved.
type Pending struct {
	Bucket            string    `json:"bucket"`
	Reason            string    `json:"reason"`
	TransactionSource string    `json:"transactionSource"`
	TransactionID     string    `json:"transactionId"`
	Submitted         time.Time `json:"submitted"`
	Batched           time.Time `json:"batched"`
	FirstName         string    `json:"firstName,omitempty"`
	LastName          string    `json:"lastName,omitempty"`
	Email             string    `json:"email,omitempty"`
	Amount            string    `json:"amount"`
	Currency          string    `json:"currencyCode"`
}

// BatchResult says what one nightly batch did.
type BatchResult struct {
	Processed       int `json:"processed"`
	GiftsCreated    int `json:"giftsCreated"`
	ContactsCreated int `json:"contactsCreated"`
	ContactsUpdated int `json:"contactsUpdated"`
	MatchNeeded     int `json:"matchNeeded"`
	UpdateNeeded    int `json:"updateNeeded"`
}

func epochDay(t time.Time) int64 { return t.Unix() / 86400 }
