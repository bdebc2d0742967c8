package virtuous

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func utc(y int, mo time.Month, d, h, mi, s, ns int) Time {
	return Time{time.Date(y, mo, d, h, mi, s, ns, time.UTC)}
}

func TestDecodeGiftFixture(t *testing.T) {
	t.Parallel()
	var got Gift
	if err := json.Unmarshal(fixture(t, "gift.json"), &got); err != nil {
		t.Fatal(err)
	}
	want := Gift{
		ID: 1, ContactID: 1, ContactName: "Test Contact", ContactURL: "/api/Contact/1",
		GiftType: "Cash", GiftTypeFormatted: "Cash", GiftDate: utc(2023, 12, 7, 0, 0, 0, 0), GiftDateFormatted: "12/7/2023",
		Amount: "10.5", CurrencyCode: "USD", ExchangeRate: "1.0", BaseCurrencyCode: "USD",
		CreateDateTimeUTC: utc(2023, 12, 7, 16, 10, 47, 17e6), CreatedByUser: "Test User",
		ModifiedDateTimeUTC: utc(2023, 12, 7, 16, 10, 47, 30e6), ModifiedByUser: "Test User",
		GiftDesignations: []Designation{}, CustomFields: CustomFields{},
		GiftURL: "/api/Gift/1", IsTaxDeductible: true,
	}
	if d := cmp.Diff(want, got, timeEq); d != "" {
		t.Errorf("gift mismatch (-want +got):\n%s", d)
	}
	if minor, err := got.Amount.Minor(got.CurrencyCode); err != nil || minor != 1050 {
		t.Errorf("got amount %d cents (%v), want 1050", minor, err)
	}
}

func TestDecodeContactFixture(t *testing.T) {
	t.Parallel()
	var got Contact
	if err := json.Unmarshal(fixture(t, "contact.json"), &got); err != nil {
		t.Fatal(err)
	}
	want := Contact{
		ID: 1, ContactType: "Organization", IsPrivate: true, Name: "Test Contact",
		Address: &Address{
			ID: 800, Address1: "123 test street", IsPrimary: true,
			CreateDateTimeUTC:   utc(2023, 11, 30, 14, 20, 56, 340e6),
			ModifiedDateTimeUTC: utc(2023, 11, 30, 14, 20, 56, 353333300),
		},
		ContactIndividuals: []Individual{{
			ID: 2, ContactID: 1, FirstName: "Test", LastName: "Individual", IsPrimary: true,
			ContactMethods: []ContactMethod{{ID: 2081, Type: "Work Email", Value: "email@test.com", IsPrimary: true}},
		}},
		ContactReferences: []Reference{}, ContactGiftsURL: "/api/Gift/ByContact/1",
		CreateDateTimeUTC:   utc(2023, 11, 30, 14, 20, 56, 277e6),
		ModifiedDateTimeUTC: utc(2023, 11, 30, 14, 20, 56, 353e6),
		CustomFields:        CustomFields{},
	}
	if d := cmp.Diff(want, got, timeEq); d != "" {
		t.Errorf("contact mismatch (-want +got):\n%s", d)
	}
	if got.PrimaryEmail() != "email@test.com" || got.PrimaryPhone() != "" {
		t.Errorf("got email %q phone %q, want email@test.com and none", got.PrimaryEmail(), got.PrimaryPhone())
	}
}

func TestDecodeQueryResponse(t *testing.T) {
	t.Parallel()
	body := `{"list":[` + string(fixture(t, "gift.json")) + `,{"id":2,"amount":"19.99","transactionSource":"S","transactionId":"pi_2"}],"total":1234}`
	var p Page[Gift]
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatal(err)
	}
	if p.Total != 1234 || len(p.List) != 2 || p.List[1].TransactionID != "pi_2" || p.List[1].Amount != "19.99" {
		t.Errorf("got %+v, want total 1234 and two gifts", p)
	}
}

