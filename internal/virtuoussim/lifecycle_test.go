package virtuoussim

import (
	"bytes"
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// giftFixtureKeys are the keys of the Ruby gem's gift.json fixture, in order.
var giftFixtureKeys = strings.Fields(`id transactionSource transactionId contactId contactName contactUrl giftType
giftTypeFormatted giftDate giftDateFormatted amount amountFormatted currencyCode exchangeRate baseCurrencyCode batch
createDateTimeUtc createdByUser modifiedDateTimeUtc modifiedByUser segmentId segment segmentCode segmentUrl
mediaOutletId mediaOutlet grantId grant grantUrl notes tribute tributeId tributeType acknowledgeeIndividualId
isAcknowledgedGift acknowledgementDate acknowledgementNotes receiptDate receiptDateFormatted contactPassthroughId
contactPassthroughUrl contactIndividualId cashAccountingCode giftAskId contactMembershipId giftDesignations
giftPremiums pledgePayments recurringGiftPayments giftUrl isPrivate isTaxDeductible customFields`)

// objectKeys lists the top-level keys of a JSON object in order.
func objectKeys(t *testing.T, b []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %s", b)
	}
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

var (
	shortStamp = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{2,3}$`)
	longStamp  = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z?$`)
)

func isStamp(s string) bool { return shortStamp.MatchString(s) || longStamp.MatchString(s) }

// isErrorBody reports whether b is one of the documented error shapes.
func isErrorBody(b []byte) bool {
	var legacy struct {
		Error   string `json:"error"`
		Desc    string `json:"error_description"`
		Message string `json:"message"`
	}
	if json.Unmarshal(b, &legacy) == nil && ((legacy.Error != "" && legacy.Desc != "") || legacy.Message != "") {
		return true
	}
	var target struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	return json.Unmarshal(b, &target) == nil && target.Error.Code != "" && target.Error.Message != ""
}

