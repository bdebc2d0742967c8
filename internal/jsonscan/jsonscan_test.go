package jsonscan

import (
	"encoding/json"
	"testing"
)

func TestValue(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]bool{
		`0`: true, `-0.5e+10`: true, `1E2`: true, `"a\"\\\/\b\f\n\r\t\u00e9"`: true, "\"\xff\"": true,
		`{"a":[1,{"b":null}],"c":true,"d":false}`: true, ` [ ] `: true, `{}`: true,
		`01`: false, `-`: false, `1.`: false, `.5`: false, `1e`: false, `+1`: false, `"\x"`: false, `"\u12"`: false,
		"\"a\nb\"": false, `[1,]`: false, `{"a":1,}`: false, `{"a"}`: false, `tru`: false, `nul`: false, `[`: false,
		`"`: false, `{1:2}`: false, ``: false,
	} {
		s := New([]byte(in))
		_, ok := s.Value()
		ok = ok && s.End()
		if ok != want {
			t.Errorf("%q: got %t, want %t", in, ok, want)
		}
		if ok && !json.Valid([]byte(in)) {
			t.Errorf("%q: accepted, but it is not JSON", in)
		}
	}
	deep := ""
	for range maxDepth + 2 {
		deep = "[" + deep + "]"
	}
	if _, ok := New([]byte(deep)).Value(); ok {
		t.Error("accepted nesting deeper than maxDepth")
	}
}

func TestString(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]bool{
		`"plain"`: true, `""`: true, `"é 北"`: true, `"a\n"`: false, "\"\xff\"": false, "\"a\tb\"": false, `"open`: false, `x`: false,
	} {
		got, ok := PlainString([]byte(in))
		if ok != want {
			t.Errorf("%q: got %t, want %t", in, ok, want)
		}
		var s string
		if ok && (json.Unmarshal([]byte(in), &s) != nil || s != string(got)) {
			t.Errorf("%q: got %q, encoding/json %q", in, got, s)
		}
	}
	if IsNumber([]byte(" 1")) || IsNumber([]byte("1 ")) || !IsNumber([]byte("-1.5E-3")) {
		t.Error("IsNumber takes exactly one number, no space")
	}
}

// FuzzScanner: whatever the scanner accepts, encoding/json accepts and
// reads the same.
func FuzzScanner(f *testing.F) {
	for _, s := range []string{`{"a":[1,-2.5e3,"x\u0041",null,true]}`, `"plain é"`, `-0`, `[{}]`, "\"\xff\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s := New(b)
		if v, ok := s.Value(); ok && s.End() && !json.Valid(v) {
			t.Fatalf("Value accepted %q, which is not JSON", b)
		}
		if got, ok := PlainString(b); ok {
			var want string
			if err := json.Unmarshal(b, &want); err != nil || want != string(got) {
				t.Fatalf("PlainString(%q) = %q, encoding/json %q (%v)", b, got, want, err)
			}
		}
		if IsNumber(b) {
			var n json.Number
			if err := json.Unmarshal(b, &n); err != nil || n.String() != string(b) {
				t.Fatalf("IsNumber(%q), but encoding/json reads %q (%v)", b, n, err)
			}
		}
	})
}