func TestDecodeQueryOptionsFixture(t *testing.T) {
	t.Parallel()
	var got QueryOptions
	if err := json.Unmarshal(fixture(t, "query_options.json"), &got); err != nil {
		t.Fatal(err)
	}
	want := QueryOptions{Options: []QueryOption{{
		Parameter: "Last Modified Date", Type: "Date",
		OperatorOptions: []OperatorOption{{Operator: "OnOrAfter", ValueRequired: true}},
		ValueOptions:    []string{"Today", "Yesterday", "30 Days Ago", "…"},
	}}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("query options mismatch (-want +got):\n%s", d)
	}
}

func TestQueryBodyMatchesDoc(t *testing.T) {
	t.Parallel()
	q := Query{
		Groups: []Group{{Conditions: []Condition{
			ModifiedOnOrAfter(time.Date(2024, 6, 1, 23, 59, 0, 0, time.UTC)),
			{Parameter: "Transaction Source", Operator: "Is", Value: "PartnerX-Stripe"},
		}}},
		SortBy: "Gift Date",
	}
	got, err := json.Marshal(q)
	if err != nil {
		t.Fatal(err)
	}
	if d := jsonDiff(t, got, fixture(t, "query_request.json")); d != "" {
		t.Errorf("query body differs from the doc (-want +got):\n%s", d)
	}
}

