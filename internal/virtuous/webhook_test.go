package virtuous

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseWebhookGiftCreate(t *testing.T) {
	t.Parallel()
	body := fixture(t, "webhook_gift_create.json")
	e, err := ParseWebhook(body)
	if err != nil {
		t.Fatal(err)
	}
	if e.Name != "GiftCreate" || e.Kind() != "gift" || e.Contact != nil || e.Gift == nil {
		t.Fatalf("got %s (%s) gift=%v contact=%v, want a GiftCreate with its gift", e.Name, e.Kind(), e.Gift != nil, e.Contact != nil)
	}
	g := e.Gift
	wantDesig := []Designation{{
		ID: 9001, ProjectID: 44, Project: "General Fund", ProjectCode: "GEN", ExternalAccountingCode: "4000",
		ProjectType: "Fund", ProjectURL: "/api/Project/44", AmountDesignated: "500.0", Display: "General Fund: $500.00",
	}}
	if d := cmp.Diff(wantDesig, g.GiftDesignations); d != "" {
		t.Errorf("designations (-want +got):\n%s", d)
	}
	if d := cmp.Diff(CustomFields{"Receipt Status": "Pending", "Stripe Fee": "14.8"}, g.CustomFields); d != "" {
		t.Errorf("custom fields as an object map (-want +got):\n%s", d)
	}
	if g.ID != 5123 || g.TransactionSource != "Backstop-Stripe" || g.TransactionID != "pi_3NxLovelace" ||
		g.ContactPassthroughID != nil || g.ContactIndividualID == nil || *g.ContactIndividualID != 1701 ||
		g.SegmentCode != "SPR24" || g.GiftDateFormatted != "6/1/2024" {
		t.Errorf("got gift %+v, want the fixture's fields", g)
	}
	if minor, _ := g.Amount.Minor("USD"); minor != 50000 {
		t.Errorf("got amount %d cents, want 50000", minor)
	}
	if want := time.Date(2024, 6, 2, 5, 0, 12, 612603100, time.UTC); !g.ModifiedDateTimeUTC.Equal(want) {
		t.Errorf("got modified %v, want %v", g.ModifiedDateTimeUTC.Time, want)
	}
	if string(e.Raw) != string(body) {
		t.Error("Raw is not the body as delivered")
	}
	if want := "GiftCreate:5123:2024-06-02T05:00:12.6126031Z"; e.DedupeKey() != want {
		t.Errorf("got key %q, want %q", e.DedupeKey(), want)
	}
}

func TestParseWebhookEnvelope(t *testing.T) {
	t.Parallel()
	e, err := ParseWebhook(fixture(t, "webhook_gift_update_envelope.json"))
	if err != nil {
		t.Fatal(err)
	}
	if e.Name != "GiftUpdate" || e.EventID != "7d4f7a0e-3c1b-4b61-9d7e-0f6a3e2b8c11" ||
		!e.EventDateTimeUTC.Equal(time.Date(2024, 6, 3, 10, 11, 12, 123e6, time.UTC)) {
		t.Errorf("got %s id %q at %v, want the envelope's fields", e.Name, e.EventID, e.EventDateTimeUTC.Time)
	}
	if d := cmp.Diff(&Organization{ID: 310, Name: "Hope Mission (Sandbox)"}, e.Organization); d != "" {
		t.Errorf("organization (-want +got):\n%s", d)
	}
	if d := cmp.Diff(&OrganizationUser{ID: 77, EmailAddress: "ops@hopemission.org"}, e.OrganizationUser); d != "" {
		t.Errorf("organization user (-want +got):\n%s", d)
	}
	if e.Gift == nil || e.Gift.ID != 5123 {
		t.Errorf("got gift %+v, want 5123", e.Gift)
	}
}

func TestParseWebhookContactCreate(t *testing.T) {
	t.Parallel()
	e, err := ParseWebhook(fixture(t, "webhook_contact_create.json"))
	if err != nil {
		t.Fatal(err)
	}
	if e.Name != "ContactCreate" || e.Kind() != "contact" || e.Contact == nil || e.Contact.ID != 1 || e.Gift != nil {
		t.Fatalf("got %s (%s) contact %+v, want ContactCreate of contact 1", e.Name, e.Kind(), e.Contact)
	}
	if want := "ContactCreate:1:2023-11-30T14:20:56.353Z"; e.DedupeKey() != want {
		t.Errorf("got key %q, want %q", e.DedupeKey(), want)
	}
}

