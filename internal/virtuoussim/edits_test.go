package virtuoussim

import (
	"testing"
	"time"

	"backstop/internal/money"
)

func ptr[T any](v T) *T { return &v }

func TestEditsDeletesMergesFireWebhooks(t *testing.T) {
	e := newEnv(t, Options{})
	rc := newReceiver(t)
	e.org.Subscribe(rc.srv.URL, "k", "X-Custom-Signature")
	e.submit("Stripe", "pi_e1", "one@example.org", "20.00")
	e.submit("Stripe", "pi_e2", "two@example.org", "30.00")
	e.org.RunBatch()
	e.waitIdle()
	g1, _ := e.org.GiftByTransaction("Stripe", "pi_e1")
	g2, _ := e.org.GiftByTransaction("Stripe", "pi_e2")
	before := len(rc.deliveries())

	// A user edits the amount without touching the clock: the stamp still moves.
	if err := e.org.EditGift(g1.ID, GiftEdit{Amount: ptr(money.Decimal("25.00")), Notes: ptr("corrected")}); err != nil {
		t.Fatal(err)
	}
	after, _ := e.org.Gift(g1.ID)
	if after.AmountMinor != 2500 || after.Designations[0].AmountMinor != 2500 || !after.Modified.After(g1.Modified) {
		t.Errorf("edited gift = %+v (was modified %v)", after, g1.Modified)
	}
	if err := e.org.EditGift(g1.ID, GiftEdit{Designations: &[]DesignationInput{{Code: "GEN", AmountDesignated: "1"}}}); err == nil {
		t.Error("designations that do not sum were accepted")
	}

	e.clock.Advance(time.Hour)
	if err := e.org.EditContact(g2.ContactID, ContactEdit{Email: ptr("two.new@example.org"), LastName: ptr("Newname")}); err != nil {
		t.Fatal(err)
	}
	if err := e.org.MergeContacts(g2.ContactID, g1.ContactID); err != nil {
		t.Fatal(err)
	}
	merged, _ := e.org.Contact(g2.ContactID)
	if merged.MergedInto != g1.ContactID {
		t.Errorf("merged contact = %+v", merged)
	}
	moved, _ := e.org.Gift(g2.ID)
	if moved.ContactID != g1.ContactID || !moved.Modified.After(g2.Modified) {
		t.Errorf("gift not repointed: %+v", moved)
	}
	// Lookups by the merged contact's reference land on the survivor.
	r := e.do("GET", "/api/Contact/Stripe/donor-pi_e2", nil)
	var c map[string]any
	r.json(t, &c)
	if int64(c["id"].(float64)) != g1.ContactID {
		t.Errorf("reference after merge -> %v", c["id"])
	}
	r = e.do("GET", "/api/Contact/"+itoa(int(g2.ContactID)), nil)
	r.json(t, &c)
	if int64(c["mergedIntoContactId"].(float64)) != g1.ContactID {
		t.Errorf("merged contact JSON mergedIntoContactId = %v", c["mergedIntoContactId"])
	}

	if err := e.org.DeleteGift(g1.ID); err != nil {
		t.Fatal(err)
	}
	if r := e.do("GET", "/api/Gift/"+itoa(int(g1.ID)), nil); r.status != 404 {
		t.Errorf("deleted gift: %d", r.status)
	}
	if r := e.do("GET", giftPath("Stripe", "pi_e1"), nil); r.status != 404 {
		t.Errorf("deleted gift by transaction: %d", r.status)
	}
	if err := e.org.DeleteGift(g1.ID); err == nil {
		t.Error("deleted twice")
	}

	e.waitIdle()
	var evs []map[string]any
	for _, d := range rc.deliveries()[before:] {
		if d.header.Get("X-Custom-Signature") != Sign("k", d.body) {
			t.Error("custom signature header missing or wrong")
		}
	}
	evs = rc.events(t)[before:]
	want := map[string]int{EventGiftUpdate: 1, EventContactUpdate: 3, EventGiftDelete: 1}
	for ev, n := range want {
		if got := countEvents(evs, ev); got != n {
			t.Errorf("%s: %d, want %d", ev, got, n)
		}
	}
	for _, ev := range evs {
		if ev["event"] == EventGiftDelete {
			if g := ev["gift"].(map[string]any); int64(g["id"].(float64)) != g1.ID || g["notes"] != "corrected" {
				t.Errorf("GiftDelete payload %v", g)
			}
		}
	}
}

