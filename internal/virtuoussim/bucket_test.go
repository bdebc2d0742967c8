package virtuoussim

import (
	"testing"
	"time"
)

func TestUnmatchedDonorWaitsInBucket(t *testing.T) {
	e := newEnv(t, Options{})
	rc := newReceiver(t)
	e.org.Subscribe(rc.srv.URL, "", "")
	e.submit("Stripe", "pi_um", "someone@unmatched.example", "40.00")
	e.submit("Stripe", "pi_ok", "fine@example.org", "12.00")

	for night := range 3 {
		e.clock.Advance(24 * time.Hour)
		if r := e.do("GET", giftPath("Stripe", "pi_um"), nil); r.status != 404 || !isErrorBody(r.body) {
			t.Fatalf("night %d: unmatched lookup %d %s, want 404", night, r.status, r.body)
		}
	}
	if r := e.do("GET", giftPath("Stripe", "pi_ok"), nil); r.status != 200 {
		t.Fatalf("matched gift: %d", r.status)
	}
	b := e.org.Bucket()
	if len(b) != 1 || b[0].Bucket != BucketMatchNeeded || b[0].TransactionID != "pi_um" || b[0].Amount != "40.00" {
		t.Fatalf("bucket = %+v", b)
	}
	e.waitIdle()
	if n := countEvents(rc.events(t), EventGiftCreate); n != 1 {
		t.Fatalf("%d GiftCreate before resolving, want 1", n)
	}

	// An administrator attaches it to the other donor's contact.
	ok, _ := e.org.GiftByTransaction("Stripe", "pi_ok")
	if err := e.org.Resolve("Stripe", "pi_um", ok.ContactID); err != nil {
		t.Fatal(err)
	}
	r := e.do("GET", giftPath("Stripe", "pi_um"), nil)
	if r.status != 200 {
		t.Fatalf("resolved lookup: %d %s", r.status, r.body)
	}
	var g map[string]any
	r.json(t, &g)
	if int64(g["contactId"].(float64)) != ok.ContactID {
		t.Errorf("resolved gift on contact %v, want %d", g["contactId"], ok.ContactID)
	}
	if len(e.org.Bucket()) != 0 {
		t.Error("bucket not empty after resolve")
	}
	e.waitIdle()
	if n := countEvents(rc.events(t), EventGiftCreate); n != 2 {
		t.Errorf("%d GiftCreate after resolving, want 2", n)
	}
	if err := e.org.Resolve("Stripe", "pi_um", 0); err == nil {
		t.Error("resolving twice should fail")
	}
}

func TestDiscardAndUpdateNeeded(t *testing.T) {
	e := newEnv(t, Options{})
	e.submit("Stripe", "pi_d", "d@unmatched.example", "5")
	body := giftTxJSON("Stripe", "pi_type", "t@example.org", "7")
	body["giftType"] = "Barter"
	if r := e.do("POST", "/api/v2/Gift/Transaction", body); r.status != 200 {
		t.Fatalf("submit: %d %s", r.status, r.body)
	}
	res := e.org.RunBatch()
	if res.MatchNeeded != 1 || res.UpdateNeeded != 1 || res.GiftsCreated != 0 {
		t.Fatalf("batch: %+v", res)
	}
	if err := e.org.Discard("Stripe", "pi_d"); err != nil {
		t.Fatal(err)
	}
	e.org.RunBatch()
	if r := e.do("GET", giftPath("Stripe", "pi_d"), nil); r.status != 404 {
		t.Errorf("discarded: %d", r.status)
	}
	b := e.org.Bucket()
	if len(b) != 1 || b[0].Bucket != BucketUpdateNeeded {
		t.Fatalf("bucket = %+v", b)
	}
	if err := e.org.Resolve("Stripe", "pi_type", 0); err != nil {
		t.Fatal(err)
	}
	g, ok := e.org.GiftByTransaction("Stripe", "pi_type")
	if !ok || g.GiftType != "Other" {
		t.Errorf("resolved Update Needed gift = %+v", g)
	}
}

