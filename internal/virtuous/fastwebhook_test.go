package virtuous

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const loadGift = `{"event":"GiftCreate","gift":{"id":12345,"transactionSource":"Load","transactionId":"load-12345","contactId":102345,` +
	`"contactName":"Load Donor 2345","giftType":"Credit","giftDate":"2026-11-01T00:00:00","giftDateFormatted":"11/1/2026",` +
	`"amount":350.45,"currencyCode":"USD","exchangeRate":1.0,"createDateTimeUtc":"2026-11-01T03:25:45.000","modifiedDateTimeUtc":"2026-11-01T03:25:45.000",` +
	`"giftDesignations":[],"customFields":{"Receipt Status":"Pending"},"giftUrl":"/api/Gift/12345"}}`

// The fast path takes the deliveries it is for, says no to the shapes it
// leaves to encoding/json, and decodes what it takes as encoding/json does.
func TestParseGiftWebhookAgrees(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		fast bool
	}{
		{"LoadGenerator", loadGift, true},
		{"Fixture", string(fixture(t, "webhook_gift_create.json")), true},
		{"Envelope", string(fixture(t, "webhook_gift_update_envelope.json")), true},
		{"Spaced", " {\n\t\"event\" : \"GiftUpdate\" ,\r\n \"gift\" : { \"id\" : 7 , \"amount\" : \"$ 12.50\" } } \n", true},
		{"Nulls", `{"event":"GiftUpdate","eventId":null,"gift":{"id":7,"notes":null,"segmentId":null,"giftDate":null,"amount":null,` +
			`"giftDesignations":null,"customFields":null,"isPrivate":null,"contactId":null}}`, true},
		{"NumberEventID", `{"event":"GiftUpdate","eventId":12,"gift":{"id":7}}`, true},
		{"Designations", `{"event":"GiftCreate","gift":{"id":7,"giftDesignations":[null,{"projectId":4,"amountDesignated":"5.00","extra":[1,{"a":"\u00e9"}]}]}}`, true},
		{"CustomFieldShapes", `{"event":"GiftCreate","gift":{"id":7,"customFields":{"a":1.5,"b":true,"c":null,"d":{"x":[1, 2]},"a":"again"}}}`, true},
		{"CustomFieldArray", `{"event":"GiftCreate","gift":{"id":7,"customFields":[{"name":"k","value":1}]}}`, true},
		{"UnknownKeysSkipped", `{"event":"GiftCreate","x":{"event":"no"},"gift":{"id":7,"zzz":"a\"b\\u0041","pledgePayments":[[],{}]}}`, true},
		{"Unicode", `{"event":"GiftCreate","gift":{"id":7,"contactName":"José Ñandú 北京"}}`, true},
		{"NegativeZero", `{"event":"GiftCreate","gift":{"id":7,"contactId":-0,"segmentId":-12}}`, true},
		{"ProjectEvent", `{"event":"ProjectCreate","eventId":"p-1","project":{"id":3}}`, true},

		{"Contact", `{"event":"ContactCreate","contact":{"id":2}}`, false},
		{"GiftAndContact", `{"event":"GiftCreate","gift":{"id":7},"contact":null}`, false},
		{"RepeatedKey", `{"event":"GiftCreate","gift":{"id":7,"id":8}}`, false},
		{"RepeatedGift", `{"event":"GiftCreate","gift":{"id":7},"gift":{"notes":"x"}}`, false},
		{"KeyInOtherCase", `{"event":"GiftCreate","gift":{"id":7,"Notes":"x"}}`, false},
		{"KeyFoldedFromUnicode", "{\"event\":\"GiftCreate\",\"gift\":{\"id\":7,\"\u212aey\":1,\"notes\":\"x\"}}", false},
		{"EscapedString", `{"event":"GiftCreate","gift":{"id":7,"notes":"line\nbreak"}}`, false},
		{"EscapedKey", `{"event":"GiftCreate","gift":{"\u0069d":7}}`, false},
		{"InvalidUTF8", "{\"event\":\"GiftCreate\",\"gift\":{\"id\":7,\"notes\":\"\xff\"}}", false},
		{"FloatID", `{"event":"GiftCreate","gift":{"id":7.0}}`, false},
		{"StringID", `{"event":"GiftCreate","gift":{"id":"7"}}`, false},
		{"HugeID", `{"event":"GiftCreate","gift":{"id":99999999999999999999}}`, false},
		{"BadTime", `{"event":"GiftCreate","gift":{"id":7,"giftDate":"soon"}}`, false},
		{"NoGiftID", `{"event":"GiftCreate","gift":{"amount":1}}`, false},
		{"NoEvent", `{"gift":{"id":7}}`, false},
		{"TrailingGarbage", `{"event":"GiftCreate","gift":{"id":7}} x`, false},
		{"TrailingComma", `{"event":"GiftCreate","gift":{"id":7,}}`, false},
		{"LeadingZero", `{"event":"GiftCreate","gift":{"id":07}}`, false},
		{"BadSkippedValue", `{"event":"GiftCreate","gift":{"id":7,"zzz":[1,]}}`, false},
		{"Truncated", `{"event":"GiftCreate","gift":{"id":7`, false},
	}
	for _, tt := range tests {
		body := []byte(tt.body)
		fast, ok := parseGiftWebhook(body)
		if ok != tt.fast {
			t.Errorf("%s: fast path took it: %t, want %t", tt.name, ok, tt.fast)
		}
		want, wantErr := parseWebhookReflect(body)
		if ok {
			if wantErr != nil {
				t.Errorf("%s: the fast path took a body encoding/json refuses (%v)", tt.name, wantErr)
			} else if d := cmp.Diff(want, fast, timeEq); d != "" {
				t.Errorf("%s: (-encoding/json +fast):\n%s", tt.name, d)
			}
		}
		got, err := ParseWebhook(body)
		if (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() {
			t.Errorf("%s: ParseWebhook: got error %v, want %v", tt.name, err, wantErr)
		} else if d := cmp.Diff(want, got, timeEq); d != "" {
			t.Errorf("%s: ParseWebhook (-encoding/json +got):\n%s", tt.name, d)
		}
	}
}

