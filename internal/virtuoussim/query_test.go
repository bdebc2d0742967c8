package virtuoussim

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// queryEnv has four gifts modified at known instants:
//
//	A 2024-06-01 09:00:00   B 2024-06-03 23:59:59.5
//	C 2024-06-05 00:00:01   D 2024-06-05 18:00:00 (the clock's "now")
func queryEnv(t *testing.T) (*env, map[string]int64) {
	clock := NewManualClock(time.Date(2024, 6, 1, 9, 0, 0, 0, time.UTC))
	e := newEnv(t, Options{Clock: clock})
	e.clock = clock
	ids := map[string]int64{}
	at := map[string]time.Time{
		"A": time.Date(2024, 6, 1, 9, 0, 0, 0, time.UTC),
		"B": time.Date(2024, 6, 3, 23, 59, 59, 500e6, time.UTC),
		"C": time.Date(2024, 6, 5, 0, 0, 1, 0, time.UTC),
		"D": time.Date(2024, 6, 5, 18, 0, 0, 0, time.UTC),
	}
	for _, n := range []string{"A", "B", "C", "D"} {
		clock.Set(at[n])
		g, err := e.org.CreateGiftDirect(DirectGift{FirstName: "Q", LastName: n, Email: strings.ToLower(n) + "@example.org",
			Amount: "10", GiftDate: "2024-05-0" + map[string]string{"A": "1", "B": "2", "C": "3", "D": "4"}[n],
			TransactionSource: "Query Test", TransactionID: "tx-" + n})
		if err != nil {
			t.Fatal(err)
		}
		ids[n] = g.ID
	}
	return e, ids
}

func names(t *testing.T, list []map[string]any) string {
	t.Helper()
	var out []string
	for _, g := range list {
		out = append(out, strings.TrimPrefix(g["transactionId"].(string), "tx-"))
	}
	slices.Sort(out)
	return strings.Join(out, "")
}

func TestQueryDateOperators(t *testing.T) {
	e, _ := queryEnv(t)
	between := func(p, lo, hi string) map[string]any {
		c := cond(p, "Between", lo)
		c["secondaryValue"] = hi
		return c
	}
	lm, lmt := "Last Modified Date", "Last Modified DateTime UTC"
	cases := []struct {
		c    map[string]any
		want string
	}{
		{cond(lm, "Is", "2024-06-05"), "CD"},
		{cond(lm, "Is", "2024-06-05T12:00:00"), "CD"}, // the time of day is ignored
		{cond(lm, "IsNot", "2024-06-05"), "AB"},
		{cond(lm, "OnOrAfter", "2024-06-03"), "BCD"},
		{cond(lm, "OnOrAfter", "2024-06-03T23:59:59.9"), "BCD"},
		{cond(lm, "GreaterThanOrEqual", "2024-06-03"), "BCD"},
		{cond(lm, "After", "2024-06-03"), "CD"},
		{cond(lm, "GreaterThan", "2024-06-03"), "CD"},
		{cond(lm, "Before", "2024-06-03"), "A"},
		{cond(lm, "LessThan", "2024-06-03"), "A"},
		{cond(lm, "OnOrBefore", "2024-06-03"), "AB"},
		{cond(lm, "LessThanOrEqual", "2024-06-03"), "AB"},
		{between(lm, "2024-06-02", "2024-06-04"), "B"},
		{between(lm, "2024-06-01", "2024-06-05"), "ABCD"},
		{cond(lm, "IsKnown", ""), "ABCD"},
		{cond(lm, "IsNotKnown", ""), ""},
		{cond(lm, "OnOrAfter", "6/3/2024"), "BCD"},
		{cond(lm, "OnOrAfter", "06/03/2024"), "BCD"},
		{cond(lm, "Is", "Today"), "CD"},
		{cond(lm, "OnOrBefore", "Yesterday"), "AB"},
		{cond(lm, "OnOrAfter", "2 Days Ago"), "BCD"},
		{cond(lm, "OnOrAfter", "30 Days Ago"), "ABCD"},
		{cond(lmt, "GreaterThan", "2024-06-05T00:00:00"), "CD"},
		{cond(lmt, "GreaterThan", "2024-06-05T12:00:00Z"), "D"},
		{cond(lmt, "OnOrAfter", "2024-06-05"), "CD"}, // no time: a date
		{cond(lmt, "LessThan", "2024-06-03T23:59:59.6"), "AB"},
		{cond(lmt, "Before", "2024-06-03T23:59:59.5"), "A"},
		{between(lmt, "2024-06-03T00:00:00", "2024-06-05T00:00:01"), "BC"},
		{cond("Create Date", "OnOrAfter", "2024-06-05"), "CD"},
		{cond("Create DateTime UTC", "OnOrBefore", "2024-06-01T09:00:00"), "A"},
		{cond("Gift Date", "OnOrAfter", "2024-05-03"), "CD"},
		{cond("Gift Date", "Is", "5/2/2024"), "B"},
	}
	for _, c := range cases {
		name := c.c["parameter"].(string) + " " + c.c["operator"].(string) + " " + c.c["value"].(string)
		t.Run(name, func(t *testing.T) {
			list, total := e.query("/api/Gift/Query/FullGift?take=100", groups([]map[string]any{c.c}))
			if got := names(t, list); got != c.want || total != len(c.want) {
				t.Errorf("got %q (total %d), want %q", got, total, c.want)
			}
		})
	}
}