func TestUnmatchedRateIsDeterministic(t *testing.T) {
	run := func() []string {
		e := newEnv(t, Options{Seed: 7})
		e.org.SetConfig(OrgConfig{UnmatchedRate: 0.3})
		for i := range 40 {
			e.submit("Stripe", "pi_r"+itoa(i), "r"+itoa(i)+"@example.org", "1")
		}
		e.org.RunBatch()
		var ids []string
		for _, p := range e.org.Bucket() {
			ids = append(ids, p.TransactionID)
		}
		return ids
	}
	a, b := run(), run()
	if len(a) < 4 || len(a) > 24 {
		t.Errorf("%d of 40 unmatched at rate 0.3", len(a))
	}
	if len(a) != len(b) {
		t.Fatalf("not deterministic: %v vs %v", a, b)
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("not deterministic: %v vs %v", a, b)
		}
	}
}

func TestDedupe(t *testing.T) {
	e := newEnv(t, Options{})
	for range 3 {
		e.submit("Stripe", "pi_dup", "dup@example.org", "9.99")
	}
	if res := e.org.RunBatch(); res.GiftsCreated != 1 {
		t.Fatalf("batch: %+v", res)
	}
	// After the import too.
	e.submit("Stripe", "pi_dup", "dup@example.org", "9.99")
	e.org.RunBatch()
	n := 0
	for _, g := range e.org.Gifts() {
		if g.TransactionID == "pi_dup" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d gifts for one transaction", n)
	}
	cs := e.org.Counters()
	if cs.Posts("Stripe", "pi_dup") != 4 || cs.Deduplicated != 3 {
		t.Errorf("posts %d, deduplicated %d; want 4 and 3", cs.Posts("Stripe", "pi_dup"), cs.Deduplicated)
	}
}

func TestTransactionValidation(t *testing.T) {
	e := newEnv(t, Options{})
	cases := []struct {
		name   string
		mutate func(m map[string]any)
		want   string // a substring of the body
	}{
		{"no source", func(m map[string]any) { delete(m, "transactionSource") }, "transactionSource"},
		{"no id", func(m map[string]any) { m["transactionId"] = "" }, "transactionId"},
		{"no amount", func(m map[string]any) { delete(m, "amount") }, "amount"},
		{"bad amount", func(m map[string]any) { m["amount"] = "ten" }, "amount"},
		{"designations off", func(m map[string]any) {
			m["designations"] = []map[string]any{{"code": "GEN", "amountDesignated": "5.00"}}
		}, "designation"},
		{"invalid email", func(m map[string]any) {
			m["contact"].(map[string]any)["email"] = "bob@invalid.example"
		}, "bob@invalid.example"},
		{"bad json", nil, "invalid"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var r resp
			if c.mutate == nil {
				r = e.do("POST", "/api/v2/Gift/Transaction", `{"transactionSource":`)
			} else {
				m := giftTxJSON("Stripe", "pi_v", "v@example.org", "10.00")
				c.mutate(m)
				r = e.do("POST", "/api/v2/Gift/Transaction", m)
			}
			if r.status != 400 || !isErrorBody(r.body) || !containsFold(string(r.body), c.want) {
				t.Errorf("%d %s, want 400 mentioning %q", r.status, r.body, c.want)
			}
		})
	}
	// Numbers, camelCase names and numeric strings are all accepted.
	m := giftTxJSON("Stripe", "pi_num", "", "0")
	m["amount"] = 12.5
	m["designations"] = []map[string]any{{"id": 1, "amountDesignated": 12.5}}
	m["contact"] = map[string]any{"firstName": "Grace", "lastName": "Hopper", "email": "grace@example.org"}
	m["isPrivate"] = "false"
	if r := e.do("POST", "/api/v2/Gift/Transaction", m); r.status != 200 {
		t.Fatalf("camelCase/number body: %d %s", r.status, r.body)
	}
	e.org.RunBatch()
	g, ok := e.org.GiftByTransaction("Stripe", "pi_num")
	if !ok || g.AmountMinor != 1250 {
		t.Fatalf("gift = %+v", g)
	}
	c, _ := e.org.Contact(g.ContactID)
	if c.FirstName != "Grace" || c.LastName != "Hopper" {
		t.Errorf("contact = %+v", c)
	}
	if e.org.Counters().Rejected != int64(len(cases)) {
		t.Errorf("rejected = %d", e.org.Counters().Rejected)
	}
}

