package virtuoussim

import (
	"fmt"
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