func TestTimeLayouts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want time.Time
	}{
		{`"2023-12-07T16:10:47"`, time.Date(2023, 12, 7, 16, 10, 47, 0, time.UTC)},
		{`"2023-12-07T16:10:47.0"`, time.Date(2023, 12, 7, 16, 10, 47, 0, time.UTC)},
		{`"2023-12-07T16:10:47.03"`, time.Date(2023, 12, 7, 16, 10, 47, 30e6, time.UTC)},
		{`"2023-12-07T16:10:47.017"`, time.Date(2023, 12, 7, 16, 10, 47, 17e6, time.UTC)},
		{`"2023-12-07T16:10:47.0170"`, time.Date(2023, 12, 7, 16, 10, 47, 17e6, time.UTC)},
		{`"2023-12-07T16:10:47.01701"`, time.Date(2023, 12, 7, 16, 10, 47, 17010e3, time.UTC)},
		{`"2023-11-30T14:20:56.353333"`, time.Date(2023, 11, 30, 14, 20, 56, 353333e3, time.UTC)},
		{`"2023-11-30T14:20:56.3533333"`, time.Date(2023, 11, 30, 14, 20, 56, 353333300, time.UTC)},
		{`"2023-12-08T16:56:52Z"`, time.Date(2023, 12, 8, 16, 56, 52, 0, time.UTC)},
		{`"2023-12-08T16:56:52.6Z"`, time.Date(2023, 12, 8, 16, 56, 52, 600e6, time.UTC)},
		{`"2023-12-08T16:56:52.6126031Z"`, time.Date(2023, 12, 8, 16, 56, 52, 612603100, time.UTC)},
		{`"2023-12-08T11:56:52.61-05:00"`, time.Date(2023, 12, 8, 16, 56, 52, 610e6, time.UTC)},
		{`"2023-12-08T17:56:52+0100"`, time.Date(2023, 12, 8, 16, 56, 52, 0, time.UTC)},
		{`"2023-12-08 16:56:52"`, time.Date(2023, 12, 8, 16, 56, 52, 0, time.UTC)},
		{`"2023-12-07"`, time.Date(2023, 12, 7, 0, 0, 0, 0, time.UTC)},
		{`"12/7/2023"`, time.Date(2023, 12, 7, 0, 0, 0, 0, time.UTC)},
		{`null`, time.Time{}},
		{`""`, time.Time{}},
		{`"  "`, time.Time{}},
		{`"2023-12-08T16:56:52\u005a"`, time.Date(2023, 12, 8, 16, 56, 52, 0, time.UTC)}, // an escaped Z
		{`"\t2023-12-07 "`, time.Date(2023, 12, 7, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		var got Time
		if err := json.Unmarshal([]byte(tt.in), &got); err != nil {
			t.Errorf("%s: got error %v", tt.in, err)
			continue
		}
		if !got.Equal(tt.want) || got.IsZero() != tt.want.IsZero() {
			t.Errorf("%s: got %v, want %v", tt.in, got.Time, tt.want)
		}
	}
	for _, bad := range []string{`"yesterday"`, `"2023-13-45"`, `1701964247`, `true`, `{}`} {
		var got Time
		if err := json.Unmarshal([]byte(bad), &got); err == nil {
			t.Errorf("%s: got %v, want an error", bad, got.Time)
		}
	}
}

// TestParseTimeSkipsOnlyWhatCannotMatch: ParseTime skips the zoned layouts
// for a value without a zone; its answer must be the one trying every
// layout in order would give.
func TestParseTimeSkipsOnlyWhatCannotMatch(t *testing.T) {
	t.Parallel()
	every := func(s string) (time.Time, bool) {
		s = strings.TrimSpace(s)
		for _, layout := range timeLayouts {
			if t, err := time.Parse(layout, s); err == nil {
				return t, true
			}
		}
		return time.Time{}, false
	}
	for _, s := range []string{
		"2023-12-07T16:10:47", "2023-12-07T16:10:47.0170", "2023-12-08T16:56:52Z", "2023-12-08T16:56:52z",
		"2023-12-08T16:56:52.6126031Z", "2023-12-08T11:56:52.61-05:00", "2023-12-08T17:56:52+0100",
		"2023-12-08T17:56:52-0100", "2023-12-08 16:56:52", "2023-12-08 16:56:52+01:00", "2023-12-07",
		"12/7/2023", " 2023-12-07T16:10:47 ", "2023-12-07T16:10", "2023-12-07T16:10:47.", "2023-12-07X16:10:47",
		"20231207T161047", "2023-12-07T16:10:47 UTC", "yesterday", "",
	} {
		want, wantOK := every(s)
		got, err := ParseTime(s)
		if (err == nil) != wantOK || !got.Equal(want) || got.Location().String() != want.Location().String() {
			t.Errorf("ParseTime(%q) = %v, %v; trying every layout gives %v, %t", s, got, err, want, wantOK)
		}
	}
}

// TestParseLocalISO: what the fast read of "2006-01-02T15:04:05[.fff]"
// takes, time.Parse reads the same with that layout, and it takes the
// forms Virtuous writes.
func TestParseLocalISO(t *testing.T) {
	t.Parallel()
	const layout = "2006-01-02T15:04:05"
	var inputs []string
	for _, date := range []string{"2023-12-07", "2024-02-29", "2023-02-29", "2023-04-31", "2023-13-01", "2023-00-10",
		"2023-12-00", "0000-01-01", "9999-12-31", "2023-1-07", "+123-12-07", "2023/12/07"} {
		for _, clock := range []string{"16:10:47", "00:00:00", "23:59:59", "24:00:00", "12:60:00", "12:00:60", "7:10:47", "16:10", "16:1a:47"} {
			for _, frac := range []string{"", ".", ".0", ".5", ".017", ".6126031", ".123456789", ".1234567891234", ",5", ".5Z", ".x", "Z", " "} {
				inputs = append(inputs, date+"T"+clock+frac)
			}
		}
	}
	taken := 0
	for _, s := range append(inputs, "", "2023-12-07", "2023-12-07 16:10:47", "2023-12-07T16:10:47.０") {
		got, ok := parseLocalISO(s)
		if gotB, okB := parseLocalISO([]byte(s)); okB != ok || !gotB.Equal(got) {
			t.Errorf("%q: the string and []byte forms disagree", s)
		}
		if !ok {
			continue
		}
		taken++
		want, err := time.Parse(layout, s)
		if err != nil || got != want {
			t.Errorf("%q: got %v, time.Parse %v (%v)", s, got, want, err)
		}
	}
	for _, s := range []string{"2023-12-07T16:10:47", "2023-12-07T16:10:47.0170", "2024-02-29T00:00:00.6126031"} {
		if _, ok := parseLocalISO(s); !ok {
			t.Errorf("%q: not read by the fast path", s)
		}
	}
	if taken < 80 {
		t.Errorf("the fast path took %d of %d inputs, want many", taken, len(inputs))
	}
}

func TestTimeMarshal(t *testing.T) {
	t.Parallel()
	in := Time{time.Date(2023, 12, 8, 11, 56, 52, 612603100, time.FixedZone("EST", -5*3600))}
	b, err := json.Marshal(in)
	if err != nil || string(b) != `"2023-12-08T16:56:52.6126031Z"` {
		t.Errorf("got %s (%v), want RFC 3339 in UTC", b, err)
	}
	var back Time
	if err := json.Unmarshal(b, &back); err != nil || !back.Equal(in.Time) {
		t.Errorf("round trip: got %v (%v), want %v", back.Time, err, in.Time)
	}
	if b, _ := json.Marshal(Time{}); string(b) != "null" {
		t.Errorf("zero time: got %s, want null", b)
	}
}

// TestAmountsAreExact decodes amounts that a float64 would get wrong.
func TestAmountsAreExact(t *testing.T) {
	t.Parallel()
	tests := []struct {
		json     string
		currency string
		want     int64
	}{
		{`10.5`, "USD", 1050},
		{`"10.50"`, "USD", 1050},
		{`19.99`, "USD", 1999},
		{`"$1,000.00"`, "USD", -1}, // a grouping comma is not an amount
		{`0.29`, "USD", 29},
		{`1234567.89`, "USD", 123456789},
		{`"92233720368547.57"`, "USD", 9223372036854757},
		{`92233720368547.57`, "USD", 9223372036854757},
		{`1e2`, "USD", 10000},
		{`500`, "JPY", 500},
		{`"1.234"`, "KWD", 1234},
		{`"$10.50"`, "USD", 1050},
	}
	for _, tt := range tests {
		var g Gift
		if err := json.Unmarshal([]byte(`{"amount":`+tt.json+`,"currencyCode":"`+tt.currency+`"}`), &g); err != nil {
			t.Errorf("%s: got error %v", tt.json, err)
			continue
		}
		got, err := g.Amount.Minor(g.CurrencyCode)
		if tt.want < 0 {
			if err == nil {
				t.Errorf("%s: got %d, want an error", tt.json, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s %s: got %d (%v), want %d", tt.json, tt.currency, got, err, tt.want)
		}
	}
}

func TestCustomFields(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     CustomFields
	}{
		{"Null", `null`, nil},
		{"EmptyArray", `[]`, CustomFields{}},
		{"EmptyObject", `{}`, CustomFields{}},
		{"ObjectMap", `{"Receipt Status":"Pending","Count":3,"Flag":true,"Gone":null,"Obj":{"a":[1, 2]}}`,
			CustomFields{"Receipt Status": "Pending", "Count": "3", "Flag": "true", "Gone": "", "Obj": `{"a":[1,2]}`}},
		{"NameValueArray", `[{"name":"Receipt Status","value":"Pending"},{"name":"Amount","value":12.5}]`,
			CustomFields{"Receipt Status": "Pending", "Amount": "12.5"}},
		{"OtherNameKeys", `[{"displayName":"A","value":"1"},{"Name":"B","Value":"2"},{"fieldName":"C","value":null},{"key":"D","value":false}]`,
			CustomFields{"A": "1", "B": "2", "C": "", "D": "false"}},
		{"JunkItemsSkipped", `[{"value":"orphan"},"loose",42,null,{"name":"","value":"x"},{"name":"ok","value":"y"}]`,
			CustomFields{"ok": "y"}},
		{"StringShape", `"not fields"`, nil},
		{"NumberShape", `17`, nil},
	}
	for _, tt := range tests {
		var got CustomFields
		if err := json.Unmarshal([]byte(tt.in), &got); err != nil {
			t.Errorf("%s: got error %v", tt.name, err)
			continue
		}
		if d := cmp.Diff(tt.want, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, d)
		}
	}
	if b, _ := json.Marshal(CustomFields{"k": "v"}); string(b) != `{"k":"v"}` {
		t.Errorf("got %s, want an object map", b)
	}
}

func TestTags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want Tags
	}{
		{`[]`, nil},
		{`null`, nil},
		{`["Donor","Volunteer"]`, Tags{"Donor", "Volunteer"}},
		{`[{"id":1,"name":"Donor"},{"tag":"Major"},{"value":"Board"},{}]`, Tags{"Donor", "Major", "Board"}},
		{`"Donor; Volunteer;;"`, Tags{"Donor", "Volunteer"}},
		{`{"weird":1}`, nil},
	}
	for _, tt := range tests {
		var got Tags
		if err := json.Unmarshal([]byte(tt.in), &got); err != nil {
			t.Errorf("%s: got error %v", tt.in, err)
			continue
		}
		if d := cmp.Diff(tt.want, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", tt.in, d)
		}
	}
}

