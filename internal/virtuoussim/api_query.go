package virtuoussim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"backstop/internal/money"
)

// The Query API: POST /api/Gift/Query[/FullGift] and
// POST /api/Contact/Query[/FullContact]. skip and take come from the query
// string (take defaults to 10, more than 1000 is refused); the body holds
// groups of conditions, ORed between groups and ANDed within one, and a
// sortBy. Parameters and operators are the display names QueryOptions
// lists; unknown ones are refused with 400 naming them, as a strict server
// would, so that a client using invented names finds out.

type paramKind int

const (
	kindInt paramKind = iota
	kindDecimal
	kindString
	kindDate     // compared on the UTC date: the time of day is ignored
	kindDateTime // compared at full precision when the value has a time
	kindList
)

var kindNames = map[paramKind]string{kindInt: "Int", kindDecimal: "Decimal", kindString: "String",
	kindDate: "Date", kindDateTime: "Date", kindList: "List"}

// operatorsFor lists the operators valid for each kind, in QueryOptions
// order.
var operatorsFor = map[paramKind][]string{
	kindInt:      {"Is", "IsNot", "LessThan", "LessThanOrEqual", "GreaterThan", "GreaterThanOrEqual", "Between", "IsKnown", "IsNotKnown"},
	kindDecimal:  {"Is", "IsNot", "LessThan", "LessThanOrEqual", "GreaterThan", "GreaterThanOrEqual", "Between", "IsKnown", "IsNotKnown"},
	kindString:   {"Is", "IsNot", "IsKnown", "IsNotKnown", "Contains", "StartsWith", "EndsWith"},
	kindDate:     {"Is", "IsNot", "LessThan", "LessThanOrEqual", "Before", "OnOrBefore", "GreaterThan", "GreaterThanOrEqual", "After", "OnOrAfter", "Between", "IsKnown", "IsNotKnown"},
	kindDateTime: {"Is", "IsNot", "LessThan", "LessThanOrEqual", "Before", "OnOrBefore", "GreaterThan", "GreaterThanOrEqual", "After", "OnOrAfter", "Between", "IsKnown", "IsNotKnown"},
	kindList:     {"Is", "IsNot"},
}

// allOperators is the top-level operatorOptions of the real QueryOptions
// response: an operator outside it is unknown; one inside it but not valid
// for the parameter's type is refused differently.
var allOperators = []string{"Is", "IsNot", "IsKnown", "IsNotKnown", "LessThan", "LessThanOrEqual", "GreaterThan",
	"GreaterThanOrEqual", "Contains", "StartsWith", "EndsWith", "IsTrue", "IsFalse", "IsSet", "IsNotSet", "In", "NotIn",
	"Between", "Before", "After", "IsAnyOf", "IsNoneOf", "Matches", "OnOrBefore", "OnOrAfter"}

var multiOps = map[string]bool{"In": true, "NotIn": true, "IsAnyOf": true, "IsNoneOf": true}
var noValueOps = map[string]bool{"IsKnown": true, "IsNotKnown": true, "IsTrue": true, "IsFalse": true, "IsSet": true, "IsNotSet": true}

var relativeDates = []string{"180 Days Ago", "270 Days Ago", "30 Days Ago", "60 Days Ago", "90 Days Ago", "Last Sunday",
	"One week from now", "One Year Ago", "Start Of This Month", "This Calendar Year", "Today", "Tomorrow", "Two Years Ago", "Yesterday"}

// field is one queryable parameter of records of type T.
type field[T any] struct {
	name string
	kind paramKind
	num  func(*T) (int64, bool)      // kindInt; kindDecimal in 1/10000 units
	str  func(*T) string             // kindString/kindList with one value
	strs func(*T, []string) []string // kindString/kindList: appends the values
	day  func(*T) (int64, bool)      // kindDate: epoch day
	ts   func(*T) (time.Time, bool)  // kindDateTime
}

type queryCond struct {
	Parameter      string       `json:"parameter"`
	Operator       string       `json:"operator"`
	Value          flexString   `json:"value"`
	SecondaryValue flexString   `json:"secondaryValue"`
	Values         []flexString `json:"values"`
}