func TestPutGiftAndContact(t *testing.T) {
	e := newEnv(t, Options{})
	rc := newReceiver(t)
	e.org.Subscribe(rc.srv.URL, "", "")
	e.submit("Stripe", "pi_put", "put@example.org", "50.00")
	e.org.RunBatch()
	e.waitIdle()
	g, _ := e.org.GiftByTransaction("Stripe", "pi_put")

	r := e.do("PUT", "/api/Gift/"+itoa(int(g.ID)), map[string]any{"amount": 75, "giftDate": "6/1/2024",
		"giftDesignations": []map[string]any{{"projectCode": "GEN", "amountDesignated": "50"}, {"projectCode": "NEW", "project": "New Fund", "amountDesignated": 25}}})
	if r.status != 200 {
		t.Fatalf("PUT gift: %d %s", r.status, r.body)
	}
	var out map[string]any
	r.json(t, &out)
	if out["amount"] != 75.0 || out["giftDate"] != "2024-06-01T00:00:00" || len(out["giftDesignations"].([]any)) != 2 {
		t.Errorf("PUT result = %v", out)
	}
	if out["modifiedDateTimeUtc"] == out["createDateTimeUtc"] || out["modifiedByUser"] != userAPI {
		t.Errorf("modified stamp did not move: %v / %v", out["createDateTimeUtc"], out["modifiedDateTimeUtc"])
	}
	if r := e.do("PUT", "/api/Gift/"+itoa(int(g.ID)), map[string]any{"amount": 80}); r.status != 400 || !isErrorBody(r.body) {
		t.Errorf("amount that breaks two designations: %d %s", r.status, r.body)
	}
	if now, _ := e.org.Gift(g.ID); now.AmountMinor != 7500 {
		t.Errorf("a refused PUT changed the gift: %+v", now)
	}
	if r := e.do("PUT", "/api/Gift/999999", map[string]any{"amount": 1}); r.status != 404 {
		t.Errorf("PUT unknown gift: %d", r.status)
	}

	r = e.do("PUT", "/api/Contact/"+itoa(int(g.ContactID)), map[string]any{"name": "The Puts", "address": map[string]any{"address1": "9 Elm", "city": "Shelbyville"}})
	if r.status != 200 {
		t.Fatalf("PUT contact: %d %s", r.status, r.body)
	}
	r.json(t, &out)
	if out["name"] != "The Puts" || out["address"].(map[string]any)["city"] != "Shelbyville" {
		t.Errorf("PUT contact result = %v", out)
	}
	e.waitIdle()
	evs := rc.events(t)
	if countEvents(evs, EventGiftUpdate) != 1 || countEvents(evs, EventContactUpdate) != 1 {
		t.Errorf("events after PUTs: %d GiftUpdate, %d ContactUpdate", countEvents(evs, EventGiftUpdate), countEvents(evs, EventContactUpdate))
	}
}

func TestDirectGiftIsVirtuousOnly(t *testing.T) {
	e := newEnv(t, Options{})
	g, err := e.org.CreateGiftDirect(DirectGift{FirstName: "Walk", LastName: "In", Amount: "100", GiftType: "Check"})
	if err != nil {
		t.Fatal(err)
	}
	r := e.do("GET", "/api/Gift/"+itoa(int(g.ID)), nil)
	var out map[string]any
	r.json(t, &out)
	if out["transactionSource"] != nil || out["transactionId"] != nil || out["amount"] != 100.0 {
		t.Errorf("direct gift = %v", out)
	}
	if !containsFold(string(r.body), `"amount":100.0,`) {
		t.Errorf("amount should read 100.0 like Json.NET: %s", r.body)
	}
}
