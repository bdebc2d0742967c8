package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"backstop/internal/apptest"
	"backstop/internal/record"
	"backstop/internal/virtuoussim"
)

// count is a row count in the dash's database.
func (d *dash) count(where string) int {
	d.t.Helper()
	var n int
	if err := d.App.Store.DB().Get(&n, `SELECT count(*) FROM `+where); err != nil {
		d.t.Fatal(err)
	}
	return n
}

func (d *dash) status(id int64) record.Status {
	d.t.Helper()
	var s record.Status
	d.App.Store.DB().Get(&s, `SELECT status FROM records WHERE id = $1`, id)
	return s
}

func recPath(r *record.Record, suffix string) string {
	return fmt.Sprintf("/t/acme/records/%d%s", r.ID, suffix)
}

func vform(r *record.Record, kv ...string) url.Values {
	v := url.Values{"version": {fmt.Sprint(r.Version)}}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

// flashOf follows a 303 and returns the flash on the page it leads to.
func flashOf(t *testing.T, b *browser, resp *http.Response) string {
	t.Helper()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("got %d, want 303 after an action", resp.StatusCode)
	}
	_, body := b.get(resp.Header.Get("Location"))
	i := strings.Index(body, `class="flash `)
	if i < 0 {
		t.Fatalf("no flash on %s", resp.Header.Get("Location"))
	}
	j := strings.Index(body[i:], "</div>")
	return body[i : i+j]
}

// refusal checks that a form was refused with status want on a page that
// says why (the page the person acted from), and returns what it says.
func refusal(t *testing.T, want int) func(*http.Response, string) string {
	return func(resp *http.Response, body string) string {
		t.Helper()
		return refusalText(t, want, resp, body)
	}
}

func refusalText(t *testing.T, want int, resp *http.Response, body string) string {
	t.Helper()
	if resp.StatusCode != want {
		t.Fatalf("got %d, want %d refusing the form: %s", resp.StatusCode, want, excerpt(body))
	}
	i := strings.Index(body, `class="flash error" role="alert">`)
	if i < 0 {
		t.Fatalf("the %d page does not say why: %s", want, excerpt(body))
	}
	j := strings.Index(body[i:], "</div>")
	return body[i : i+j]
}

func TestRecordPage(t *testing.T) {
	t.Parallel()
	d := newDash(t, apptest.Options{})
	nr := d.put(seed{n: 1, status: record.NeedsReview, age: 80 * time.Hour, lastError: "Virtuous has no Gift for it"})
	done := d.put(seed{n: 2, status: record.Confirmed, virtuousID: 4242, source: record.Eventbrite})
	b := d.as(staffA)
	resp, body := b.get(recPath(nr, ""))
	for _, want := range []string{
		"Donor Number 1", "donor1@example.org", "25.00 USD", "Needs review",
		`href="https://dashboard.stripe.com/test/payments/pi_00000000000001"`,
		`href="https://app.virtuoussoftware.com/Generosity/Import"`, "Open in Virtuous Import tool",
		"Check Virtuous now", "Discard this record", "Received from the platform", "&#34;transactionSource&#34;: &#34;Backstop-Stripe&#34;",
		`class="badge age amber"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("needs-review record page lacks %q", want)
		}
	}
	if resp.StatusCode != 200 {
		t.Fatalf("got %d", resp.StatusCode)
	}
	_, body = b.get(recPath(done, ""))
	for _, want := range []string{
		`href="https://app.virtuoussoftware.com/Generosity/Gift/View/4242"`,
		`href="https://www.eventbrite.com/organizations/orders/0000000002"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("confirmed record page lacks %q", want)
		}
	}
	if strings.Contains(body, "Check Virtuous now") || strings.Contains(body, "Import tool") {
		t.Errorf("a confirmed record offers needs-review actions")
	}
	for _, p := range []string{"/t/acme/records/0", "/t/acme/records/x", "/t/acme/records/999999"} {
		if resp, _ := b.get(p); resp.StatusCode != 404 {
			t.Errorf("%s: got %d, want 404", p, resp.StatusCode)
		}
	}
}

