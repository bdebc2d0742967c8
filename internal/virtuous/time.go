package virtuous

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"backstop/internal/jsonscan"
)

// Time is a Virtuous timestamp. The API writes the same field with and
// without a zone and with 0–7 fractional digits ("2023-12-07T16:10:47.03",
// "2023-12-08T16:56:52.6126031Z"), and dates alone ("2023-12-07"); a value
// with no zone is taken as UTC, which is what the *DateTimeUtc fields mean.
type Time struct {
	time.Time
}

// timeLayouts are tried in order. Go accepts a fractional second of any
// length after the seconds field even when the layout has none, so one
// layout covers 0–9 digits.
var timeLayouts = []string{
	time.RFC3339,                // Z or ±hh:mm
	"2006-01-02T15:04:05Z0700",  // ±hhmm
	"2006-01-02T15:04:05",       // no zone → UTC
	"2006-01-02 15:04:05Z07:00", // space instead of T
	"2006-01-02 15:04:05",
	time.DateOnly,
	"1/2/2006", // the *Formatted display form, should one arrive in a date field
}

// ParseTime reads s in any of the layouts Virtuous is known to write.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, ok := parseLocalISO(s); ok {
		return t, nil
	}
	layouts := timeLayouts
	if len(s) > 10 && !strings.ContainsAny(s[10:], "Zz+-") {
		// The first two layouts need a zone (Z, or a sign after the date),
		// so they cannot match: Virtuous writes most of its timestamps
		// without one, and each failed attempt allocates an error.
		layouts = layouts[2:]
	}
	for _, layout := range layouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("virtuous: %q is not a timestamp", s)
}

// parseLocalISO reads the form Virtuous writes most timestamps in,
// "2006-01-02T15:04:05" with an optional fraction of a second and no zone,
// without time.Parse (three per gift, thousands per Query page): it says
// no to anything else, and what it reads is what time.Parse reads with
// the first layout that can read it (TestParseLocalISO compares them).
func parseLocalISO[S string | []byte](s S) (time.Time, bool) {
	if len(s) < 19 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	num := func(i, n int) int {
		v := 0
		for _, c := range []byte(s[i : i+n]) {
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	year, month, day := num(0, 4), num(5, 2), num(8, 2)
	hour, minute, sec := num(11, 2), num(14, 2), num(17, 2)
	if year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || sec < 0 || sec > 59 {
		return time.Time{}, false
	}
	nsec := 0
	if len(s) > 19 {
		// time.Parse takes any number of digits and keeps nine.
		if s[19] != '.' || len(s) == 20 {
			return time.Time{}, false
		}
		digits := 0
		for _, c := range []byte(s[20:]) {
			if c < '0' || c > '9' {
				return time.Time{}, false
			}
			if digits < 9 {
				nsec = nsec*10 + int(c-'0')
				digits++
			}
		}
		for ; digits < 9; digits++ {
			nsec *= 10
		}
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	if t.Day() != day { // the 31st of a 30-day month, or a 29 February out of a leap year
		return time.Time{}, false
	}
	return t, true
}

// UnmarshalJSON accepts a string in any known layout; null and "" are the
// zero time.
func (t *Time) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		t.Time = time.Time{}
		return nil
	}
	// A Query page holds thousands of timestamps: most are read without
	// a decoder.
	plain, ok := jsonscan.PlainString(b)
	if ok {
		if parsed, ok := parseLocalISO(plain); ok {
			t.Time = parsed
			return nil
		}
	}
	s := string(plain)
	if !ok {
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("virtuous: timestamp %.40s is not a string", b)
		}
	}
	if strings.TrimSpace(s) == "" {
		t.Time = time.Time{}
		return nil
	}
	parsed, err := ParseTime(s)
	if err != nil {
		return err
	}
	t.Time = parsed
	return nil
}

// MarshalJSON writes RFC 3339 in UTC with as many fractional digits as
// needed, and null for the zero time so that it decodes back to zero.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(t.UTC().Format(time.RFC3339Nano))
}

// Date formats t's calendar date as Virtuous expects it in Transactions and
// Query values: YYYY-MM-DD, no time of day, in t's own location.
func Date(t time.Time) string { return t.Format(time.DateOnly) }