func TestQueryGroupsPagingAndErrors(t *testing.T) {
	e, ids := queryEnv(t)

	// Groups are ORed, conditions within a group ANDed.
	list, total := e.query("/api/Gift/Query/FullGift?take=100", groups(
		[]map[string]any{cond("Gift Id", "Is", itoa(int(ids["A"])))},
		[]map[string]any{cond("Gift Id", "Is", itoa(int(ids["C"])))},
		[]map[string]any{cond("Gift Id", "Is", itoa(int(ids["D"]))), cond("Last Modified Date", "Before", "2024-06-02")},
	))
	if got := names(t, list); got != "AC" || total != 2 {
		t.Errorf("ORed ids: %q total %d", got, total)
	}
	list, _ = e.query("/api/Gift/Query/FullGift", groups([]map[string]any{
		{"parameter": "Gift Id", "operator": "Is", "values": []string{itoa(int(ids["B"])), itoa(int(ids["D"]))}},
	}))
	if got := names(t, list); got != "BD" {
		t.Errorf("values[]: %q", got)
	}
	list, _ = e.query("/api/Gift/Query/FullGift", groups([]map[string]any{
		cond("Transaction Id", "StartsWith", "TX-"), cond("Transaction Id", "EndsWith", "b")}))
	if got := names(t, list); got != "B" {
		t.Errorf("string operators: %q", got)
	}
	list, _ = e.query("/api/Gift/Query/FullGift", groups([]map[string]any{cond("Amount", "GreaterThanOrEqual", "10.00"), cond("Gift Type", "Is", "Cash")}))
	if len(list) != 4 {
		t.Errorf("amount/type: %d", len(list))
	}

	// Paging over a bigger set: default take is 10, total counts all.
	if _, err := e.org.BulkLoadGifts(25, BulkGifts{TransactionSource: "Page"}); err != nil {
		t.Fatal(err)
	}
	page := groups([]map[string]any{cond("Transaction Source", "Is", "Page")})
	list, total = e.query("/api/Gift/Query/FullGift", page)
	if len(list) != 10 || total != 25 {
		t.Errorf("default page: %d of %d", len(list), total)
	}
	var seen []float64
	for skip := 0; skip < 25; skip += 10 {
		l, _ := e.query("/api/Gift/Query/FullGift?skip="+itoa(skip)+"&take=10", page)
		for _, g := range l {
			seen = append(seen, g["id"].(float64))
		}
	}
	if len(seen) != 25 || !slices.IsSorted(seen) {
		t.Errorf("paged ids: %v", seen)
	}
	sorted := groups([]map[string]any{cond("Transaction Source", "Is", "Query Test")})
	sorted["sortBy"], sorted["descending"] = "Gift Date", true
	list, _ = e.query("/api/Gift/Query/FullGift", sorted)
	if len(list) != 4 || list[0]["transactionId"] != "tx-D" || list[3]["transactionId"] != "tx-A" {
		t.Errorf("sort by gift date desc: %v", list)
	}
	for _, sb := range []string{"giftDate", "GiftDate", "Id", "Gift Id", "Last Modified Date", "Create DateTime UTC"} {
		sorted["sortBy"] = sb
		if r := e.do("POST", "/api/Gift/Query/FullGift", sorted); r.status != 200 {
			t.Errorf("sortBy %q: %d %s", sb, r.status, r.body)
		}
	}

	// The abbreviated query.
	r := e.do("POST", "/api/Gift/Query?take=5", page)
	var abbr struct {
		List  []map[string]any `json:"list"`
		Total int              `json:"total"`
	}
	r.json(t, &abbr)
	if r.status != 200 || len(abbr.List) != 5 || abbr.Total != 25 || abbr.List[0]["giftUrl"] == nil || abbr.List[0]["transactionId"] != nil {
		t.Errorf("abbreviated: %d %s", r.status, r.body)
	}

	bad := []struct {
		path string
		body any
		want string
	}{
		{"/api/Gift/Query/FullGift?take=1001", page, "1000"},
		{"/api/Gift/Query/FullGift?take=x", page, "take"},
		{"/api/Gift/Query/FullGift", groups([]map[string]any{cond("Modified Since", "Is", "2024-06-01")}), "Modified Since"},
		{"/api/Gift/Query/FullGift", groups([]map[string]any{cond("Last Modified Date", "Is After", "2024-06-01")}), "Is After"},
		{"/api/Gift/Query/FullGift", groups([]map[string]any{cond("Gift Date", "Contains", "2024")}), "Contains"},
		{"/api/Gift/Query/FullGift", groups([]map[string]any{cond("Last Modified Date", "OnOrAfter", "June 1st")}), "June 1st"},
		{"/api/Gift/Query/FullGift", groups([]map[string]any{cond("Last Modified Date", "OnOrAfter", "")}), "value"},
		{"/api/Gift/Query/FullGift", map[string]any{"sortBy": "Colour"}, "Colour"},
		{"/api/Gift/Query/FullGift", "{", "invalid"},
	}
	for _, b := range bad {
		r := e.do("POST", b.path, b.body)
		if r.status != 400 || !isErrorBody(r.body) || !containsFold(string(r.body), b.want) {
			t.Errorf("%s %v: %d %s, want 400 naming %q", b.path, b.body, r.status, r.body, b.want)
		}
	}
}