type queryBody struct {
	Groups []struct {
		Conditions []queryCond `json:"conditions"`
	} `json:"groups"`
	SortBy     flexString `json:"sortBy"`
	Descending flexBool   `json:"descending"`
}

// queryError is a refused query: 400 with the message.
type queryError struct{ msg string }

func (e *queryError) Error() string { return e.msg }

func qerr(format string, a ...any) *queryError { return &queryError{fmt.Sprintf(format, a...)} }

// decimalScale is the fixed scale amounts are compared at, so gifts in
// currencies with 0, 2 or 3 minor digits compare exactly.
const decimalScale = 4

func toScale(minor int64, currency string) int64 {
	for d := money.Digits(currency); d < decimalScale; d++ {
		minor *= 10
	}
	return minor
}

// dateValue is a parsed date condition value.
type dateValue struct {
	t       time.Time
	day     int64
	hasTime bool
}

// parseDateValue reads YYYY-MM-DD, n/j/Y, timestamps and the relative
// values QueryOptions offers, relative to the simulator clock's UTC date.
func parseDateValue(s string, now time.Time) (dateValue, bool) {
	s = strings.TrimSpace(s)
	today := now.UTC().Truncate(24 * time.Hour)
	rel := func(t time.Time) (dateValue, bool) { return dateValue{t: t, day: epochDay(t)}, true }
	switch strings.ToLower(s) {
	case "today":
		return rel(today)
	case "yesterday":
		return rel(today.AddDate(0, 0, -1))
	case "tomorrow":
		return rel(today.AddDate(0, 0, 1))
	case "one week from now":
		return rel(today.AddDate(0, 0, 7))
	case "one year ago":
		return rel(today.AddDate(-1, 0, 0))
	case "two years ago":
		return rel(today.AddDate(-2, 0, 0))
	case "start of this month":
		return rel(today.AddDate(0, 0, 1-today.Day()))
	case "this calendar year":
		return rel(time.Date(today.Year(), 1, 1, 0, 0, 0, 0, time.UTC))
	case "last sunday":
		back := int(today.Weekday())
		if back == 0 {
			back = 7
		}
		return rel(today.AddDate(0, 0, -back))
	}
	if f := strings.Fields(strings.ToLower(s)); len(f) == 3 && (f[1] == "days" || f[1] == "day") {
		if n, err := strconv.Atoi(f[0]); err == nil {
			switch f[2] {
			case "ago":
				return rel(today.AddDate(0, 0, -n))
			}
		}
	}
	if f := strings.Fields(strings.ToLower(s)); len(f) == 4 && f[1] == "days" && f[2] == "from" && f[3] == "now" {
		if n, err := strconv.Atoi(f[0]); err == nil {
			return rel(today.AddDate(0, 0, n))
		}
	}
	t, hasTime, ok := parseDateTime(s)
	if !ok {
		return dateValue{}, false
	}
	return dateValue{t: t.UTC(), day: epochDay(t.UTC()), hasTime: hasTime}, true
}

// compile turns the body's groups into one predicate, checking every name
// and value on the way.
func compile[T any](fields []field[T], body *queryBody, now time.Time) (func(*T) bool, error) {
	var groups [][]func(*T) bool
	for _, g := range body.Groups {
		var conds []func(*T) bool
		for _, c := range g.Conditions {
			p, err := compileCond(fields, c, now)
			if err != nil {
				return nil, err
			}
			conds = append(conds, p)
		}
		if len(conds) > 0 {
			groups = append(groups, conds)
		}
	}
	switch {
	case len(groups) == 0:
		return func(*T) bool { return true }, nil
	case len(groups) == 1 && len(groups[0]) == 1:
		return groups[0][0], nil
	}
	return func(x *T) bool {
		for _, g := range groups {
			ok := true
			for _, p := range g {
				if !p(x) {
					ok = false
					break
				}
			}
			if ok {
				return true
			}
		}
		return false
	}, nil
}

func normName(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), " ")) }

