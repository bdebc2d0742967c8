package links

import (
	"encoding/json"
	"testing"

	"backstop/internal/record"
)

func TestStripe(t *testing.T) {
	live, test := true, false
	for _, tc := range []struct {
		id   string
		mode *bool
		want string
	}{
		{"pi_3MtwBwLkdIwHu7ix28a3tqPa", &test, "https://dashboard.stripe.com/test/payments/pi_3MtwBwLkdIwHu7ix28a3tqPa"},
		{"pi_3MtwBwLkdIwHu7ix28a3tqPa", &live, "https://dashboard.stripe.com/payments/pi_3MtwBwLkdIwHu7ix28a3tqPa"},
		{"ch_1Abc", nil, "https://dashboard.stripe.com/payments/ch_1Abc"},
		{"in_1Abc", &live, "https://dashboard.stripe.com/invoices/in_1Abc"},
		{"cus_Nabc", &test, "https://dashboard.stripe.com/test/customers/cus_Nabc"},
		{"evt_1", &live, ""},
	} {
		if got := Stripe(tc.id, tc.mode); got != tc.want {
			t.Errorf("Stripe(%q, %v) = %q, want %q", tc.id, tc.mode, got, tc.want)
		}
	}
}

func TestSourceAndVirtuous(t *testing.T) {
	vid, cid := int64(42), int64(7)
	eb := &record.Record{Kind: record.Gift, Source: record.Eventbrite, SourceRef: "1234567890", SourceMeta: json.RawMessage(`{"event_id":"998877"}`)}
	got := Source(eb)
	if len(got) != 2 || got[0].URL != "https://www.eventbrite.com/organizations/orders/1234567890" || got[1].URL != "https://www.eventbrite.com/myevent?eid=998877" {
		t.Errorf("Eventbrite: got %+v", got)
	}
	if got := Source(&record.Record{Source: record.Other, SourceRef: "x"}); got != nil {
		t.Errorf("other: got %+v, want no link", got)
	}
	review := &record.Record{Kind: record.Gift, Status: record.NeedsReview}
	if got := Virtuous("https://app.example/", review); len(got) != 1 || got[0].URL != "https://app.example/Generosity/Import" {
		t.Errorf("needs review: got %+v, want the Import tool", got)
	}
	done := &record.Record{Kind: record.Gift, Status: record.Confirmed, VirtuousID: &vid, VirtuousContactID: &cid}
	got = Virtuous("https://app.example", done)
	if len(got) != 2 || got[0].URL != "https://app.example/Generosity/Gift/View/42" || got[1].URL != "https://app.example/Generosity/Contact/View/7" {
		t.Errorf("confirmed gift: got %+v", got)
	}
	contact := &record.Record{Kind: record.Contact, Status: record.Confirmed, VirtuousID: &cid}
	if got := Virtuous("https://app.example", contact); len(got) != 1 || got[0].URL != "https://app.example/Generosity/Contact/View/7" {
		t.Errorf("contact: got %+v", got)
	}
}