func TestReferenceIDs(t *testing.T) {
	t.Parallel()
	var c Contact
	in := `{"id":3,"contactReferences":[{"source":"Stripe","id":"cus_1"},{"source":"Legacy","id":12345},{"source":"X","id":null}]}`
	if err := json.Unmarshal([]byte(in), &c); err != nil {
		t.Fatal(err)
	}
	want := []Reference{{"Stripe", "cus_1"}, {"Legacy", "12345"}, {"X", ""}}
	if d := cmp.Diff(want, c.ContactReferences); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestPrimaryHelpers(t *testing.T) {
	t.Parallel()
	c := Contact{ContactIndividuals: []Individual{
		{ID: 1, FirstName: "Second", ContactMethods: []ContactMethod{
			{Type: "Home Email", Value: "second@example.org", IsPrimary: true},
			{Type: "Mobile Phone", Value: "555-0001", IsPrimary: true},
		}},
		{ID: 2, FirstName: "Main", IsPrimary: true, ContactMethods: []ContactMethod{
			{Type: "Work Email", Value: "work@example.org"},
			{Type: "Home Email", Value: "home@example.org", IsPrimary: true},
			{Type: "Other Email", Value: ""},
		}},
	}}
	if p := c.PrimaryIndividual(); p == nil || p.ID != 2 {
		t.Errorf("got primary individual %+v, want 2", p)
	}
	if got := c.PrimaryEmail(); got != "home@example.org" {
		t.Errorf("got email %q, want the primary individual's primary one", got)
	}
	if got := c.PrimaryPhone(); got != "555-0001" {
		t.Errorf("got phone %q, want the other individual's, the primary having none", got)
	}
	c.ContactIndividuals[1].IsPrimary = false
	if p := c.PrimaryIndividual(); p == nil || p.ID != 1 {
		t.Errorf("no primary: got %+v, want the first", p)
	}
	if p := (&Contact{}).PrimaryIndividual(); p != nil || (&Contact{}).PrimaryEmail() != "" {
		t.Errorf("empty contact: got %+v, want nil", p)
	}
	first := Contact{ContactIndividuals: []Individual{{ContactMethods: []ContactMethod{
		{Type: "Work Email", Value: "a@example.org"}, {Type: "Home Email", Value: "b@example.org"},
	}}}}
	if got := first.PrimaryEmail(); got != "a@example.org" {
		t.Errorf("none primary: got %q, want the first", got)
	}
}