func compileCond[T any](fields []field[T], c queryCond, now time.Time) (func(*T) bool, error) {
	var f *field[T]
	for i := range fields {
		if normName(fields[i].name) == normName(c.Parameter) {
			f = &fields[i]
			break
		}
	}
	if f == nil {
		return nil, qerr("'%s' is not a valid query parameter.", c.Parameter)
	}
	op := ""
	for _, o := range allOperators {
		if strings.EqualFold(o, strings.TrimSpace(c.Operator)) {
			op = o
		}
	}
	if op == "" {
		return nil, qerr("'%s' is not a valid operator.", c.Operator)
	}
	if !slices.Contains(operatorsFor[f.kind], op) {
		return nil, qerr("Operator '%s' is not valid for parameter '%s'.", op, f.name)
	}
	vals := []string{}
	if s := strings.TrimSpace(string(c.Value)); s != "" {
		vals = append(vals, s)
	}
	for _, v := range c.Values {
		if s := strings.TrimSpace(string(v)); s != "" {
			vals = append(vals, s)
		}
	}
	if !noValueOps[op] && len(vals) == 0 {
		return nil, qerr("A value is required for operator '%s' on parameter '%s'.", op, f.name)
	}
	second := strings.TrimSpace(string(c.SecondaryValue))
	if op == "Between" && second == "" {
		return nil, qerr("Between needs a secondaryValue for parameter '%s'.", f.name)
	}
	switch f.kind {
	case kindInt, kindDecimal:
		return compileNum(f, op, vals, second)
	case kindString, kindList:
		return compileStr(f, op, vals), nil
	default:
		return compileDate(f, op, vals, second, now)
	}
}

func compileNum[T any](f *field[T], op string, vals []string, second string) (func(*T) bool, error) {
	parse := func(s string) (int64, error) {
		if f.kind == kindInt {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return 0, qerr("'%s' is not a valid value for parameter '%s'.", s, f.name)
			}
			return n, nil
		}
		n, err := parseAmount(money.Decimal(s), "CLF") // a currency with 4 minor digits
		if err != nil {
			return 0, qerr("'%s' is not a valid value for parameter '%s'.", s, f.name)
		}
		return n, nil
	}
	nums := make([]int64, 0, len(vals))
	for _, v := range vals {
		n, err := parse(v)
		if err != nil {
			return nil, err
		}
		nums = append(nums, n)
	}
	get := f.num
	switch op {
	case "IsKnown":
		return func(x *T) bool { _, ok := get(x); return ok }, nil
	case "IsNotKnown":
		return func(x *T) bool { _, ok := get(x); return !ok }, nil
	case "Is":
		if len(nums) == 1 {
			v := nums[0]
			return func(x *T) bool { n, ok := get(x); return ok && n == v }, nil
		}
		return func(x *T) bool { n, ok := get(x); return ok && slices.Contains(nums, n) }, nil
	case "IsNot":
		return func(x *T) bool { n, ok := get(x); return !ok || !slices.Contains(nums, n) }, nil
	case "Between":
		hi, err := parse(second)
		if err != nil {
			return nil, err
		}
		lo := nums[0]
		return func(x *T) bool { n, ok := get(x); return ok && n >= lo && n <= hi }, nil
	}
	v := nums[0]
	cmp := map[string]func(n int64) bool{
		"LessThan": func(n int64) bool { return n < v }, "LessThanOrEqual": func(n int64) bool { return n <= v },
		"GreaterThan": func(n int64) bool { return n > v }, "GreaterThanOrEqual": func(n int64) bool { return n >= v },
	}[op]
	return func(x *T) bool { n, ok := get(x); return ok && cmp(n) }, nil
}

