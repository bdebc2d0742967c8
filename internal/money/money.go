// Package money converts between decimal amounts as people and Virtuous write
// them ("500.00", 10.5) and integer minor units, exactly: no value passes
// through a float. The number of minor digits follows ISO 4217.
package money

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"backstop/internal/jsonscan"
)

// Currencies whose minor unit is not the usual two digits (ISO 4217).
var digits = map[string]int{
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
	"PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
	"CLF": 4, "UYW": 4,
}

// Digits is how many minor digits currency has (2 unless ISO 4217 says otherwise).
func Digits(currency string) int {
	if d, ok := digits[strings.ToUpper(currency)]; ok {
		return d
	}
	return 2
}

// ValidCurrency reports whether c looks like an ISO 4217 code.
func ValidCurrency(c string) bool {
	if len(c) != 3 {
		return false
	}
	for _, r := range c {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

// ParseMinor reads a non-negative decimal ("12", "12.5", "12.50", "1.25e1")
// as minor units of currency. More significant fraction digits than the
// currency has is an error, never a rounding.
func ParseMinor(s, currency string) (int64, error) {
	d := Digits(currency)
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty amount")
	}
	mant, exp := s, 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.Atoi(s[i+1:])
		if err != nil || e > 30 || e < -30 {
			return 0, fmt.Errorf("%q is not a decimal amount", s)
		}
		mant, exp = s[:i], e
	}
	if strings.HasPrefix(mant, "-") {
		return 0, fmt.Errorf("%q is negative", s)
	}
	mant = strings.TrimPrefix(mant, "+")
	intPart, frac, hasDot := strings.Cut(mant, ".")
	if (intPart == "" && frac == "") || (hasDot && frac == "" && intPart == "") || !allDigits(intPart) || !allDigits(frac) {
		return 0, fmt.Errorf("%q is not a decimal amount", s)
	}
	// Shift the decimal point by the exponent, then by the currency's digits.
	digitsStr := intPart + frac
	point := len(intPart) + exp + d
	switch {
	case point < 0:
		digitsStr = strings.Repeat("0", -point) + digitsStr
		point = 0
	case point > len(digitsStr):
		digitsStr += strings.Repeat("0", point-len(digitsStr))
	}
	whole, rest := digitsStr[:point], digitsStr[point:]
	if strings.Trim(rest, "0") != "" {
		return 0, fmt.Errorf("%q has more than %d decimal places for %s", s, d, strings.ToUpper(currency))
	}
	whole = strings.TrimLeft(whole, "0")
	if whole == "" {
		return 0, nil
	}
	if len(whole) > 18 {
		return 0, fmt.Errorf("%q is too large", s)
	}
	n, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || n > math.MaxInt64/10 {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n, nil
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// Format writes minor units of currency as a fixed-point decimal string with
// the currency's digits: Format(50000, "USD") = "500.00".
func Format(minor int64, currency string) string {
	d := Digits(currency)
	neg := minor < 0
	u := uint64(minor)
	if neg {
		u = uint64(-minor)
	}
	s := strconv.FormatUint(u, 10)
	if d > 0 {
		if len(s) <= d {
			s = strings.Repeat("0", d-len(s)+1) + s
		}
		s = s[:len(s)-d] + "." + s[len(s)-d:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// Decimal is an exact decimal as it appeared in JSON: a number (10.5) or a
// string ("10.50"). Decoding keeps the literal text, so nothing is rounded
// before it is converted to minor units with the currency in hand.
type Decimal string

// UnmarshalJSON accepts a JSON number, a string holding one, or null.
func (d *Decimal) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*d = ""
		return nil
	}
	// A number, or a string without escapes, is read without a decoder:
	// every gift has two amounts.
	if jsonscan.IsNumber(b) {
		*d = Decimal(b) // what json.Number holds
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		plain, ok := jsonscan.PlainString(b)
		s := string(plain)
		if !ok {
			if err := json.Unmarshal(b, &s); err != nil {
				return err
			}
		}
		*d = Decimal(strings.TrimSpace(strings.TrimPrefix(s, "$")))
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("amount %s is neither a number nor a string", b)
	}
	*d = Decimal(n.String())
	return nil
}

// MarshalJSON writes the decimal as a JSON string (null when empty): the
// form Virtuous Transactions take money in ("500.00").
func (d Decimal) MarshalJSON() ([]byte, error) {
	if d == "" {
		return []byte("null"), nil
	}
	return json.Marshal(string(d))
}

// Minor converts d to minor units of currency.
func (d Decimal) Minor(currency string) (int64, error) { return ParseMinor(string(d), currency) }