// A gift with every field set takes the fast path: a field added to Gift
// but not to its reader would send every delivery the slow way.
func TestParseGiftWebhookEveryField(t *testing.T) {
	t.Parallel()
	at := Time{time.Date(2024, 6, 2, 5, 0, 12, 612603100, time.UTC)}
	id := int64(17)
	g := Gift{
		ID: 5123, TransactionSource: "S", TransactionID: "T", ContactID: 881, ContactName: "N", ContactURL: "/c",
		ContactIndividualID: &id, ContactPassthroughID: &id, GiftType: "Credit", GiftTypeFormatted: "Credit",
		GiftDate: at, GiftDateFormatted: "6/1/2024", Amount: "500.00", CurrencyCode: "USD", ExchangeRate: "1.0",
		BaseCurrencyCode: "USD", Batch: "B", Notes: "n", SegmentID: &id, Segment: "s", SegmentCode: "sc",
		MediaOutlet: "m", ReceiptDate: at, CashAccountingCode: "c", CreateDateTimeUTC: at, CreatedByUser: "u",
		ModifiedDateTimeUTC: at, ModifiedByUser: "u", CustomFields: CustomFields{"k": "v"}, GiftURL: "/g",
		IsPrivate: true, IsTaxDeductible: true,
		GiftDesignations: []Designation{{
			ID: 1, ProjectID: 2, Project: "p", ProjectCode: "pc", ExternalAccountingCode: "e", ProjectType: "t",
			ProjectLocation: "l", ProjectURL: "/p", AmountDesignated: "500.00", Display: "d",
		}},
	}
	env := map[string]any{
		"event": "GiftUpdate", "eventId": "e-1", "eventDateTimeUtc": at, "gift": g,
		"organization": Organization{ID: 1, Name: "o"}, "organizationUser": OrganizationUser{ID: 2, EmailAddress: "a@b"},
	}
	for _, v := range []any{g, g.GiftDesignations[0], env["organization"], env["organizationUser"]} {
		rv := reflect.ValueOf(v)
		for i := range rv.NumField() {
			if rv.Field(i).IsZero() {
				t.Errorf("%T.%s is not set in the test", v, rv.Type().Field(i).Name)
			}
		}
	}
	if len(env) != len(envelopeKeys)-1 { // all but the contact
		t.Errorf("the envelope has %d keys, the test sets %d", len(envelopeKeys), len(env))
	}
	body, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	fast, ok := parseGiftWebhook(body)
	if !ok {
		t.Fatalf("the fast path refused %s", body)
	}
	want, err := parseWebhookReflect(body)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, fast, timeEq); d != "" {
		t.Errorf("(-encoding/json +fast):\n%s", d)
	}
	if d := cmp.Diff(&g, fast.Gift, timeEq); d != "" {
		t.Errorf("gift (-sent +decoded):\n%s", d)
	}
}

// The object-map reader of custom fields agrees with decoding the map by
// encoding/json, and says no to what it does not read.
func TestCustomFieldsObject(t *testing.T) {
	t.Parallel()
	for in, fast := range map[string]bool{
		`{}`: true, `{"a":"x","b":2,"c":null,"d":[1,{"e":"\n"}],"a":"y"}`: true, ` {"a" : "x"} `: true,
		`{"a\n":"x"}`: false, `{"a":}`: false, `{"a":"x"} {}`: false, `{"a":"x",}`: false,
	} {
		got, ok := customFieldsObject([]byte(in))
		if ok != fast {
			t.Errorf("%s: got ok %t, want %t", in, ok, fast)
		}
		if !ok {
			continue
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(in), &m); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		want := CustomFields{}
		for k, v := range m {
			want[k] = jsonText(v)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s (-encoding/json +fast):\n%s", in, d)
		}
	}
	if got := jsonText(json.RawMessage(`"a\u00e9\n"`)); got != "aé\n" {
		t.Errorf("jsonText of an escaped string: got %q", got)
	}
	if got := jsonText(json.RawMessage(`"plain é"`)); got != "plain é" {
		t.Errorf("jsonText of a plain string: got %q", got)
	}
	if strings.Contains(jsonText(json.RawMessage(`{"a": 1}`)), " ") {
		t.Error("jsonText of an object is not compact")
	}
}