func compileStr[T any](f *field[T], op string, vals []string) func(*T) bool {
	// List values (gift types) are compared by their canonical code, so
	// "Electronic Funds Transfer" finds gifts stored as EFT.
	canon := func(s string) string {
		s = strings.TrimSpace(s)
		if f.kind == kindList {
			if gt, ok := giftTypes[strings.ToLower(s)]; ok {
				return gt[0]
			}
		}
		return s
	}
	want := make([]string, len(vals))
	for i, v := range vals {
		want[i] = canon(v)
	}
	var pred func(s string) bool
	switch op {
	case "IsKnown", "IsNotKnown":
		pred = func(s string) bool { return s != "" }
	case "Is", "IsNot":
		pred = func(s string) bool {
			s = canon(s)
			for _, w := range want {
				if strings.EqualFold(s, w) {
					return true
				}
			}
			return false
		}
	case "Contains":
		w := strings.ToLower(want[0])
		pred = func(s string) bool { return strings.Contains(strings.ToLower(s), w) }
	case "StartsWith":
		w := want[0]
		pred = func(s string) bool { return len(s) >= len(w) && strings.EqualFold(s[:len(w)], w) }
	default: // EndsWith
		w := want[0]
		pred = func(s string) bool { return len(s) >= len(w) && strings.EqualFold(s[len(s)-len(w):], w) }
	}
	// Case-insensitive, as SQL Server's default collation is. A multi-valued
	// field (a contact's references, a gift's projects) matches when any of
	// its values does.
	var anyOf func(x *T) bool
	if f.str != nil {
		get := f.str
		anyOf = func(x *T) bool { return pred(get(x)) }
	} else {
		get := f.strs
		anyOf = func(x *T) bool {
			var buf [4]string
			for _, s := range get(x, buf[:0]) {
				if pred(s) {
					return true
				}
			}
			return false
		}
	}
	if op == "IsNot" || op == "IsNotKnown" {
		return func(x *T) bool { return !anyOf(x) }
	}
	return anyOf
}

// compileDate compares dates. "Last Modified Date" and the other Date
// parameters compare UTC dates only: a value's time of day is ignored, so
// "OnOrAfter 2024-06-01T18:00" also finds a record modified at 09:00 that
// day. The DateTime UTC parameters compare instants when the value has a
// time of day, and dates when it has none.
func compileDate[T any](f *field[T], op string, vals []string, second string, now time.Time) (func(*T) bool, error) {
	parse := func(s string) (dateValue, error) {
		v, ok := parseDateValue(s, now)
		if !ok {
			return v, qerr("'%s' is not a valid date for parameter '%s'.", s, f.name)
		}
		return v, nil
	}
	var v dateValue
	if !noValueOps[op] {
		var err error
		if v, err = parse(vals[0]); err != nil {
			return nil, err
		}
	}
	// cmp returns -1, 0, 1 for record vs value, and false when unknown.
	type cmpFn func(x *T, v dateValue) (int, bool)
	var cmp cmpFn
	if f.kind == kindDate {
		cmp = func(x *T, v dateValue) (int, bool) {
			d, ok := f.day(x)
			if !ok {
				return 0, false
			}
			return compareInt(d, v.day), true
		}
	} else {
		cmp = func(x *T, v dateValue) (int, bool) {
			t, ok := f.ts(x)
			if !ok {
				return 0, false
			}
			if !v.hasTime {
				return compareInt(epochDay(t), v.day), true
			}
			return t.Compare(v.t), true
		}
	}
	known := func(x *T) bool { _, ok := cmp(x, dateValue{}); return ok }
	test := func(pred func(int) bool) func(*T) bool {
		return func(x *T) bool { c, ok := cmp(x, v); return ok && pred(c) }
	}
	switch op {
	case "IsKnown":
		return known, nil
	case "IsNotKnown":
		return func(x *T) bool { return !known(x) }, nil
	case "Is":
		return test(func(c int) bool { return c == 0 }), nil
	case "IsNot":
		return func(x *T) bool { c, ok := cmp(x, v); return !ok || c != 0 }, nil
	case "LessThan", "Before":
		return test(func(c int) bool { return c < 0 }), nil
	case "LessThanOrEqual", "OnOrBefore":
		return test(func(c int) bool { return c <= 0 }), nil
	case "GreaterThan", "After":
		return test(func(c int) bool { return c > 0 }), nil
	case "GreaterThanOrEqual", "OnOrAfter":
		return test(func(c int) bool { return c >= 0 }), nil
	}
	// Between, inclusive at both ends.
	hi, err := parse(second)
	if err != nil {
		return nil, err
	}
	return func(x *T) bool {
		a, ok := cmp(x, v)
		if !ok || a < 0 {
			return false
		}
		b, _ := cmp(x, hi)
		return b <= 0
	}, nil
}

func compareInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// giftFields are the Gift query parameters the simulator knows.
var giftFields = []field[gift]{
	{name: "Gift Id", kind: kindInt, num: func(g *gift) (int64, bool) { return g.id, true }},
	{name: "Contact Id", kind: kindInt, num: func(g *gift) (int64, bool) { return g.contactID, true }},
	{name: "Transaction Source", kind: kindString, str: func(g *gift) string { return g.src }},
	{name: "Transaction Id", kind: kindString, str: func(g *gift) string { return g.txid }},
	{name: "Create Date", kind: kindDate, day: func(g *gift) (int64, bool) { return g.createdDay, true }},
	{name: "Last Modified Date", kind: kindDate, day: func(g *gift) (int64, bool) { return g.modifiedDay, true }},
	{name: "Create DateTime UTC", kind: kindDateTime, ts: func(g *gift) (time.Time, bool) { return g.created, true }},
	{name: "Last Modified DateTime UTC", kind: kindDateTime, ts: func(g *gift) (time.Time, bool) { return g.modified, true }},
	{name: "Gift Type", kind: kindList, str: func(g *gift) string { return g.giftType }},
	{name: "Gift Date", kind: kindDate, day: func(g *gift) (int64, bool) { return epochDay(g.date), true }},
	{name: "Receipt Date", kind: kindDate, day: func(g *gift) (int64, bool) {
		return epochDay(g.receiptDate), !g.receiptDate.IsZero()
	}},
	{name: "Amount", kind: kindDecimal, num: func(g *gift) (int64, bool) { return toScale(g.amount, g.currency), true }},
	{name: "Currency Code", kind: kindString, str: func(g *gift) string { return g.currency }},
	{name: "Batch", kind: kindString, str: func(g *gift) string { return g.batch }},
	{name: "Notes", kind: kindString, str: func(g *gift) string { return g.notes }},
	{name: "Segment Code", kind: kindString, str: func(g *gift) string { return g.segmentCode }},
	{name: "Passthrough Contact Id", kind: kindInt, num: func(g *gift) (int64, bool) {
		return g.contactPassthrough, g.contactPassthrough != 0
	}},
}

// giftFieldsWithOrg adds the parameters that need the org's other tables.
func (o *Org) giftFieldsWithOrg() []field[gift] {
	return append(slices.Clip(giftFields),
		field[gift]{name: "Project Code", kind: kindString, strs: func(g *gift, b []string) []string {
			for _, d := range g.designations {
				if p := o.projectByID[d.projectID]; p != nil {
					b = append(b, p.code)
				}
			}
			return b
		}},
		field[gift]{name: "Project Name", kind: kindString, strs: func(g *gift, b []string) []string {
			for _, d := range g.designations {
				if p := o.projectByID[d.projectID]; p != nil {
					b = append(b, p.name)
				}
			}
			return b
		}},
		field[gift]{name: "Contact Name", kind: kindString, strs: func(g *gift, b []string) []string {
			if c := o.contactByID[g.contactID]; c != nil {
				b = append(b, c.name)
			}
			return b
		}},
	)
}

