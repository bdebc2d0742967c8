package virtuous

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"backstop/internal/jsonscan"
)

// parseGiftWebhook decodes the delivery nearly every webhook is, an
// envelope with a gift, without encoding/json: its reflection was a sixth
// of the receiver's CPU under load. It decodes what it accepts exactly as
// encoding/json would (FuzzParseWebhook compares the two), and says no,
// for ParseWebhook to decode the body the general way, to anything else:
// another object (a contact), a string with an escape, a key repeated or
// matching a field only case-insensitively, a value of a type
// encoding/json would refuse, or an event check would refuse. Unknown keys
// are skipped, as encoding/json skips them. The UnmarshalJSON methods of
// the field types (Time, money.Decimal, CustomFields, looseString) are
// called with the value's bytes, as encoding/json calls them.
func parseGiftWebhook(body []byte) (*Event, bool) {
	s := jsonscan.New(body)
	var env envelope[*Gift, *Contact]
	var seen keySet
	ok := s.Object(func(key []byte) bool {
		switch string(key) {
		case "event":
			return seen.first(0) && readEventName(s, &env.Event)
		case "gift":
			return seen.first(1) && readObject(s, &env.Gift, readGift)
		case "eventId":
			return seen.first(2) && readRaw(s, &env.EventID)
		case "eventDateTimeUtc":
			return seen.first(3) && readRaw(s, &env.EventDateTimeUTC)
		case "organization":
			return seen.first(4) && readObject(s, &env.Organization, readOrganization)
		case "organizationUser":
			return seen.first(5) && readObject(s, &env.OrganizationUser, readOrganizationUser)
		}
		return skipUnknown(s, key, envelopeKeys)
	})
	if !ok || !s.End() {
		return nil, false
	}
	e := env.event(body)
	e.Gift = env.Gift
	if e.check() != nil {
		return nil, false
	}
	return e, true
}

func readGift(s *jsonscan.Scanner, g *Gift) func([]byte) bool {
	var seen keySet
	return func(key []byte) bool {
		switch string(key) {
		case "id":
			return seen.first(0) && readInt(s, &g.ID)
		case "transactionSource":
			return seen.first(1) && readString(s, &g.TransactionSource)
		case "transactionId":
			return seen.first(2) && readString(s, &g.TransactionID)
		case "contactId":
			return seen.first(3) && readInt(s, &g.ContactID)
		case "contactName":
			return seen.first(4) && readString(s, &g.ContactName)
		case "contactUrl":
			return seen.first(5) && readString(s, &g.ContactURL)
		case "contactIndividualId":
			return seen.first(6) && readIntPtr(s, &g.ContactIndividualID)
		case "contactPassthroughId":
			return seen.first(7) && readIntPtr(s, &g.ContactPassthroughID)
		case "giftType":
			return seen.first(8) && readString(s, &g.GiftType)
		case "giftTypeFormatted":
			return seen.first(9) && readString(s, &g.GiftTypeFormatted)
		case "giftDate":
			return seen.first(10) && readRaw(s, &g.GiftDate)
		case "giftDateFormatted":
			return seen.first(11) && readString(s, &g.GiftDateFormatted)
		case "amount":
			return seen.first(12) && readRaw(s, &g.Amount)
		case "currencyCode":
			return seen.first(13) && readString(s, &g.CurrencyCode)
		case "exchangeRate":
			return seen.first(14) && readRaw(s, &g.ExchangeRate)
		case "baseCurrencyCode":
			return seen.first(15) && readString(s, &g.BaseCurrencyCode)
		case "batch":
			return seen.first(16) && readString(s, &g.Batch)
		case "notes":
			return seen.first(17) && readString(s, &g.Notes)
		case "segmentId":
			return seen.first(18) && readIntPtr(s, &g.SegmentID)
		case "segment":
			return seen.first(19) && readString(s, &g.Segment)
		case "segmentCode":
			return seen.first(20) && readString(s, &g.SegmentCode)
		case "mediaOutlet":
			return seen.first(21) && readString(s, &g.MediaOutlet)
		case "receiptDate":
			return seen.first(22) && readRaw(s, &g.ReceiptDate)
		case "cashAccountingCode":
			return seen.first(23) && readString(s, &g.CashAccountingCode)
		case "createDateTimeUtc":
			return seen.first(24) && readRaw(s, &g.CreateDateTimeUTC)
		case "createdByUser":
			return seen.first(25) && readString(s, &g.CreatedByUser)
		case "modifiedDateTimeUtc":
			return seen.first(26) && readRaw(s, &g.ModifiedDateTimeUTC)
		case "modifiedByUser":
			return seen.first(27) && readString(s, &g.ModifiedByUser)
		case "giftDesignations":
			return seen.first(28) && readDesignations(s, &g.GiftDesignations)
		case "customFields":
			return seen.first(29) && readRaw(s, &g.CustomFields)
		case "giftUrl":
			return seen.first(30) && readString(s, &g.GiftURL)
		case "isPrivate":
			return seen.first(31) && readBool(s, &g.IsPrivate)
		case "isTaxDeductible":
			return seen.first(32) && readBool(s, &g.IsTaxDeductible)
		}
		return skipUnknown(s, key, giftKeys)
	}
}