func TestCheckNow(t *testing.T) {
	t.Parallel()
	d := newDash(t, apptest.Options{})
	r := d.put(seed{n: 1, status: record.NeedsReview, age: 80 * time.Hour})
	b := d.as(staffA)
	b.get(recPath(r, ""))
	flash := flashOf(t, b, first(b.post(recPath(r, "/check"), vform(r))))
	if !strings.Contains(flash, "still pending in the Import tool") || d.status(r.ID) != record.NeedsReview {
		t.Errorf("not in Virtuous: got flash %q, status %s", flash, d.status(r.ID))
	}
	if n := d.count(`audit_log WHERE record_id = ` + fmt.Sprint(r.ID) + ` AND action = 'review.checked' AND actor = 'user:` + staffA + `'`); n != 1 {
		t.Errorf("got %d audit rows for the check, want 1 naming the user", n)
	}
	// An admin resolves it in Virtuous; the webhook is not applied (no
	// workers), so only the check can confirm it.
	if _, err := d.Org.CreateGiftDirect(virtuoussim.DirectGift{FirstName: "Donor", LastName: "Number 1", Email: "donor1@example.org",
		Amount: "25.00", TransactionSource: r.ExtSource, TransactionID: r.ExtID}); err != nil {
		t.Fatal(err)
	}
	flash = flashOf(t, b, first(b.post(recPath(r, "/check"), vform(r))))
	if !strings.Contains(flash, "is confirmed") || d.status(r.ID) != record.Confirmed {
		t.Fatalf("in Virtuous: got flash %q, status %s", flash, d.status(r.ID))
	}
	if n := d.count(`audit_log WHERE record_id = ` + fmt.Sprint(r.ID) + ` AND action = 'confirmed.lookup' AND actor = 'user:` + staffA + `' AND from_status = 'needs_review' AND to_status = 'confirmed'`); n != 1 {
		t.Errorf("got %d confirmation audit rows naming the user, want 1", n)
	}
	var via string
	d.App.Store.DB().Get(&via, `SELECT confirmed_via FROM records WHERE id = $1`, r.ID)
	if via != "lookup" {
		t.Errorf("got confirmed_via %q, want lookup", via)
	}
	// Once confirmed, a second check changes nothing and says why.
	if msg := refusal(t, http.StatusConflict)(b.post(recPath(r, "/check"), vform(r))); !strings.Contains(msg, "is confirmed now") {
		t.Errorf("second check: got %q", msg)
	}
}

func first(resp *http.Response, _ string) *http.Response { return resp }

func TestDiscard(t *testing.T) {
	t.Parallel()
	d := newDash(t, apptest.Options{})
	r := d.put(seed{n: 1, status: record.NeedsReview})
	f := d.put(seed{n: 2, status: record.Failed})
	b := d.as(staffA)
	b.get(recPath(r, ""))
	msg := refusal(t, http.StatusBadRequest)(b.post(recPath(r, "/discard"), vform(r, "reason", "  ")))
	if !strings.Contains(msg, "Say why the record is discarded") || d.status(r.ID) != record.NeedsReview {
		t.Errorf("no reason: got %q, status %s", msg, d.status(r.ID))
	}
	msg = refusal(t, http.StatusBadRequest)(b.post(recPath(r, "/discard"), vform(r, "reason", strings.Repeat("é", 501))))
	if !strings.Contains(msg, "Keep the reason to 500 characters") || d.status(r.ID) != record.NeedsReview {
		t.Errorf("a reason too long: got %q, status %s", msg, d.status(r.ID))
	}
	stale := *r
	stale.Version--
	resp, body := b.post(recPath(r, "/discard"), vform(&stale, "reason", "duplicate"))
	if msg := refusalText(t, http.StatusConflict, resp, body); !strings.Contains(msg, "changed since you opened it") || d.status(r.ID) != record.NeedsReview {
		t.Errorf("stale version: got %q, status %s", msg, d.status(r.ID))
	}
	if !strings.Contains(body, "Discard this record") || !strings.Contains(body, "Donor Number 1") {
		t.Errorf("the refusal is not the record's page: %s", excerpt(body))
	}
	// 500 accented letters are 1,000 bytes, and within the limit.
	resp, _ = b.post(recPath(r, "/discard"), vform(r, "reason", "Duplicate of order 7 "+strings.Repeat("é", 479), "back", "/t/acme/queues/needs-review"))
	if loc := resp.Header.Get("Location"); loc != "/t/acme/queues/needs-review" {
		t.Errorf("got redirect to %q, want back to the queue", loc)
	}
	if d.status(r.ID) != record.Discarded {
		t.Fatalf("got %s, want discarded", d.status(r.ID))
	}
	if n := d.count(`audit_log WHERE record_id = ` + fmt.Sprint(r.ID) + ` AND action = 'review.discarded' AND actor = 'user:` + staffA + `' AND details->>'reason' LIKE 'Duplicate of order 7 é%'`); n != 1 {
		t.Errorf("got %d discard audit rows with the reason, want 1", n)
	}
	b.post(recPath(f, "/discard"), vform(f, "reason", "test payment", "back", "https://evil.example/"))
	if d.status(f.ID) != record.Discarded {
		t.Errorf("failed record: got %s, want discarded", d.status(f.ID))
	}
}

