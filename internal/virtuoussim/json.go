package virtuoussim

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"backstop/internal/money"
)

// The API's JSON is written by hand rather than through encoding/json: field
// order has to follow the documented fixtures, some fields are nulls that a
// struct would have to model with pointers, amounts must come out of the
// decimal text and never a float, and a 1000-gift query page has to render in
// a few milliseconds.

// jobj appends one JSON object to a byte slice, managing the commas.
type jobj struct {
	b *[]byte
	n int
}

func openObj(b *[]byte) jobj { *b = append(*b, '{'); return jobj{b: b} }

func (o *jobj) close() { *o.b = append(*o.b, '}') }

func (o *jobj) key(k string) {
	if o.n > 0 {
		*o.b = append(*o.b, ',')
	}
	o.n++
	*o.b = append(*o.b, '"')
	*o.b = append(*o.b, k...)
	*o.b = append(*o.b, '"', ':')
}

func (o *jobj) str(k, v string) { o.key(k); *o.b = appendJSONString(*o.b, v) }

// strNull writes v, or null when v is empty: Virtuous returns null for unset
// string columns.
func (o *jobj) strNull(k, v string) {
	if v == "" {
		o.null(k)
		return
	}
	o.str(k, v)
}

func (o *jobj) int(k string, v int64) { o.key(k); *o.b = strconv.AppendInt(*o.b, v, 10) }

// intNull writes v, or null when v is zero (ids start at 1).
func (o *jobj) intNull(k string, v int64) {
	if v == 0 {
		o.null(k)
		return
	}
	o.int(k, v)
}

func (o *jobj) bool(k string, v bool) { o.key(k); *o.b = strconv.AppendBool(*o.b, v) }
func (o *jobj) null(k string)         { o.key(k); *o.b = append(*o.b, "null"...) }
func (o *jobj) raw(k, v string)       { o.key(k); *o.b = append(*o.b, v...) }

// time writes a timestamp in the object's style, or null for the zero time.
func (o *jobj) time(k string, t time.Time, st tsStyle) {
	if t.IsZero() {
		o.null(k)
		return
	}
	o.key(k)
	*o.b = append(*o.b, '"')
	*o.b = appendTimestamp(*o.b, t, st)
	*o.b = append(*o.b, '"')
}

// appendJSONString quotes s as a JSON string. Like Json.NET it leaves <, >
// and & alone; invalid UTF-8 becomes U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// tsStyle is how one object's timestamps are written. The documentation shows
// the same fields both as "2023-12-07T16:10:47.03" (no zone, trailing zeros
// of the milliseconds dropped) and as "2023-12-08T16:56:52.6126031Z" (seven
// digits, with Z), and the contact fixture also has seven digits without a
// zone. Each object gets one style, chosen from the org's seed and its id, so
// a given object always reads the same and tests are repeatable.
type tsStyle uint8

const (
	tsShort  tsStyle = iota // 2–3 fractional digits, no zone; stored at 1 ms precision
	tsLongZ                 // 7 fractional digits and Z; stored at 100 ns precision
	tsLongNo                // 7 fractional digits, no zone
)

// precision is what the object's column can hold: a timestamp written in the
// short style is the whole stored value, so comparisons on "Last Modified
// DateTime UTC" agree with what the client read.
func (st tsStyle) precision() time.Duration {
	if st == tsShort {
		return time.Millisecond
	}
	return 100 * time.Nanosecond
}

func appendTimestamp(b []byte, t time.Time, st tsStyle) []byte {
	t = t.UTC()
	b = t.AppendFormat(b, "2006-01-02T15:04:05")
	switch st {
	case tsShort:
		ms := t.Nanosecond() / int(time.Millisecond)
		d := []byte{'0' + byte(ms/100), '0' + byte(ms/10%10), '0' + byte(ms%10)}
		if d[2] == '0' {
			d = d[:2]
		}
		b = append(b, '.')
		b = append(b, d...)
	default:
		f := t.Nanosecond() / 100
		b = append(b, '.')
		s := strconv.Itoa(f)
		for i := len(s); i < 7; i++ {
			b = append(b, '0')
		}
		b = append(b, s...)
		if st == tsLongZ {
			b = append(b, 'Z')
		}
	}
	return b
}

// jsonNumber renders minor units the way Json.NET renders a double: the
// shortest decimal, with at least one fraction digit (10.5, 1000.0, 9250.26).
// It works on the decimal text, never through float64.
func jsonNumber(minor int64, currency string) string {
	s := money.Format(minor, currency)
	if !strings.Contains(s, ".") {
		return s + ".0"
	}
	s = strings.TrimRight(s, "0")
	if strings.HasSuffix(s, ".") {
		s += "0"
	}
	return s
}

// currencySymbols covers the currencies a donation platform is likely to
// send; the rest are written with their code, as .NET does for cultures it
// cannot map.
var currencySymbols = map[string]string{"USD": "$", "CAD": "$", "AUD": "$", "NZD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}

// amountFormatted renders "$1,234.50" like the fixture's amountFormatted.
func amountFormatted(minor int64, currency string) string {
	s := money.Format(minor, currency)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	var g []byte
	for i := range len(whole) {
		if i > 0 && (len(whole)-i)%3 == 0 {
			g = append(g, ',')
		}
		g = append(g, whole[i])
	}
	out := string(g)
	if frac != "" {
		out += "." + frac
	}
	sym, ok := currencySymbols[currency]
	if !ok {
		sym = currency + " "
	}
	if neg {
		return "-" + sym + out
	}
	return sym + out
}

// wholeFormatted renders "$1,200" the way the contact's giving summaries are
// written ("$0", "$1,200"): whole units, rounded half up.
func wholeFormatted(minor int64, currency string) string {
	d := money.Digits(currency)
	unit := int64(1)
	for range d {
		unit *= 10
	}
	whole := (minor + unit/2) / unit
	return strings.TrimSuffix(amountFormatted(whole*unit, currency), "."+strings.Repeat("0", d))
}

// dateFormatted renders n/j/Y ("12/7/2023").
func dateFormatted(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format("1/2/2006")
}

// dateMidnight renders a gift date the way Virtuous does: midnight, no zone.
func dateMidnight(t time.Time) string { return t.Format("2006-01-02") + "T00:00:00" }

// formatDecimal is the fixed-point text of minor units ("10.50").
func formatDecimal(minor int64, currency string) string { return money.Format(minor, currency) }
