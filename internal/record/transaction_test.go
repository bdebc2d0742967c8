package record

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"backstop/internal/derrors"
	"backstop/internal/money"
)

// The Transaction bodies carry exactly the keys of the spec's templates
// (virtuous-api.md §2.1 and §2.3) where Backstop types them — top level, the
// gift's contact and address, designations — so a misspelt tag shows up here
// rather than as a field Virtuous silently drops. Fields Backstop passes
// through untyped keep whatever keys the platform sent.
func TestTransactionsCoverTemplates(t *testing.T) {
	t.Parallel()
	typed := []string{"", "contact.", "contact.address.", "designations[]."}
	for _, tc := range []struct {
		file string
		v    any
	}{
		{"gift_transaction_template.json", &GiftTransaction{}},
		{"contact_transaction_template.json", &ContactTransaction{}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			fillAll(reflect.ValueOf(tc.v).Elem())
			b, err := json.Marshal(tc.v)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile("testdata/" + tc.file)
			if err != nil {
				t.Fatal(err)
			}
			var got, want any
			json.Unmarshal(b, &got)
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			keep := func(paths []string) []string {
				return slices.DeleteFunc(paths, func(p string) bool {
					i := strings.LastIndex(p, ".")
					return !slices.Contains(typed, p[:i+1])
				})
			}
			if d := cmp.Diff(keep(keyPaths(want, "")), keep(keyPaths(got, ""))); d != "" {
				t.Errorf("JSON keys differ from the spec template (-template +ours):\n%s", d)
			}
		})
	}
}

// fillAll sets every field reachable from v to a non-zero value; untyped
// JSON gets a string.
func fillAll(v reflect.Value) {
	if v.Type() == reflect.TypeFor[json.RawMessage]() {
		v.SetBytes([]byte(`"x"`))
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fillAll(v.Elem())
	case reflect.Struct:
		for i := range v.NumField() {
			fillAll(v.Field(i))
		}
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fillAll(v.Index(0))
	case reflect.String:
		if v.Type() == reflect.TypeFor[money.Decimal]() {
			v.SetString("1.50")
		} else {
			v.SetString("x")
		}
	}
}

// keyPaths lists the object keys in j as dotted paths ("contact.firstname",
// "designations[].code").
func keyPaths(j any, prefix string) []string {
	var out []string
	switch x := j.(type) {
	case map[string]any:
		for k, v := range x {
			p := strings.TrimPrefix(prefix+"."+k, ".")
			out = append(out, p)
			out = append(out, keyPaths(v, p)...)
		}
	case []any:
		for _, v := range x {
			out = append(out, keyPaths(v, prefix+"[]")...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// A valid intake comes back canonical: the spec's spellings, amounts as
// fixed two-decimal strings, defaults filled in, unknown untyped fields kept.
func TestParseIntakeCanonical(t *testing.T) {
	t.Parallel()
	body := `{"source":"stripe","source_ref":"pi_3MtwBwLkdIwHu7ix","transaction":{
		"contact":{"firstName":"Ada","LastName":"Lovelace","email":"ada@example.org"},
		"giftDate":"2026-11-01T00:00:00","amount":12.5,"currencyCode":"usd",
		"designations":[{"code":"FOOD","amountDesignated":12.5}],"tributeDedication":{"tributeType":"In Honor Of"}}}`
	p, err := ParseIntake(Gift, "order-1", []byte(body), Defaults{TransactionSource: func(Source) string { return "Backstop-Stripe" }})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"transactionSource":"Backstop-Stripe","transactionId":"pi_3MtwBwLkdIwHu7ix","contact":{"firstname":"Ada","lastname":"Lovelace","email":"ada@example.org"},` +
		`"giftDate":"2026-11-01","amount":"12.50","currencyCode":"USD","tributeDedication":{"tributeType":"In Honor Of"},` +
		`"designations":[{"code":"FOOD","amountDesignated":"12.50"}]}`
	var a, b any
	json.Unmarshal(p.Payload, &a)
	json.Unmarshal([]byte(want), &b)
	if d := cmp.Diff(b, a); d != "" {
		t.Errorf("canonical body (-want +got):\n%s", d)
	}
	if *p.Amount != 1250 || *p.Currency != "USD" || p.DonorName != "Ada Lovelace" || p.ExtID != "pi_3MtwBwLkdIwHu7ix" {
		t.Errorf("got amount %d %s, donor %q, id %q", *p.Amount, *p.Currency, p.DonorName, p.ExtID)
	}
	// Parsing the canonical form again changes nothing (a repeat PUT is a no-op).
	again, err := ParseIntake(Gift, "order-1", []byte(`{"source":"stripe","source_ref":"pi_3MtwBwLkdIwHu7ix","transaction":`+string(p.Payload)+`}`),
		Defaults{TransactionSource: func(Source) string { return "other" }})
	if err != nil || string(again.PayloadSHA) != string(p.PayloadSHA) {
		t.Errorf("re-parse: got %v, sha equal %v; want the same body", err, string(again.PayloadSHA) == string(p.PayloadSHA))
	}
}

// A NUL character anywhere in a body is refused with a field error (jsonb
// cannot store it); a backslash followed by the text u0000 is not one.
func TestParseIntakeNUL(t *testing.T) {
	body := func(first string) []byte {
		return []byte(`{"source":"other","source_ref":"crm-1","transaction":{"firstName":"` + first + `","lastName":"One","email":"m1@example.org"}}`)
	}
	for _, first := range []string{`Mem\u0000ber`, `\u0000`, `Mem\\\u0000ber`} {
		if _, err := ParseIntake(Contact, "member-1", body(first), nulDefaults); !errors.Is(err, derrors.InvalidArgument) || !strings.Contains(err.Error(), "NUL") {
			t.Errorf("firstName %s: got %v, want a field error naming the NUL", first, err)
		}
	}
	if _, err := ParseIntake(Contact, "member-1", body(`Mem\\u0000ber`), nulDefaults); err != nil {
		t.Errorf("a backslash and the text u0000: %v", err)
	}
}

var nulDefaults = Defaults{TransactionSource: func(Source) string { return "other" }}