func TestRetryAndEdit(t *testing.T) {
	t.Parallel()
	d := newDash(t, apptest.Options{})
	f := d.put(seed{n: 1, status: record.Failed, lastError: "virtuous: POST /api/v2/Gift/Transaction: 400 BAD_REQUEST: email is not valid"})
	g := d.put(seed{n: 2, status: record.Failed, email: "bad@invalid.example"})
	jobs := d.count(`river_job WHERE kind = 'submit'`)
	b := d.as(staffA)
	b.get(recPath(f, ""))
	flash := flashOf(t, b, first(b.post(recPath(f, "/retry"), vform(f))))
	if !strings.Contains(flash, "is pending") || d.status(f.ID) != record.Pending {
		t.Fatalf("retry: got %q, status %s", flash, d.status(f.ID))
	}
	if n := d.count(`river_job WHERE kind = 'submit'`); n != jobs+1 {
		t.Errorf("retry: got %d submit jobs, want %d", n, jobs+1)
	}
	if n := d.count(`audit_log WHERE record_id = ` + fmt.Sprint(f.ID) + ` AND action = 'review.retried' AND actor = 'user:` + staffA + `' AND from_status = 'failed' AND to_status = 'pending'`); n != 1 {
		t.Errorf("retry: got %d audit rows, want 1", n)
	}

	resp, body := b.get(recPath(g, "/edit"))
	if resp.StatusCode != 200 || !strings.Contains(body, `value="bad@invalid.example"`) {
		t.Fatalf("edit page: got %d", resp.StatusCode)
	}
	edit := editForm(g, "email", "not an email")
	resp, body = b.post(recPath(g, "/edit"), edit)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `aria-invalid="true"`) || !strings.Contains(body, "is not an email address") {
		t.Errorf("bad email: got %d %s", resp.StatusCode, excerpt(body))
	}
	if d.status(g.ID) != record.Failed || d.count(`river_job WHERE kind = 'submit'`) != jobs+1 {
		t.Errorf("a refused edit wrote something")
	}
	// A form that is not the page's (a field missing, or one the page does
	// not edit) is refused: a missing field would read as emptied.
	for _, bad := range []url.Values{editForm(g, "city", "Leeds", "last_name", ""), editForm(g, "city", "Leeds", "amount", "30.00")} {
		if _, ok := bad["last_name"]; ok && bad.Get("last_name") == "" {
			bad.Del("last_name")
		}
		resp, body = b.post(recPath(g, "/edit"), bad)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Nothing was saved: the form") {
			t.Errorf("edit form %v: got %d %s", bad, resp.StatusCode, excerpt(between(body, `role="alert"`, "</div>")))
		}
	}
	if d.status(g.ID) != record.Failed || d.count(`river_job WHERE kind = 'submit'`) != jobs+1 {
		t.Errorf("a refused edit wrote something")
	}
	edit = editForm(g, "email", "donor2@example.org", "city", "Leeds", "designation.0", "FOOD")
	flash = flashOf(t, b, first(b.post(recPath(g, "/edit"), edit)))
	if !strings.Contains(flash, "Saved and sent again") || d.status(g.ID) != record.Pending {
		t.Fatalf("good edit: got %q, status %s", flash, d.status(g.ID))
	}
	var email, designations string
	d.App.Store.DB().Get(&email, `SELECT donor_email FROM records WHERE id = $1`, g.ID)
	d.App.Store.DB().Get(&designations, `SELECT payload->'designations'->0->>'code' || '=' || (payload->'designations'->0->>'amountDesignated') FROM records WHERE id = $1`, g.ID)
	if email != "donor2@example.org" || designations != "FOOD=25.00" {
		t.Errorf("got email %q designations %q", email, designations)
	}
	if n := d.count(`audit_log WHERE record_id = ` + fmt.Sprint(g.ID) + ` AND action = 'review.edited' AND actor = 'user:` + staffA + `' AND details->'fields' = '["email","address","designations"]'`); n != 1 {
		t.Errorf("edit: got %d audit rows naming the fields, want 1", n)
	}
}

