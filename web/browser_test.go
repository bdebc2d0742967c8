package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"backstop/internal/apptest"
	"backstop/internal/browsertest"
	"backstop/internal/money"
	"backstop/internal/reconcile"
	"backstop/internal/record"
	"backstop/internal/virtuoussim"
)

// stripeGift is an intake body for a Stripe gift; domain decides what the
// simulator does with it (example.org matches, unmatched.example goes to
// the Import tool, invalid.example is refused with a 400).
func stripeGift(n int, first, domain string) string {
	b, _ := json.Marshal(map[string]any{
		"source": "stripe", "source_ref": fmt.Sprintf("pi_%014d", n), "livemode": false,
		"transaction": map[string]any{
			"contact":  map[string]any{"firstname": first, "lastname": fmt.Sprintf("Donor %d", n), "email": fmt.Sprintf("donor%d@%s", n, domain)},
			"giftDate": "2026-11-01", "giftType": "Credit", "amount": fmt.Sprintf("%d.00", 20+n), "currencyCode": "USD",
		},
	})
	return string(b)
}

// The whole review dashboard in Debian's Chromium, against the real
// pipeline: intake, submission to the simulator, its nightly batch and
// webhooks, the stuck and drift passes. Sign in, work the needs-review
// queue (check now, discard), resolve a conflict field by field, retry and
// edit-and-retry failed records, run the missing-record lookup, sign out.
// Every page is saved as a screenshot under testdata/artifacts/.
func TestBrowserDashboard(t *testing.T) {
	if browsertest.Path() == "" {
		t.Skip("Chromium is not installed: apt-get install chromium (Debian) to run the browser tests")
	}
	t.Parallel()
	start := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	d := newDash(t, apptest.Options{Workers: true, Start: start})
	st := d.App.Store
	ctx := context.Background()
	byPlatform := func(n int) *record.Record {
		t.Helper()
		r, err := st.RecordByPlatformID(ctx, st.DB(), d.Tenant.ID, record.Gift, fmt.Sprintf("order-%d", n))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	put := func(n int, first, domain string) {
		t.Helper()
		if code, out := d.Put(record.Gift, fmt.Sprintf("order-%d", n), stripeGift(n, first, domain)); code != 201 {
			t.Fatalf("put %d: %d %v", n, code, out)
		}
	}
	// 1–2 match; 3–6 wait for a person in the Import tool (6 is named
	// <script>alert(1)</script>); 7–8 are refused.
	put(1, "Ada", "example.org")
	put(2, "Grace", "example.org")
	for n := 3; n <= 5; n++ {
		put(n, "Alan", "unmatched.example")
	}
	put(6, scriptName, "unmatched.example")
	put(7, "Edsger", "invalid.example")
	put(8, "Barbara", "invalid.example")
	d.Eventually("submissions", 60*time.Second, func() bool {
		s := d.Statuses()
		return s[record.Submitted] == 6 && s[record.Failed] == 2
	})
	d.Org.RunBatch()
	d.Eventually("matched gifts confirmed", 30*time.Second, func() bool { return d.Statuses()[record.Confirmed] == 2 })
	// Three days later the stuck pass hands 3–6 to the customer.
	d.Clock.Set(start.Add(73 * time.Hour))
	d.Reconcile(reconcile.Stuck)
	if got := d.Statuses()[record.NeedsReview]; got != 4 {
		t.Fatalf("got %d in needs review, want 4", got)
	}
	// A Virtuous user edits gift 1's amount and its donor's email: drift
	// under the manual policy opens a conflict.
	g1, _ := d.Org.GiftByTransaction("Backstop-Stripe", byPlatform(1).ExtID)
	amount := money.Decimal("30.00")
	email := "ada.lovelace@example.org"
	if err := d.Org.EditGift(g1.ID, virtuoussim.GiftEdit{Amount: &amount}); err != nil {
		t.Fatal(err)
	}
	if err := d.Org.EditContact(g1.ContactID, virtuoussim.ContactEdit{Email: &email}); err != nil {
		t.Fatal(err)
	}
	d.Quiet(30 * time.Second)
	d.Reconcile(reconcile.Drift)
	if got := d.Statuses()[record.Conflict]; got != 1 {
		t.Fatalf("got %d conflicts, want 1", got)
	}
	// An admin resolves 3 and 5 in the Import tool, but Virtuous loses the
	// webhooks: only a look at Virtuous can tell.
	d.Org.SetConfig(virtuoussim.OrgConfig{WebhookLossRate: 1})
	for _, n := range []int{3, 5} {
		if err := d.Org.Resolve("Backstop-Stripe", byPlatform(n).ExtID, 0); err != nil {
			t.Fatal(err)
		}
	}
	d.Quiet(30 * time.Second)
	d.Org.SetConfig(virtuoussim.OrgConfig{})

	b := browsertest.New(t, d.Web.URL)
	b.Go("/signin")
	b.Screenshot("sign-in")
	b.SignIn(staffA, d.pw[staffA])

	// Needs review: the XSS donor is text, Check now confirms 3 and finds 4
	// still waiting, 4 is then discarded.
	b.Go("/t/acme/queues/needs-review")
	b.WaitText("#tab-needs-review .count", "4")
	if got := b.Text("tbody tr:last-child .donor"); !strings.Contains(got, scriptName) {
		t.Errorf("the XSS donor's name reads %q, want the literal text", got)
	}
	b.Screenshot("needs-review-queue")
	r3, r4, r5 := byPlatform(3), byPlatform(4), byPlatform(5)
	// A bulk discard without a reason is refused (400) on the same queue,
	// which htmx shows in place, at the same address.
	b.Click(fmt.Sprintf("#sel-%d", r4.ID), fmt.Sprintf("#sel-%d:checked", r4.ID))
	b.Click(`#bulk button[value=discard]`, ".flash.error")
	b.WaitText(".flash.error", "Give a reason for discarding")
	if p := b.Path(); p != "/t/acme/queues/needs-review" {
		t.Errorf("after a refused bulk action the address is %s, want the queue's", p)
	}
	b.Screenshot("needs-review-bulk-refused")
	if d.status(r4.ID) != record.NeedsReview {
		t.Errorf("a refused bulk discard moved the record to %s", d.status(r4.ID))
	}
	b.Click(fmt.Sprintf(`button[formaction$="/records/%d/check"]`, r3.ID), ".flash")
	b.WaitText(".flash", "is confirmed")
	b.Screenshot("needs-review-checked-found")
	b.Click(fmt.Sprintf(`button[formaction$="/records/%d/check"]`, r4.ID), ".flash")
	b.WaitText(".flash", "still pending in the Import tool")
	b.Screenshot("needs-review-checked-pending")
	b.Go(fmt.Sprintf("/t/acme/records/%d", r4.ID))
	b.Screenshot("record-needs-review")
	b.Click("details.discard summary", "#reason")
	b.Fill("#reason", "Test payment from the front desk")
	b.Click(`form[action$="/discard"] button[type=submit]`, ".flash")
	b.WaitText(".flash", "Discarded")
	b.Screenshot("record-discarded")
	if d.status(r3.ID) != record.Confirmed || d.status(r4.ID) != record.Discarded {
		t.Errorf("after the needs-review queue: got %s and %s, want confirmed and discarded", d.status(r3.ID), d.status(r4.ID))
	}

	// Conflict: keep the platform's amount, take Virtuous' email.
	b.Go("/t/acme/queues/conflict")
	b.Screenshot("conflict-queue")
	b.Click("td.row-action a", "table.diff")
	b.Screenshot("conflict-record")
	b.Click(`input[name="choice.amount"][value=platform]`, `input[name="choice.amount"]:checked`)
	b.Click(`input[name="choice.email"][value=virtuous]`, `input[name="choice.email"]:checked`)
	b.Click(`form[action$="/resolve"] button[type=submit]`, ".flash")
	b.WaitText(".flash", "Resolved")
	b.Screenshot("conflict-resolved")
	r1 := byPlatform(1)
	if r1.Status != record.Confirmed || r1.DonorEmail != email {
		t.Errorf("after resolving: got %s with email %q, want confirmed with Virtuous' email", r1.Status, r1.DonorEmail)
	}
	d.Eventually("the platform's amount pushed to Virtuous", 30*time.Second, func() bool {
		g, _ := d.Org.Gift(g1.ID)
		return g.Amount == "21.00"
	})

	// Failed: Retry 8 from the queue; fix 7's email and retry it.
	b.Go("/t/acme/queues/failed")
	b.Screenshot("failed-queue")
	r7, r8 := byPlatform(7), byPlatform(8)
	b.Click(fmt.Sprintf(`button[formaction$="/records/%d/retry"]`, r8.ID), ".flash")
	b.WaitText(".flash", "Sent again")
	b.Go(fmt.Sprintf("/t/acme/records/%d", r7.ID))
	b.Screenshot("record-failed")
	b.Click(`a[href$="/edit"]`, "#f-email")
	b.Fill("#f-email", "not an email")
	b.Click(`form.edit button[type=submit]`, `#f-email[aria-invalid=true]`)
	b.Screenshot("edit-refused")
	b.Fill("#f-email", "donor7@example.org")
	b.Click(`form.edit button[type=submit]`, ".flash")
	b.WaitText(".flash", "Saved and sent again")
	d.Eventually("record 7 resubmitted", 30*time.Second, func() bool { return d.status(r7.ID) == record.Submitted })
	b.Go(fmt.Sprintf("/t/acme/records/%d", r7.ID))
	b.WaitText(".timeline", "Edited and retried")
	b.Screenshot("record-resubmitted")

	// The runbook: 5 is in Virtuous but unconfirmed here; apply it.
	b.Go("/t/acme/lookup")
	b.Screenshot("lookup")
	b.Fill("#lq", r5.PlatformID)
	b.Click(".lookup-form button[type=submit]", ".next-step")
	b.WaitText(".next-step", "Apply it now")
	b.Screenshot("lookup-result")
	b.Click(`.next-step form button[type=submit]`, ".flash")
	b.WaitText(".flash", "the record is confirmed")
	b.Screenshot("lookup-applied")
	if d.status(r5.ID) != record.Confirmed {
		t.Errorf("after the runbook: got %s, want confirmed", d.status(r5.ID))
	}

	// The queue on a phone.
	b.Viewport(390, 844)
	b.Go("/t/acme/queues/needs-review")
	b.Screenshot("needs-review-phone")
	b.Viewport(1280, 900)

	b.SignOut()
	b.WaitText(".flash", "You are signed out")
	b.Screenshot("signed-out")
	b.Go("/t/acme/queues/needs-review")
	if !strings.HasPrefix(b.Path(), "/signin") {
		t.Errorf("after signing out, a queue page opened at %s", b.Path())
	}
	for _, p := range b.Problems() {
		// The refused edit and bulk discard answer 400 on purpose; Chromium
		// logs that.
		if strings.Contains(p, "status of 400") && (strings.Contains(p, fmt.Sprintf("/records/%d/edit", r7.ID)) ||
			strings.HasSuffix(p, "/t/acme/queues/needs-review/bulk")) {
			continue
		}
		t.Errorf("the browser saw: %s", p)
	}
	if n := d.count(`audit_log WHERE actor = 'user:` + staffA + `'`); n < 7 {
		t.Errorf("got %d audit rows naming the user, want every action's", n)
	}
}