func TestGiftLifecycle(t *testing.T) {
	e := newEnv(t, Options{})
	rc := newReceiver(t)
	const secret = "s3cret"
	e.org.Subscribe(rc.srv.URL, secret, "")

	src := "Face to Face 012025" // sources contain spaces
	e.submit(src, "pi_1001", "ada@example.org", "10.50")

	r := e.do("GET", giftPath(src, "pi_1001"), nil)
	if r.status != 404 || !isErrorBody(r.body) {
		t.Fatalf("pending lookup: %d %s, want 404 with an error body", r.status, r.body)
	}

	// Crossing midnight runs the nightly batch.
	e.clock.Advance(15 * time.Hour)
	batchTime := time.Date(2024, 6, 7, 0, 0, 0, 0, time.UTC)

	r = e.do("GET", giftPath(src, "pi_1001"), nil)
	if r.status != 200 {
		t.Fatalf("lookup after batch: %d %s", r.status, r.body)
	}
	if got := objectKeys(t, r.body); !reflect.DeepEqual(got, giftFixtureKeys) {
		t.Errorf("gift keys\n got %v\nwant %v", got, giftFixtureKeys)
	}
	if !bytes.Contains(r.body, []byte(`"amount":10.5,`)) {
		t.Errorf("amount not the JSON number 10.5: %s", r.body)
	}
	var g map[string]any
	r.json(t, &g)
	for k, want := range map[string]any{
		"transactionSource": src, "transactionId": "pi_1001", "giftDate": "2024-06-05T00:00:00",
		"giftDateFormatted": "6/5/2024", "amountFormatted": "$10.50", "giftType": "Credit", "currencyCode": "USD",
		"notes": "pi_pi_1001", "segment": nil, "receiptDate": nil, "isTaxDeductible": true,
	} {
		if g[k] != want {
			t.Errorf("%s = %#v, want %#v", k, g[k], want)
		}
	}
	for _, k := range []string{"createDateTimeUtc", "modifiedDateTimeUtc"} {
		s, _ := g[k].(string)
		if !isStamp(s) {
			t.Errorf("%s = %q, not a Virtuous timestamp", k, s)
		}
		if ts, ok := parseStampForTest(s); !ok || !ts.Equal(batchTime) {
			t.Errorf("%s = %q, want the batch time %v", k, s, batchTime)
		}
	}
	ds := g["giftDesignations"].([]any)
	if len(ds) != 1 {
		t.Fatalf("designations: %v", ds)
	}
	d := ds[0].(map[string]any)
	for _, k := range []string{"id", "projectId", "project", "projectCode", "amountDesignated", "display"} {
		if _, ok := d[k]; !ok {
			t.Errorf("designation lacks %s: %v", k, d)
		}
	}
	if d["projectCode"] != "GEN" || d["amountDesignated"] != 10.5 {
		t.Errorf("designation = %v", d)
	}
	if cf, ok := g["customFields"].([]any); !ok || len(cf) != 1 {
		t.Errorf("API customFields should be an array of one: %#v", g["customFields"])
	}
	giftID := int64(g["id"].(float64))
	contactID := int64(g["contactId"].(float64))

	// The contact exists, with the reference the transaction carried.
	r = e.do("GET", "/api/Contact/"+url_(src)+"/donor-pi_1001", nil)
	if r.status != 200 {
		t.Fatalf("contact by reference: %d %s", r.status, r.body)
	}
	var c map[string]any
	r.json(t, &c)
	if int64(c["id"].(float64)) != contactID || c["name"] != "Ada Lovelace" {
		t.Errorf("contact = %v", c)
	}
	ind := c["contactIndividuals"].([]any)[0].(map[string]any)
	if m := ind["contactMethods"].([]any); len(m) != 2 {
		t.Errorf("contact methods = %v", m)
	}

	// The webhooks arrive, signed.
	e.waitIdle()
	dels := rc.deliveries()
	if len(dels) != 2 {
		t.Fatalf("got %d deliveries, want ContactCreate + GiftCreate", len(dels))
	}
	var sawGift bool
	for _, dl := range dels {
		if sig := dl.header.Get(DefaultSignatureHeader); sig != Sign(secret, dl.body) {
			t.Errorf("signature %q does not verify", sig)
		}
		if ct := dl.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("content type %q", ct)
		}
		var ev struct {
			Event string         `json:"event"`
			Gift  map[string]any `json:"gift"`
		}
		if err := json.Unmarshal(dl.body, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Event == EventGiftCreate {
			sawGift = true
			if int64(ev.Gift["id"].(float64)) != giftID {
				t.Errorf("webhook gift id %v, want %d", ev.Gift["id"], giftID)
			}
			cf, ok := ev.Gift["customFields"].(map[string]any)
			if !ok || cf["Receipt Status"] != "Sent" {
				t.Errorf("webhook customFields should be an object map: %#v", ev.Gift["customFields"])
			}
		}
	}
	if !sawGift {
		t.Error("no GiftCreate delivered")
	}

	// The backstop query finds it.
	list, total := e.query("/api/Gift/Query/FullGift?skip=0&take=1000", groups([]map[string]any{
		cond("Last Modified Date", "OnOrAfter", "2024-06-07"),
		cond("Transaction Source", "Is", src),
	}))
	if total != 1 || len(list) != 1 || list[0]["transactionId"] != "pi_1001" {
		t.Errorf("query: total %d, list %v", total, list)
	}
	_, total = e.query("/api/Gift/Query/FullGift?take=1000", groups([]map[string]any{cond("Last Modified Date", "OnOrAfter", "2024-06-08")}))
	if total != 0 {
		t.Errorf("query after the modification date: total %d, want 0", total)
	}
	cs := e.org.Counters()
	if cs.Requests["POST /api/v2/Gift/Transaction"] != 1 || cs.Requests["GET /api/Gift/{transactionSource}/{transactionId}"] != 2 {
		t.Errorf("request counters: %v", cs.Requests)
	}
}

func TestGiftWebhookLost(t *testing.T) {
	e := newEnv(t, Options{})
	rc := newReceiver(t)
	e.org.Subscribe(rc.srv.URL, "k", "")
	e.org.SetConfig(OrgConfig{WebhookLossRate: 1})
	e.submit("Stripe", "pi_lost", "lost@example.org", "25")
	if res := e.org.RunBatch(); res.GiftsCreated != 1 {
		t.Fatalf("batch: %+v", res)
	}
	e.waitIdle()
	if n := len(rc.deliveries()); n != 0 {
		t.Errorf("%d deliveries, want none", n)
	}
	if r := e.do("GET", giftPath("Stripe", "pi_lost"), nil); r.status != 200 {
		t.Errorf("gift should exist even though its webhook was lost: %d", r.status)
	}
	cs := e.org.Counters()
	if cs.WebhooksLost != 2 || cs.WebhooksLostRandom != 2 || cs.WebhooksDelivered != 0 {
		t.Errorf("counters: lost %d random %d delivered %d", cs.WebhooksLost, cs.WebhooksLostRandom, cs.WebhooksDelivered)
	}
}

func url_(s string) string { return strings.ReplaceAll(s, " ", "%20") }

func parseStampForTest(s string) (time.Time, bool) {
	t, _, ok := parseDateTime(strings.TrimSuffix(s, "Z"))
	return t, ok
}
