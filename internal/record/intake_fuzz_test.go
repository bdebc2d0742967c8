package record

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"backstop/internal/derrors"
)

// FuzzParseIntake: whatever the platform sends, intake validation either
// refuses it with a field error (the API's 400) or accepts it in a
// canonical form that parses again to itself: never a panic, never an
// internal error, never an accepted record without its keys or with an
// amount that is not positive. make test-faults runs it for a bounded time.
func FuzzParseIntake(f *testing.F) {
	for _, s := range []struct {
		gift       bool
		platformID string
		body       string
	}{
		{true, "order-1", `{"source":"stripe","source_ref":"pi_3MtwBwLkdIwHu7ix","livemode":false,"transaction":{"contact":{"firstName":"Ada","lastname":"Lovelace","email":"ada@example.org"},"giftDate":"2026-11-01","giftType":"Credit","amount":"50.00","currencyCode":"usd","designations":[{"code":"FOOD","amountDesignated":"30"},{"code":"SHELTER","amountDesignated":20.00}]}}`},
		{true, "t-9", `{"source":"eventbrite","source_ref":"1234567890","event_id":"777","transaction":{"contact":{"email":"a@b.org"},"giftDate":"2026-11-01T10:00:00","amount":1500,"currencyCode":"JPY"}}`},
		{false, "c-1", `{"source":"other","source_ref":"crm-1","transaction":{"firstName":"Member","lastName":"One","email":"m1@example.org","city":"Oslo"}}`},
		{true, "x", `{"source":"other","source_ref":"x1","transaction":{"amount":"-1"}}`},
		{true, "x", `{"source":`},
		{false, "a/b", `{}`},
	} {
		f.Add(s.gift, s.platformID, []byte(s.body))
	}
	d := Defaults{TransactionSource: func(s Source) string { return "Backstop-" + string(s) }}
	f.Fuzz(func(t *testing.T, gift bool, platformID string, body []byte) {
		kind := Contact
		if gift {
			kind = Gift
		}
		p, err := ParseIntake(kind, platformID, body, d)
		if err != nil {
			var fe *derrors.FieldError
			if !errors.As(err, &fe) || !errors.Is(err, derrors.InvalidArgument) || derrors.Public(err) == "" {
				t.Fatalf("refused with %T %v, want a field error with a message", err, err)
			}
			return
		}
		if p.ExtSource == "" || p.ExtID == "" || strings.ContainsAny(p.ExtID+p.ExtSource, "/\\\r\n") || !json.Valid(p.Payload) {
			t.Fatalf("accepted with keys %q/%q and payload %s", p.ExtSource, p.ExtID, p.Payload)
		}
		if kind == Gift && (p.Amount == nil || *p.Amount <= 0 || p.Currency == nil || p.GiftDate == nil) {
			t.Fatalf("accepted a gift without a positive amount, a currency or a date: %+v", p)
		}
		// The canonical form is a fixed point: sent again, it is the same record.
		again := Intake{Source: p.Source, SourceRef: p.SourceRef, Txn: p.Payload}
		json.Unmarshal(p.SourceMeta, &again)
		b, _ := json.Marshal(again)
		q, err := ParseIntake(kind, platformID, b, d)
		if err != nil {
			t.Fatalf("the canonical form %s is refused: %v", b, err)
		}
		if string(q.Payload) != string(p.Payload) || string(q.PayloadSHA) != string(p.PayloadSHA) {
			t.Fatalf("canonical form changed on a second parse:\n%s\n%s", p.Payload, q.Payload)
		}
	})
}