// contactFields are the Contact query parameters the simulator knows.
var contactFields = []field[contact]{
	{name: "Contact Id", kind: kindInt, num: func(c *contact) (int64, bool) { return c.id, true }},
	{name: "Create Date", kind: kindDate, day: func(c *contact) (int64, bool) { return c.createdDay, true }},
	{name: "Last Modified Date", kind: kindDate, day: func(c *contact) (int64, bool) { return c.modifiedDay, true }},
	{name: "Create DateTime UTC", kind: kindDateTime, ts: func(c *contact) (time.Time, bool) { return c.created, true }},
	{name: "Last Modified DateTime UTC", kind: kindDateTime, ts: func(c *contact) (time.Time, bool) { return c.modified, true }},
	{name: "Reference Source", kind: kindString, strs: func(c *contact, b []string) []string {
		for _, r := range c.references {
			b = append(b, r.source)
		}
		return b
	}},
	{name: "Reference Id", kind: kindString, strs: func(c *contact, b []string) []string {
		for _, r := range c.references {
			b = append(b, r.id)
		}
		return b
	}},
	{name: "Email", kind: kindString, str: func(c *contact) string { return c.email }},
	{name: "Contact Name", kind: kindString, str: func(c *contact) string { return c.name }},
	{name: "First Name", kind: kindString, str: func(c *contact) string { return c.firstName }},
	{name: "Last Name", kind: kindString, str: func(c *contact) string { return c.lastName }},
	{name: "Contact Type", kind: kindList, str: func(c *contact) string { return c.contactType }},
	{name: "Merged Into Contact Id", kind: kindInt, num: func(c *contact) (int64, bool) { return c.mergedInto, c.mergedInto != 0 }},
}

// sort keys -----------------------------------------------------------------

type sortKey int

const (
	sortID sortKey = iota
	sortGiftDate
	sortModified
	sortCreated
	sortAmount
	sortBatch
	sortContactID
	sortName
	sortReceiptDate
)

func squash(s string) string {
	return strings.ToLower(strings.NewReplacer(" ", "", "_", "", "-", "").Replace(s))
}

// giftSortKey accepts the spellings seen in the wild ("Gift Date",
// "giftDate", "GiftDate", "Create DateTime UTC" …).
func giftSortKey(s string) (sortKey, bool) {
	switch squash(s) {
	case "", "id", "giftid":
		return sortID, true
	case "giftdate", "date":
		return sortGiftDate, true
	case "lastmodifieddate", "lastmodifieddatetimeutc", "modifieddatetimeutc", "modifieddate", "modifieddatetime":
		return sortModified, true
	case "createdate", "createdatetimeutc", "createddatetime", "createddatetimeutc", "createdate utc", "createddate":
		return sortCreated, true
	case "amount":
		return sortAmount, true
	case "batch":
		return sortBatch, true
	case "contactid":
		return sortContactID, true
	case "receiptdate":
		return sortReceiptDate, true
	}
	return 0, false
}

func contactSortKey(s string) (sortKey, bool) {
	switch squash(s) {
	case "", "id", "contactid":
		return sortID, true
	case "lastmodifieddate", "lastmodifieddatetimeutc", "modifieddatetimeutc", "modifieddate":
		return sortModified, true
	case "createdate", "createdatetimeutc", "createddatetime", "createddatetimeutc":
		return sortCreated, true
	case "name", "contactname", "lastname":
		return sortName, true
	}
	return 0, false
}

// sortGifts orders gifts by key, ties by id, so paging is stable.
func sortGifts(list []*gift, key sortKey, desc bool) {
	cmp := func(a, b *gift) int {
		var c int
		switch key {
		case sortGiftDate:
			c = a.date.Compare(b.date)
		case sortModified:
			c = a.modified.Compare(b.modified)
		case sortCreated:
			c = a.created.Compare(b.created)
		case sortAmount:
			c = compareInt(toScale(a.amount, a.currency), toScale(b.amount, b.currency))
		case sortBatch:
			c = strings.Compare(a.batch, b.batch)
		case sortContactID:
			c = compareInt(a.contactID, b.contactID)
		case sortReceiptDate:
			c = a.receiptDate.Compare(b.receiptDate)
		}
		if desc {
			c = -c
		}
		if c == 0 {
			c = compareInt(a.id, b.id)
			if desc && key == sortID {
				c = -c
			}
		}
		return c
	}
	slices.SortStableFunc(list, cmp)
}

func sortContacts(list []*contact, key sortKey, desc bool) {
	slices.SortStableFunc(list, func(a, b *contact) int {
		var c int
		switch key {
		case sortModified:
			c = a.modified.Compare(b.modified)
		case sortCreated:
			c = a.created.Compare(b.created)
		case sortName:
			c = strings.Compare(strings.ToLower(a.name), strings.ToLower(b.name))
		}
		if desc {
			c = -c
		}
		if c == 0 {
			c = compareInt(a.id, b.id)
			if desc && key == sortID {
				c = -c
			}
		}
		return c
	})
}