func readDesignation(s *jsonscan.Scanner, d *Designation) func([]byte) bool {
	var seen keySet
	return func(key []byte) bool {
		switch string(key) {
		case "id":
			return seen.first(0) && readInt(s, &d.ID)
		case "projectId":
			return seen.first(1) && readInt(s, &d.ProjectID)
		case "project":
			return seen.first(2) && readString(s, &d.Project)
		case "projectCode":
			return seen.first(3) && readString(s, &d.ProjectCode)
		case "externalAccountingCode":
			return seen.first(4) && readString(s, &d.ExternalAccountingCode)
		case "projectType":
			return seen.first(5) && readString(s, &d.ProjectType)
		case "projectLocation":
			return seen.first(6) && readString(s, &d.ProjectLocation)
		case "projectUrl":
			return seen.first(7) && readString(s, &d.ProjectURL)
		case "amountDesignated":
			return seen.first(8) && readRaw(s, &d.AmountDesignated)
		case "display":
			return seen.first(9) && readString(s, &d.Display)
		}
		return skipUnknown(s, key, designationKeys)
	}
}

func readOrganization(s *jsonscan.Scanner, o *Organization) func([]byte) bool {
	var seen keySet
	return func(key []byte) bool {
		switch string(key) {
		case "id":
			return seen.first(0) && readInt(s, &o.ID)
		case "name":
			return seen.first(1) && readString(s, &o.Name)
		}
		return skipUnknown(s, key, organizationKeys)
	}
}

func readOrganizationUser(s *jsonscan.Scanner, u *OrganizationUser) func([]byte) bool {
	var seen keySet
	return func(key []byte) bool {
		switch string(key) {
		case "id":
			return seen.first(0) && readInt(s, &u.ID)
		case "emailAddress":
			return seen.first(1) && readString(s, &u.EmailAddress)
		}
		return skipUnknown(s, key, organizationUserKeys)
	}
}

// The keys of each struct, for skipUnknown; read from the struct tags, so
// that a field added to a struct but not to its reader above makes the
// fast path say no rather than skip it.
var (
	envelopeKeys         = jsonKeys[envelope[*Gift, *Contact]]()
	giftKeys             = jsonKeys[Gift]()
	designationKeys      = jsonKeys[Designation]()
	organizationKeys     = jsonKeys[Organization]()
	organizationUserKeys = jsonKeys[OrganizationUser]()
)

func jsonKeys[T any]() []string {
	t := reflect.TypeFor[T]()
	keys := make([]string, t.NumField())
	for i := range keys {
		keys[i], _, _ = strings.Cut(t.Field(i).Tag.Get("json"), ",")
	}
	return keys
}

// skipUnknown skips the value of a key that names no field. encoding/json
// matches a key to a field case-insensitively when no field matches it
// exactly (and folds some non-ASCII letters to ASCII ones), so a key that
// does so, or is not ASCII, is refused.
func skipUnknown(s *jsonscan.Scanner, key []byte, keys []string) bool {
	for _, c := range key {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	for _, k := range keys {
		if strings.EqualFold(string(key), k) {
			return false
		}
	}
	_, ok := s.Value()
	return ok
}

// keySet records which fields of an object were read, so that a repeated
// key is refused: encoding/json merges a repeated object into the first.
type keySet uint64

func (k *keySet) first(i uint) bool {
	if *k&(1<<i) != 0 {
		return false
	}
	*k |= 1 << i
	return true
}

// readObject reads a null (leaving *p nil, as encoding/json does) or an
// object into a new T.
func readObject[T any](s *jsonscan.Scanner, p **T, fields func(*jsonscan.Scanner, *T) func([]byte) bool) bool {
	if s.Null() {
		return true
	}
	v := new(T)
	*p = v
	return s.Object(fields(s, v))
}

// readDesignations reads null (nil), [] (empty, not nil, as encoding/json
// makes it) or an array of designations, a null among them left zero.
func readDesignations(s *jsonscan.Scanner, p *[]Designation) bool {
	if s.Null() {
		return true
	}
	ds := []Designation{}
	ok := s.Array(func() bool {
		ds = append(ds, Designation{})
		return s.Null() || s.Object(readDesignation(s, &ds[len(ds)-1]))
	})
	*p = ds
	return ok
}

// A null leaves a string, a number or a bool as it was (zero), as
// encoding/json does; any other type is refused.
func readString(s *jsonscan.Scanner, p *string) bool {
	if s.Null() {
		return true
	}
	v, ok := s.String()
	*p = string(v)
	return ok
}

// readEventName is readString, sharing the string of a name spelled as
// eventNames spells it rather than allocating one.
func readEventName(s *jsonscan.Scanner, p *string) bool {
	if s.Null() {
		return true
	}
	v, ok := s.String()
	if n, known := spelled[string(v)]; known {
		*p = n
	} else {
		*p = string(v)
	}
	return ok
}

func readInt(s *jsonscan.Scanner, p *int64) bool {
	if s.Null() {
		return true
	}
	v, ok := s.Number()
	if !ok {
		return false
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	*p = n
	return err == nil
}

func readIntPtr(s *jsonscan.Scanner, p **int64) bool {
	if s.Null() {
		return true
	}
	*p = new(int64)
	return readInt(s, *p)
}

func readBool(s *jsonscan.Scanner, p *bool) bool {
	if s.Null() {
		return true
	}
	v, ok := s.Bool()
	*p = v
	return ok
}

// readRaw hands the value's bytes to u's UnmarshalJSON, null included.
func readRaw(s *jsonscan.Scanner, u json.Unmarshaler) bool {
	v, ok := s.Value()
	return ok && u.UnmarshalJSON(v) == nil
}