// Two people resolve the same conflict at the same moment: exactly one
// wins, the other is told who resolved it, and nothing is applied twice.
func TestResolveConflictRace(t *testing.T) {
	t.Parallel()
	d := newDash(t, apptest.Options{})
	c := d.put(seed{n: 1, status: record.Conflict, virtuousID: 99, diffs: []record.Diff{
		{Field: record.FieldAmount, Platform: "25.00", Virtuous: "20.00"},
		{Field: record.FieldEmail, Platform: "donor1@example.org", Virtuous: "d1@example.org"},
	}})
	ann, eve := d.as(staffA), d.as(engineer)
	_, body := ann.get(recPath(c, ""))
	for _, want := range []string{`name="choice.amount"`, `name="choice.email"`, "25.00", "20.00", "Apply and confirm"} {
		if !strings.Contains(body, want) {
			t.Errorf("conflict page lacks %q", want)
		}
	}
	eve.get(recPath(c, ""))
	// A half-filled form is refused and writes nothing.
	msg := refusal(t, http.StatusBadRequest)(ann.post(recPath(c, "/resolve"), vform(c, "choice.amount", "platform")))
	if !strings.Contains(msg, "Choose a side for Email") || d.status(c.ID) != record.Conflict {
		t.Fatalf("half a choice: got %q, status %s", msg, d.status(c.ID))
	}
	// So is a choice for a field the conflict does not hold, or a side
	// that is neither.
	for _, bad := range []url.Values{
		vform(c, "choice.amount", "platform", "choice.email", "virtuous", "choice.phone", "virtuous"),
		vform(c, "choice.amount", "platform", "choice.email", "virtuous", "choice.", "virtuous"),
		vform(c, "choice.amount", "platform", "choice.email", "both"),
		vform(c, "choice.amount", "platform", "choice.email", "virtuous", "choice.email", "platform"),
	} {
		msg := refusal(t, http.StatusBadRequest)(ann.post(recPath(c, "/resolve"), bad))
		if !strings.Contains(msg, "not one of the fields in this conflict") && !strings.Contains(msg, "side for Email") || d.status(c.ID) != record.Conflict {
			t.Errorf("%v: got %q, status %s", bad, msg, d.status(c.ID))
		}
	}
	form := vform(c, "choice.amount", "platform", "choice.email", "virtuous")
	var wg sync.WaitGroup
	resps := make([]*http.Response, 2)
	resolveBodies := make([]string, 2)
	for i, b := range []*browser{ann, eve} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resps[i], resolveBodies[i] = b.post(recPath(c, "/resolve"), clone(form))
		}()
	}
	wg.Wait()
	// The winner is sent on (303); the other is refused (409) with who won.
	flashes := make([]string, 2)
	for i, b := range []*browser{ann, eve} {
		if resps[i].StatusCode == http.StatusSeeOther {
			flashes[i] = flashOf(t, b, resps[i])
		} else {
			flashes[i] = resolveBodies[i]
			if resps[i].StatusCode != http.StatusConflict {
				t.Errorf("resolver %d: got %d, want 303 or 409", i, resps[i].StatusCode)
			}
		}
	}
	emails := []string{staffA, engineer}
	winner := -1
	for i, f := range flashes {
		if strings.Contains(f, "Resolved:") {
			if winner >= 0 {
				t.Fatalf("both resolved: %q", flashes)
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatalf("nobody resolved: %q", flashes)
	}
	if loser := flashes[1-winner]; !strings.Contains(loser, "already resolved by "+emails[winner]) || !strings.Contains(loser, "Nothing was applied twice") {
		t.Errorf("the second resolver was told %q, want who resolved it", loser)
	}
	if d.status(c.ID) != record.Confirmed {
		t.Errorf("got %s, want confirmed", d.status(c.ID))
	}
	if n := d.count(`audit_log WHERE record_id = ` + fmt.Sprint(c.ID) + ` AND action = 'conflict.resolved'`); n != 1 {
		t.Errorf("got %d resolutions in the audit trail, want 1", n)
	}
	if n := d.count(`river_job WHERE kind = 'push_virtuous'`); n != 1 {
		t.Errorf("got %d pushes of the platform's amount to Virtuous, want 1", n)
	}
	if n := d.count(`changes WHERE record_id = ` + fmt.Sprint(c.ID) + ` AND change = 'apply' AND data->'apply'->>'email' = 'd1@example.org'`); n != 1 {
		t.Errorf("got %d changes-feed rows giving the platform Virtuous' email, want 1", n)
	}
	// A later attempt (a reload and submit) is told by whom.
	if msg := refusal(t, http.StatusConflict)(eve.post(recPath(c, "/resolve"), clone(form))); !strings.Contains(msg, "already resolved by") {
		t.Errorf("late resolve: got %q", msg)
	}
}

func TestBulkActions(t *testing.T) {
	t.Parallel()
	d := newDash(t, apptest.Options{})
	var nr, fl, cf []*record.Record
	for i := 1; i <= 3; i++ {
		nr = append(nr, d.put(seed{n: i, status: record.NeedsReview}))
		fl = append(fl, d.put(seed{n: 10 + i, status: record.Failed}))
		cf = append(cf, d.put(seed{n: 20 + i, status: record.Conflict, virtuousID: int64(500 + i),
			diffs: []record.Diff{{Field: record.FieldAmount, Platform: "25.00", Virtuous: "30.00"}}}))
	}
	other := d.put(seed{tenant: d.beta, n: 40, status: record.NeedsReview})
	sel := func(rs ...*record.Record) []string {
		var out []string
		for _, r := range rs {
			out = append(out, fmt.Sprintf("%d:%d", r.ID, r.Version))
		}
		return out
	}
	b := d.as(staffA)
	b.get("/t/acme/queues/needs-review")
	back := "/t/acme/queues/needs-review?sort=newest"
	resp, body := b.post("/t/acme/queues/needs-review/bulk", url.Values{"action": {"discard"}, "sel": sel(nr[0], nr[1]), "back": {back}})
	if msg := refusalText(t, http.StatusBadRequest, resp, body); !strings.Contains(msg, "Give a reason") || d.status(nr[0].ID) != record.NeedsReview {
		t.Errorf("bulk discard without reason: got %q", msg)
	}
	if !strings.Contains(body, `<option value="newest" selected`) || !strings.Contains(body, `name="back" value="`+strings.ReplaceAll(back, "&", "&amp;")+`"`) {
		t.Errorf("the refusal is not the queue page the form came from, with its filters: %s", excerpt(between(body, `<form id="bulk"`, "</table>")))
	}
	for _, bad := range [][]string{{"x"}, {fmt.Sprint(nr[0].ID)}, {fmt.Sprintf("%d:0", nr[0].ID)}, append(sel(nr[0]), "12:x")} {
		if msg := refusal(t, http.StatusBadRequest)(b.post("/t/acme/queues/needs-review/bulk", url.Values{"action": {"discard"}, "reason": {"x"}, "sel": bad})); !strings.Contains(msg, "could not be read") {
			t.Errorf("selection %q: got %q", bad, msg)
		}
	}
	flash := flashOf(t, b, first(b.post("/t/acme/queues/needs-review/bulk", url.Values{"action": {"discard"}, "reason": {"test gifts"},
		"sel": append(sel(nr[0], nr[1]), sel(other)...)})))
	if !strings.Contains(flash, "Discarded 2 records") || !strings.Contains(flash, "1 record not found in this tenant") {
		t.Errorf("bulk discard: got %q", flash)
	}
	if d.status(nr[0].ID) != record.Discarded || d.status(nr[1].ID) != record.Discarded || d.status(other.ID) != record.NeedsReview {
		t.Errorf("bulk discard: got %s %s, other tenant's %s", d.status(nr[0].ID), d.status(nr[1].ID), d.status(other.ID))
	}
	flash = flashOf(t, b, first(b.post("/t/acme/queues/needs-review/bulk", url.Values{"action": {"check"}, "sel": sel(nr[2])})))
	if !strings.Contains(flash, "Checked 1 record: 0 confirmed, 1 still waiting") {
		t.Errorf("bulk check: got %q", flash)
	}
	flash = flashOf(t, b, first(b.post("/t/acme/queues/failed/bulk", url.Values{"action": {"retry"}, "sel": sel(fl...)})))
	if !strings.Contains(flash, "Sent 3 records again") || d.status(fl[2].ID) != record.Pending {
		t.Errorf("bulk retry: got %q", flash)
	}
	// The page's versions guard each row: a row that changed is left
	// alone, and an action that changed no row is refused.
	if msg := refusal(t, http.StatusConflict)(b.post("/t/acme/queues/failed/bulk", url.Values{"action": {"retry"}, "sel": sel(fl[0])})); !strings.Contains(msg, "Nothing was changed. 1 record left alone") {
		t.Errorf("bulk retry of a moved record: got %q", msg)
	}
	if msg := refusal(t, http.StatusNotFound)(b.post("/t/acme/queues/needs-review/bulk", url.Values{"action": {"check"}, "sel": sel(other)})); !strings.Contains(msg, "1 record not found in this tenant") {
		t.Errorf("bulk check of another tenant's record: got %q", msg)
	}
	flash = flashOf(t, b, first(b.post("/t/acme/queues/conflict/bulk", url.Values{"action": {"keep-platform"}, "sel": sel(cf[0], cf[1])})))
	if !strings.Contains(flash, "Resolved 2 records, keeping the platform") || d.status(cf[1].ID) != record.Confirmed {
		t.Errorf("bulk resolve: got %q", flash)
	}
	if msg := refusal(t, http.StatusBadRequest)(b.post("/t/acme/queues/conflict/bulk", url.Values{"action": {"retry"}, "sel": sel(cf[2])})); !strings.Contains(msg, "not available in this queue") || d.status(cf[2].ID) != record.Conflict {
		t.Errorf("wrong action for the queue: got %q", msg)
	}
}

// editForm is the edit page's form for r as the page fills it, with kv
// changed.
func editForm(r *record.Record, kv ...string) url.Values {
	first, last, _ := strings.Cut(r.DonorName, " ")
	v := vform(r, "first_name", first, "last_name", last, "email", r.DonorEmail,
		"address1", "", "address2", "", "city", "", "state", "", "postal", "", "country", "", "designation.0", "")
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

func clone(v url.Values) url.Values {
	out := url.Values{}
	for k, x := range v {
		out[k] = append([]string(nil), x...)
	}
	return out
}
