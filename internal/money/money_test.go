package money

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestParseMinor(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, cur string
		want    int64
		wantErr bool
	}{
		{"500.00", "USD", 50000, false},
		{"10.5", "USD", 1050, false},
		{"0.1", "USD", 10, false},
		{"19.99", "USD", 1999, false},
		{"12", "USD", 1200, false},
		{"1.25e1", "USD", 1250, false},
		{"125e-2", "USD", 125, false},
		{"1000", "JPY", 1000, false},
		{"1000.5", "JPY", 0, true},
		{"1.234", "KWD", 1234, false},
		{"1.2345", "KWD", 0, true},
		{"10.555", "USD", 0, true},
		{"10.550", "USD", 1055, false},
		{"-5.00", "USD", 0, true},
		{"abc", "USD", 0, true},
		{"", "USD", 0, true},
		{".", "USD", 0, true},
		{"1.2.3", "USD", 0, true},
		{"99999999999999999999", "USD", 0, true},
		{"0.00", "USD", 0, false},
	} {
		got, err := ParseMinor(tc.in, tc.cur)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("ParseMinor(%q, %s) = %d, %v; want %d, error %v", tc.in, tc.cur, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestFormat(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		minor int64
		cur   string
		want  string
	}{
		{50000, "USD", "500.00"}, {5, "USD", "0.05"}, {0, "USD", "0.00"}, {1000, "JPY", "1000"},
		{1234, "KWD", "1.234"}, {-150, "EUR", "-1.50"},
	} {
		if got := Format(tc.minor, tc.cur); got != tc.want {
			t.Errorf("Format(%d, %s) = %q, want %q", tc.minor, tc.cur, got, tc.want)
		}
	}
}

// A float64 round trip of 0.1+0.2 style values must not leak in: the JSON
// literal is kept as text.
func TestDecimalJSON(t *testing.T) {
	t.Parallel()
	var v struct {
		A Decimal `json:"a"`
		B Decimal `json:"b"`
		C Decimal `json:"c"`
	}
	if err := json.Unmarshal([]byte(`{"a":10.5,"b":"1999.99","c":null}`), &v); err != nil {
		t.Fatal(err)
	}
	if v.A != "10.5" || v.B != "1999.99" || v.C != "" {
		t.Fatalf("got %q %q %q", v.A, v.B, v.C)
	}
	if n, _ := v.B.Minor("USD"); n != 199999 {
		t.Errorf("got %d, want 199999", n)
	}
}

// The reads without a decoder agree with encoding/json's: a number's
// literal, a string's contents without "$" and space, null as "".
func TestDecimalUnmarshalAgrees(t *testing.T) {
	t.Parallel()
	for _, in := range []string{`10.5`, `-0`, `1e3`, ` 7 `, `"$ 12.50 "`, `"a\u00e9"`, `"\n5"`, `null`, `"é"`, "\"\xff\""} {
		var got Decimal
		if err := got.UnmarshalJSON([]byte(in)); err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		var want string
		if in != `null` {
			var v any
			dec := json.NewDecoder(strings.NewReader(in))
			dec.UseNumber()
			if err := dec.Decode(&v); err != nil {
				t.Fatalf("%s: %v", in, err)
			}
			want = strings.TrimSpace(strings.TrimPrefix(fmt.Sprint(v), "$"))
		}
		if string(got) != want {
			t.Errorf("%s: got %q, want %q", in, got, want)
		}
	}
	for _, in := range []string{`01`, `1.`, `{}`, `true`, `"open`} {
		var d Decimal
		if d.UnmarshalJSON([]byte(in)) == nil {
			t.Errorf("%s: got %q, want an error", in, d)
		}
	}
}

func FuzzParseMinor(f *testing.F) {
	for _, s := range []string{"1", "1.00", "1e3", "0.001", "-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseMinor(s, "USD")
		if err != nil {
			return
		}
		if n < 0 {
			t.Fatalf("ParseMinor(%q) = %d, negative", s, n)
		}
		back, err := ParseMinor(Format(n, "USD"), "USD")
		if err != nil || back != n {
			t.Fatalf("round trip of %q: %d → %q → %d, %v", s, n, Format(n, "USD"), back, err)
		}
	})
}