// paging ----------------------------------------------------------------------

// pageParams reads skip and take from the query string: take defaults to 10
// and may not exceed 1000.
func pageParams(o *Org, w http.ResponseWriter, r *http.Request) (skip, take int, ok bool) {
	skip, take = 0, 10
	if s := queryParam(r, "skip"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			o.writeError(w, http.StatusBadRequest, styleLegacy, "The request is invalid.",
				fieldErr{"skip", "INVALID", fmt.Sprintf("The value '%s' is not valid for skip.", s)})
			return 0, 0, false
		}
		skip = n
	}
	if s := queryParam(r, "take"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			o.writeError(w, http.StatusBadRequest, styleLegacy, "The request is invalid.",
				fieldErr{"take", "INVALID", fmt.Sprintf("The value '%s' is not valid for take.", s)})
			return 0, 0, false
		}
		if n > 1000 {
			o.writeError(w, http.StatusBadRequest, styleVaried, "Take cannot be greater than 1000.",
				fieldErr{"take", "OUT_OF_RANGE", "Take cannot be greater than 1000."})
			return 0, 0, false
		}
		take = n
	}
	return skip, take, true
}

func pageOf[T any](list []T, skip, take int) []T {
	if skip >= len(list) {
		return nil
	}
	return list[skip:min(len(list), skip+take)]
}

// readQueryBody decodes a query body; an empty body means "everything".
func readQueryBody(o *Org, w http.ResponseWriter, r *http.Request) (*queryBody, bool) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		o.writeError(w, http.StatusBadRequest, styleLegacy, "The request body could not be read.")
		return nil, false
	}
	var q queryBody
	if len(bytes.TrimSpace(b)) == 0 {
		return &q, true
	}
	if err := json.Unmarshal(b, &q); err != nil {
		o.writeError(w, http.StatusBadRequest, styleLegacy, "The request is invalid.",
			fieldErr{"query", "INVALID", "Could not parse the query: " + err.Error()})
		return nil, false
	}
	return &q, true
}

func (o *Org) renderGiftPage(page []*gift, total int, full bool) []byte {
	per := 160
	if full {
		per = 2000
	}
	b := make([]byte, 0, 32+per*len(page))
	b = append(b, `{"list":[`...)
	for i, g := range page {
		if i > 0 {
			b = append(b, ',')
		}
		if full {
			b = o.appendGift(b, g, false)
		} else {
			b = o.appendGiftAbbrev(b, g)
		}
	}
	b = append(b, `],"total":`...)
	b = strconv.AppendInt(b, int64(total), 10)
	return append(b, '}')
}

// queryGifts serves POST /api/Gift/Query/FullGift (full) and
// POST /api/Gift/Query (abbreviated). Gifts are kept in id order, so the
// default sort needs no sorting: one pass counts the matches and keeps the
// requested page.
func (s *Sim) queryGifts(full bool) apiHandler {
	return func(o *Org, w http.ResponseWriter, r *http.Request) {
		skip, take, ok := pageParams(o, w, r)
		if !ok {
			return
		}
		q, ok := readQueryBody(o, w, r)
		if !ok {
			return
		}
		key, ok := giftSortKey(string(q.SortBy))
		if !ok {
			o.writeError(w, http.StatusBadRequest, styleVaried, fmt.Sprintf("'%s' is not a valid sortBy for gifts.", q.SortBy))
			return
		}
		desc := q.Descending.or(false)
		o.mu.RLock()
		defer o.mu.RUnlock()
		match, err := compile(o.giftFieldsWithOrg(), q, o.now())
		if err != nil {
			o.writeError(w, http.StatusBadRequest, styleVaried, err.Error())
			return
		}
		var page []*gift
		total := 0
		if key == sortID {
			n := len(o.gifts)
			page = make([]*gift, 0, min(take, 1000))
			for i := range n {
				g := o.gifts[i]
				if desc {
					g = o.gifts[n-1-i]
				}
				if g.deleted || !match(g) {
					continue
				}
				if total >= skip && total < skip+take {
					page = append(page, g)
				}
				total++
			}
		} else {
			var all []*gift
			for _, g := range o.gifts {
				if !g.deleted && match(g) {
					all = append(all, g)
				}
			}
			sortGifts(all, key, desc)
			total = len(all)
			page = pageOf(all, skip, take)
		}
		writeJSON(w, http.StatusOK, o.renderGiftPage(page, total, full))
	}
}