func TestContactQueryAndOptions(t *testing.T) {
	e, _ := queryEnv(t)
	list, total := e.query("/api/Contact/Query/FullContact?take=50", groups([]map[string]any{cond("Email", "Is", "C@EXAMPLE.ORG")}))
	if total != 1 || list[0]["name"] != "Q C" {
		t.Errorf("by email: %d %v", total, list)
	}
	_, total = e.query("/api/Contact/Query/FullContact", groups([]map[string]any{cond("Last Modified Date", "OnOrAfter", "2024-06-03")}))
	if total != 3 {
		t.Errorf("contacts modified since 6/3: %d", total)
	}
	_, total = e.query("/api/Contact/Query", nil)
	if total != 4 {
		t.Errorf("all contacts: %d", total)
	}

	var opts struct {
		Options []struct {
			Parameter       string `json:"parameter"`
			Type            string `json:"type"`
			OperatorOptions []struct {
				Operator              string `json:"operator"`
				MultipleValuesAllowed bool   `json:"multipleValuesAllowed"`
				ValueRequired         *bool  `json:"valueRequired"`
			} `json:"operatorOptions"`
			ValueOptions []string `json:"valueOptions"`
		} `json:"options"`
		OperatorOptions []map[string]any `json:"operatorOptions"`
	}
	r := e.do("GET", "/api/Gift/QueryOptions", nil)
	r.json(t, &opts)
	found := false
	for _, o := range opts.Options {
		if o.Parameter == "Last Modified Date" {
			found = o.Type == "Date" && len(o.OperatorOptions) >= 10 && slices.Contains(o.ValueOptions, "Today") &&
				o.OperatorOptions[0].ValueRequired != nil
		}
	}
	if !found || len(opts.OperatorOptions) == 0 {
		t.Errorf("QueryOptions lacks a proper Last Modified Date: %s", r.body[:min(len(r.body), 400)])
	}
	r = e.do("GET", "/api/Contact/QueryOptions", nil)
	if r.status != 200 || !strings.Contains(string(r.body), `"Reference Source"`) {
		t.Errorf("contact options: %d", r.status)
	}
}