func TestParseWebhookNames(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, wantName, wantKind string }{
		{"GiftCreate", "GiftCreate", "gift"},
		{"giftcreate", "GiftCreate", "gift"},
		{"GIFTUPDATE", "GiftUpdate", "gift"},
		{"gift_delete", "GiftDelete", "gift"},
		{"contact-update", "ContactUpdate", "contact"},
		{" contactCreate ", "ContactCreate", "contact"},
		{"contactnotecreate", "ContactNoteCreate", ""},
		{"projectUpdate", "ProjectUpdate", ""},
		{"formsubmission", "FormSubmission", ""},
		{"gift.created", "gift.created", ""},
		{"SomethingNew", "SomethingNew", ""},
	}
	for _, tt := range tests {
		body := `{"event":"` + tt.in + `","gift":{"id":1},"contact":{"id":2}}`
		e, err := ParseWebhook([]byte(body))
		if err != nil {
			t.Errorf("%q: got error %v", tt.in, err)
			continue
		}
		if e.Name != tt.wantName || e.Kind() != tt.wantKind {
			t.Errorf("%q: got %q kind %q, want %q kind %q", tt.in, e.Name, e.Kind(), tt.wantName, tt.wantKind)
		}
	}
}

func TestParseWebhookErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, body, wantErr string }{
		{"Empty", ``, "webhook body"},
		{"NotJSON", `event=GiftCreate`, "webhook body"},
		{"Truncated", `{"event":"GiftCreate","gift":{"id":1`, "webhook body"},
		{"Array", `[{"event":"GiftCreate"}]`, "webhook body"},
		{"Null", `null`, "no event name"},
		{"NoEvent", `{"gift":{"id":1}}`, "no event name"},
		{"BlankEvent", `{"event":"  ","gift":{"id":1}}`, "no event name"},
		{"EventNotString", `{"event":5,"gift":{"id":1}}`, "webhook body"},
		{"GiftMissing", `{"event":"GiftCreate"}`, "without a gift"},
		{"GiftNull", `{"event":"GiftDelete","gift":null}`, "without a gift"},
		{"GiftNoID", `{"event":"GiftUpdate","gift":{"amount":1}}`, "without a gift"},
		{"GiftWrongObject", `{"event":"GiftCreate","contact":{"id":1}}`, "without a gift"},
		{"ContactMissing", `{"event":"ContactUpdate"}`, "without a contact"},
		{"GiftMalformed", `{"event":"GiftCreate","gift":{"id":"x"}}`, "webhook gift"},
		{"GiftBadTime", `{"event":"GiftCreate","gift":{"id":1,"modifiedDateTimeUtc":"soon"}}`, "webhook gift"},
		{"GiftNotObject", `{"event":"GiftCreate","gift":[1]}`, "webhook gift"},
	}
	for _, tt := range tests {
		_, err := ParseWebhook([]byte(tt.body))
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: got %v, want an error containing %q", tt.name, err, tt.wantErr)
		}
	}
}