// queryContacts serves POST /api/Contact/Query/FullContact and
// POST /api/Contact/Query.
func (s *Sim) queryContacts(full bool) apiHandler {
	return func(o *Org, w http.ResponseWriter, r *http.Request) {
		skip, take, ok := pageParams(o, w, r)
		if !ok {
			return
		}
		q, ok := readQueryBody(o, w, r)
		if !ok {
			return
		}
		key, ok := contactSortKey(string(q.SortBy))
		if !ok {
			o.writeError(w, http.StatusBadRequest, styleVaried, fmt.Sprintf("'%s' is not a valid sortBy for contacts.", q.SortBy))
			return
		}
		o.mu.RLock()
		defer o.mu.RUnlock()
		match, err := compile(contactFields, q, o.now())
		if err != nil {
			o.writeError(w, http.StatusBadRequest, styleVaried, err.Error())
			return
		}
		var all []*contact
		for _, c := range o.contacts {
			if match(c) {
				all = append(all, c)
			}
		}
		sortContacts(all, key, q.Descending.or(false))
		page := pageOf(all, skip, take)
		b := make([]byte, 0, 64+len(page)*3000)
		b = append(b, `{"list":[`...)
		for i, c := range page {
			if i > 0 {
				b = append(b, ',')
			}
			if full {
				b = o.appendContact(b, c, false)
			} else {
				b = o.appendContactAbbrev(b, c)
			}
		}
		b = append(b, `],"total":`...)
		b = strconv.AppendInt(b, int64(len(all)), 10)
		b = append(b, '}')
		writeJSON(w, http.StatusOK, b)
	}
}

// QueryOptions ----------------------------------------------------------------

func appendOptions[T any](b []byte, fields []field[T]) []byte {
	op := func(b []byte, name string) []byte {
		o := openObj(&b)
		o.str("operator", name)
		o.bool("multipleValuesAllowed", multiOps[name])
		o.bool("valueRequired", !noValueOps[name])
		o.close()
		return b
	}
	b = append(b, `{"options":[`...)
	for i, f := range fields {
		if i > 0 {
			b = append(b, ',')
		}
		ob := openObj(&b)
		ob.str("parameter", f.name)
		ob.str("type", kindNames[f.kind])
		ob.key("operatorOptions")
		b = append(b, '[')
		for j, name := range operatorsFor[f.kind] {
			if j > 0 {
				b = append(b, ',')
			}
			b = op(b, name)
		}
		b = append(b, ']')
		ob.key("valueOptions")
		b = append(b, '[')
		var vo []string
		switch {
		case f.kind == kindDate || f.kind == kindDateTime:
			vo = relativeDates
		case f.name == "Gift Type":
			vo = []string{"Cash", "Check", "Credit", "Cryptocoin", "Electronic Funds Transfer", "Non-Cash", "Other",
				"Qualified Charitable Distribution", "Reversing Transaction", "Stock"}
		case f.name == "Contact Type":
			vo = []string{"Household", "Organization", "Foundation"}
		}
		for j, v := range vo {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, v)
		}
		b = append(b, ']')
		ob.close()
	}
	b = append(b, `],"operatorOptions":[`...)
	for i, name := range allOperators {
		if i > 0 {
			b = append(b, ',')
		}
		b = op(b, name)
	}
	return append(b, ']', '}')
}

func (s *Sim) giftQueryOptions(o *Org, w http.ResponseWriter, r *http.Request) {
	o.mu.RLock()
	b := appendOptions(nil, o.giftFieldsWithOrg())
	o.mu.RUnlock()
	writeJSON(w, http.StatusOK, b)
}

func (s *Sim) contactQueryOptions(o *Org, w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, appendOptions(nil, contactFields))
}