func TestContactTransaction(t *testing.T) {
	e := newEnv(t, Options{})
	rc := newReceiver(t)
	e.org.Subscribe(rc.srv.URL, "", "")
	body := map[string]any{"referenceSource": "Eventbrite", "referenceId": "att-1", "contactType": "Household",
		"firstName": "Alan", "lastName": "Turing", "email": "alan@example.org", "address1": "2 Bletchley", "city": "Milton Keynes"}
	if r := e.do("POST", "/api/Contact/Transaction", body); r.status != 200 || len(r.body) != 0 {
		t.Fatalf("submit: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/Contact/Eventbrite/att-1", nil); r.status != 404 {
		t.Fatalf("pending contact: %d", r.status)
	}
	e.org.RunBatch()
	r := e.do("GET", "/api/Contact/Eventbrite/att-1", nil)
	if r.status != 200 {
		t.Fatalf("contact: %d %s", r.status, r.body)
	}
	var c map[string]any
	r.json(t, &c)
	refs := c["contactReferences"].([]any)
	if len(refs) != 1 || refs[0].(map[string]any)["source"] != "Eventbrite" {
		t.Errorf("references = %v", refs)
	}
	// The same person again with a new phone merges.
	body["phone"] = "555-0199"
	e.do("POST", "/api/Contact/Transaction", body)
	if res := e.org.RunBatch(); res.ContactsUpdated != 1 || res.ContactsCreated != 0 {
		t.Errorf("second batch: %+v", res)
	}
	e.waitIdle()
	evs := rc.events(t)
	if countEvents(evs, EventContactCreate) != 1 || countEvents(evs, EventContactUpdate) != 1 {
		t.Errorf("events: %v", evs)
	}
}

func TestBatchTransactionsEndpoint(t *testing.T) {
	e := newEnv(t, Options{})
	item := func(id string) map[string]any {
		m := giftTxJSON("", id, id+"@example.org", "5.00")
		delete(m, "transactionSource")
		delete(m, "giftDate")
		delete(m, "giftType")
		return m
	}
	body := map[string]any{"transactionSource": "PartnerX-Stripe", "batch": "STRIPE-20240601",
		"defaultGiftDate": "2024-06-01", "defaultGiftType": "Credit",
		"transactions": []any{item("b1"), item("b2")}}
	if r := e.do("POST", "/api/v2/Gift/Transactions", body); r.status != 200 || len(r.body) != 0 {
		t.Fatalf("batch submit: %d %s", r.status, r.body)
	}
	bad := item("b3")
	bad["amount"] = "abc"
	body["transactions"] = []any{item("b4"), bad}
	if r := e.do("POST", "/api/v2/Gift/Transactions", body); r.status != 400 || !containsFold(string(r.body), "transactions[1]") {
		t.Fatalf("bad batch: %d %s", r.status, r.body)
	}
	e.org.RunBatch()
	g, ok := e.org.GiftByTransaction("PartnerX-Stripe", "b2")
	if !ok || g.GiftDate != "2024-06-01" || g.Batch != "STRIPE-20240601" || g.GiftType != "Credit" {
		t.Fatalf("gift from batch = %+v", g)
	}
	if _, ok := e.org.GiftByTransaction("PartnerX-Stripe", "b4"); ok {
		t.Error("a rejected batch was partly accepted")
	}
	r := e.do("GET", "/api/Contact/ByReference/donor-b1", nil)
	if r.status != 200 || !containsFold(string(r.body), "b1@example.org") {
		t.Errorf("by reference id: %d %s", r.status, r.body)
	}
	r = e.do("GET", "/api/Contact/Find?email=B2@example.org", nil)
	if r.status != 200 || !containsFold(string(r.body), "b2@example.org") {
		t.Errorf("find by email: %d", r.status)
	}
}