func TestDedupeKey(t *testing.T) {
	t.Parallel()
	key := func(body string) string {
		t.Helper()
		e, err := ParseWebhook([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		return e.DedupeKey()
	}
	a := key(`{"event":"GiftUpdate","gift":{"id":7,"modifiedDateTimeUtc":"2024-06-01T10:00:00.5"}}`)
	// A redelivery: same object, new envelope, zone spelled differently.
	b := key(`{"eventId":"e2","event":"giftupdate","gift":{"modifiedDateTimeUtc":"2024-06-01T10:00:00.500Z","id":7,"notes":"x"}}`)
	if a != b {
		t.Errorf("redelivery: got %q and %q, want equal keys", a, b)
	}
	newer := key(`{"event":"GiftUpdate","gift":{"id":7,"modifiedDateTimeUtc":"2024-06-01T10:00:01"}}`)
	other := key(`{"event":"GiftUpdate","gift":{"id":8,"modifiedDateTimeUtc":"2024-06-01T10:00:00.5"}}`)
	create := key(`{"event":"GiftCreate","gift":{"id":7,"modifiedDateTimeUtc":"2024-06-01T10:00:00.5"}}`)
	for _, k := range []string{newer, other, create} {
		if k == a {
			t.Errorf("got key %q for a different event, want it distinct", k)
		}
	}
	p1 := key(`{"event":"ProjectCreate","eventId":"p-1","project":{"id":3}}`)
	p2 := key(`{"event":"ProjectCreate","eventId":"p-2","project":{"id":3}}`)
	if p1 == p2 || p1 != "ProjectCreate:event:p-1" {
		t.Errorf("got %q and %q, want keys from the event ids", p1, p2)
	}
	h1 := key(`{"event":"FormSubmission","form":{"a":1}}`)
	h2 := key(`{"event":"FormSubmission","form":{"a":2}}`)
	if h1 == h2 || h1 != key(`{"event":"FormSubmission","form":{"a":1}}`) {
		t.Errorf("got %q and %q, want body-hash keys, stable per body", h1, h2)
	}
}

func TestVerifySignature(t *testing.T) {
	t.Parallel()
	secret, body := "whsec_abc123", fixture(t, "webhook_gift_create.json")
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	sum := m.Sum(nil)
	tests := []struct {
		name string
		sig  string
		want bool
	}{
		{"Sign", Sign(secret, body), true},
		{"Base64", base64.StdEncoding.EncodeToString(sum), true},
		{"Base64Unpadded", base64.RawStdEncoding.EncodeToString(sum), true},
		{"Base64URL", base64.URLEncoding.EncodeToString(sum), true},
		{"Base64RawURL", base64.RawURLEncoding.EncodeToString(sum), true},
		{"HexLower", hex.EncodeToString(sum), true},
		{"HexUpper", strings.ToUpper(hex.EncodeToString(sum)), true},
		{"PrefixedHex", "sha256=" + hex.EncodeToString(sum), true},
		{"PrefixedBase64", "SHA256=" + base64.StdEncoding.EncodeToString(sum), true},
		{"Spaces", "  " + base64.StdEncoding.EncodeToString(sum) + "\n", true},
		{"Empty", "", false},
		{"PrefixOnly", "sha256=", false},
		{"Garbage", "not a signature", false},
		{"Truncated", hex.EncodeToString(sum)[:62], false},
		{"OtherSecret", Sign("whsec_other", body), false},
		{"OtherBody", Sign(secret, append([]byte(" "), body...)), false},
		{"SHA1Length", hex.EncodeToString(sum[:20]), false},
	}
	k := NewKey(secret)
	for _, tt := range tests {
		if got := VerifySignature(secret, body, tt.sig); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
		for range 2 { // a fresh HMAC, then a reused one
			if got := k.Verify(body, tt.sig); got != tt.want {
				t.Errorf("%s: Key: got %v, want %v", tt.name, got, tt.want)
			}
		}
	}
	if NewKey("").Verify(body, Sign("", body)) {
		t.Error("empty secret: Key verified, want refused")
	}
	if VerifySignature("", body, Sign("", body)) {
		t.Error("empty secret: got verified, want refused")
	}
	if Sign(secret, body) != base64.StdEncoding.EncodeToString(sum) {
		t.Error("Sign is not Base64(HMAC-SHA256(secret, body))")
	}
}

func FuzzParseWebhook(f *testing.F) {
	// Small seeds on purpose: the fuzzer minimises every new interesting
	// input for up to a minute, and the 2 KB fixtures (parsed by the tests
	// above) stall a short run in minimisation.
	for _, s := range []string{
		`{"event":"GiftCreate","gift":{"id":5,"transactionId":"pi_1","amount":10.5,"giftDate":"2024-06-01T00:00:00",` +
			`"modifiedDateTimeUtc":"2024-06-02T05:00:12.6126031Z","giftDesignations":[{"projectCode":"GEN","amountDesignated":"10.50"}],` +
			`"customFields":{"Receipt Status":"Pending"},"contactIndividualId":null}}`,
		`{"eventId":"e1","eventDateTimeUtc":"2024-06-03T10:11:12.123Z","event":"GiftUpdate","organization":{"id":1,"name":"O"},` +
			`"organizationUser":{"id":2,"emailAddress":"a@b.c"},"gift":{"id":5,"customFields":[{"name":"k","value":1}]}}`,
		`{"event":"ContactCreate","contact":{"id":2,"address":{"id":8,"createDateTimeUtc":"2023-11-30T14:20:56.34"},` +
			`"contactIndividuals":[{"id":3,"contactMethods":[{"type":"Work Email","value":"e@x.org","isPrimary":true}]}],` +
			`"tags":"a;b","contactReferences":[{"source":"S","id":1.5}]}}`,
		`{"event":"GiftCreate","x":[1,"\u0041",{"a":null}],"gift":{"id":5,"Notes":"n","amount":"$1","giftDesignations":[]}}`,
		`{"event":"GiftDelete","gift":{"id":1}}`, `{"event":"x"}`, `null`, `{}`, `[]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := ParseWebhook(body)
		if err != nil {
			return
		}
		if e.Name == "" {
			t.Fatal("parsed an event without a name")
		}
		switch e.Kind() {
		case "gift":
			if e.Gift == nil || e.Gift.ID == 0 {
				t.Fatal("gift event without a gift id")
			}
		case "contact":
			if e.Contact == nil || e.Contact.ID == 0 {
				t.Fatal("contact event without a contact id")
			}
		}
		again, err := ParseWebhook(e.Raw)
		if err != nil || again.DedupeKey() != e.DedupeKey() {
			t.Fatalf("re-parsing Raw: got %v key %q, want key %q", err, again.DedupeKey(), e.DedupeKey())
		}
		// What the fast path accepts, encoding/json must decode the same.
		if fast, ok := parseGiftWebhook(body); ok {
			slow, err := parseWebhookReflect(body)
			if err != nil {
				t.Fatalf("the fast path parsed it, encoding/json: %v", err)
			}
			if d := cmp.Diff(slow, fast, timeEq); d != "" {
				t.Fatalf("the fast path and encoding/json differ (-encoding/json +fast):\n%s", d)
			}
		}
		// The one-pass decode must agree with decoding object by object
		// (except where a key repeats: see ParseWebhook).
		if repeatsKey(body) {
			return
		}
		slow, err := parseWebhookSlowly(body)
		if err != nil {
			t.Fatalf("one pass parsed it, object by object: %v", err)
		}
		onePass, _ := parseWebhookReflect(body)
		if d := cmp.Diff(slow, onePass, timeEq); d != "" {
			t.Fatalf("one pass and object by object differ (-slow +fast):\n%s", d)
		}
	})
}

// repeatsKey reports whether any object in the JSON document b has a key
// twice.
func repeatsKey(b []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(b))
	type frame struct {
		object bool
		keys   map[string]bool
		key    bool // the next token in an object is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			if len(stack) > 0 && stack[len(stack)-1].object {
				stack[len(stack)-1].key = true
			}
			continue
		}
		if top != nil && top.object && top.key {
			k := tok.(string)
			if top.keys[k] {
				return true
			}
			top.keys[k], top.key = true, false
			continue
		}
		if d, ok := tok.(json.Delim); ok {
			stack = append(stack, &frame{object: d == '{', keys: map[string]bool{}, key: d == '{'})
			continue
		}
		if top != nil && top.object {
			top.key = true
		}
	}
}

func TestRepeatsKey(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]bool{
		`{"a":1,"b":{"a":2},"c":[{"a":1},{"a":2}]}`: false,
		`{"a":1,"a":2}`:                  true,
		`{"a":{"x":1,"y":[1,{}],"x":2}}`: true,
		`[{"a":1},{"a":1,"b":2,"a":3}]`:  true,
		`"x"`:                            false,
	} {
		if got := repeatsKey([]byte(in)); got != want {
			t.Errorf("repeatsKey(%s) = %t, want %t", in, got, want)
		}
	}
}

// BenchmarkParseWebhook: one GiftCreate as the load generator sends it.
func BenchmarkParseWebhook(b *testing.B) {
	body := []byte(`{"event":"GiftCreate","gift":{"id":12345,"transactionSource":"Load","transactionId":"load-12345","contactId":102345,` +
		`"contactName":"Load Donor 2345","giftType":"Credit","giftDate":"2026-11-01T00:00:00","giftDateFormatted":"11/1/2026",` +
		`"amount":350.45,"currencyCode":"USD","exchangeRate":1.0,"createDateTimeUtc":"2026-11-01T03:25:45.000","modifiedDateTimeUtc":"2026-11-01T03:25:45.000",` +
		`"giftDesignations":[],"customFields":{"Receipt Status":"Pending"},"giftUrl":"/api/Gift/12345"}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseWebhook(body); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzVerifySignature(f *testing.F) {
	f.Add("whsec_abc", []byte(`{"event":"GiftCreate"}`), "sha256=00")
	f.Add("", []byte{}, "")
	f.Add("k", []byte("body"), "====")
	f.Fuzz(func(t *testing.T, secret string, body []byte, sig string) {
		k := NewKey(secret)
		if VerifySignature(secret, body, sig) != k.Verify(body, sig) {
			t.Fatal("VerifySignature and Key.Verify disagree")
		}
		for range 2 { // a fresh HMAC, then a reused one
			if k.Sign(body) != Sign(secret, body) {
				t.Fatal("Sign and Key.Sign disagree")
			}
		}
		if secret != "" && !VerifySignature(secret, body, Sign(secret, body)) {
			t.Fatal("a body's own signature does not verify")
		}
	})
}
