//go:build faults

package faults_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"backstop/internal/apptest"
	"backstop/internal/auth"
	"backstop/internal/escalate"
	"backstop/internal/record"
	"backstop/internal/store"
	"backstop/internal/tenant"
	"backstop/internal/virtuoussim"
)

// field is one field of a form; a form is its fields in the order sent.
type field struct{ k, v string }

type form []field

func (f form) encode() string {
	parts := make([]string, len(f))
	for i, x := range f {
		parts[i] = url.QueryEscape(x.k) + "=" + url.QueryEscape(x.v)
	}
	return strings.Join(parts, "&")
}

// set replaces k's value, or adds k at the end.
func (f form) set(k, v string) form {
	out := append(form(nil), f...)
	for i := range out {
		if out[i].k == k {
			out[i].v = v
			return out
		}
	}
	return append(out, field{k, v})
}

func (f form) add(k, v string) form { return append(append(form(nil), f...), field{k, v}) }

func (f form) del(k string) form {
	var out form
	for _, x := range f {
		if x.k != k {
			out = append(out, x)
		}
	}
	return out
}

func (f form) get(k string) string {
	for _, x := range f {
		if x.k == k {
			return x.v
		}
	}
	return ""
}

// formRoute is a browser route that takes a form.
type formRoute struct {
	name         string
	method, path string // as routed
	// client is who posts: a signed-in staff member or engineer, or
	// anonymous for sign-in.
	client func() *formClient
	// subject makes what one request acts on — a record in the right
	// state, an open escalation — and returns the URL and the valid form.
	// The form's last field is a required one, so that every well-formed
	// prefix of it is incomplete (see prefixes).
	subject func() (string, form)
	// prefixes, when set, says why a well-formed prefix of the valid form
	// may legitimately be a request of its own, so prefixes are not sent.
	prefixes string
	// tokenInBody sends the CSRF token as the form's last field, not in
	// the header (sign-out, whose form has no other field).
	tokenInBody bool
	cases       []formCase
}

// formCase is one wrong request made from the valid one: its URL and form
// changed, the status it must get (0: any 4xx), and words the answer must
// hold.
type formCase struct {
	what string
	url  func(u string) string
	form func(f form) form
	want int
	says string
}

// Every browser route that takes a form gets bodies that are too large,
// cut short in transit, cut at every byte, garbled, and wrongly valued —
// each sent by a signed-in user of the right role with the session's CSRF
// token and this origin, so that it reaches the handler — and one without
// the token and one from another origin. Each is refused with a 4xx on a
// page that says why (a 403 from CSRF for the last two), and nothing is
// written: no row in any table, no record, conflict or escalation changed.
func testBadForms(t *testing.T, e *apptest.Env) []formRoute {
	f := newFormFixture(t, e)
	routes := f.routes()
	for _, r := range routes {
		t.Run(r.name, func(t *testing.T) { f.run(t, r) })
	}
	return routes
}

type formFixture struct {
	t                *testing.T
	e                *apptest.Env
	beta             *tenant.Tenant
	betaToken        string
	staff, engineer  string
	n                int
	clients          map[string]*formClient
	otherRecord      int64 // beta's, for "another tenant's record"
	otherEscalation  int64 // beta's
	ackedEscalation  int64
	escalationsRaise int
}

const formPassword = "forms password 2026"

func newFormFixture(t *testing.T, e *apptest.Env) *formFixture {
	f := &formFixture{t: t, e: e, staff: "staff@acme.example", engineer: "eng@backstop.example", n: 1000, clients: map[string]*formClient{}}
	f.beta, f.betaToken = e.AddTenant("beta", "sim-key-beta", "", nil)
	// Virtuous loses every webhook: the runbook's gifts are ones Backstop
	// never heard of, and no delivery lands between two snapshots.
	e.Org.SetConfig(virtuoussim.OrgConfig{WebhookLossRate: 1})
	ctx := context.Background()
	hash, err := auth.HashPassword(formPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.App.Store.CreateUser(ctx, f.staff, auth.Staff, &e.Tenant.ID, hash); err != nil {
		t.Fatal(err)
	}
	if _, err := e.App.Store.CreateUser(ctx, f.engineer, auth.Engineer, nil, hash); err != nil {
		t.Fatal(err)
	}
	f.otherRecord = f.record(f.beta, f.betaToken, record.NeedsReview)
	f.otherEscalation = f.escalation(f.beta)
	f.ackedEscalation = f.escalation(e.Tenant)
	if _, err := escalate.Acknowledge(ctx, e.App.Store, e.Tenant.ID, f.ackedEscalation, "user:"+f.engineer, e.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	return f
}

// signedIn is a client signed in as email, made once.
func (f *formFixture) signedIn(email string) func() *formClient {
	return func() *formClient {
		if c := f.clients[email]; c != nil {
			return c
		}
		c := newFormClient(f.t, f.e.Web.URL)
		c.signIn(email, formPassword)
		f.clients[email] = c
		return c
	}
}

func (f *formFixture) anonymous() *formClient {
	c := newFormClient(f.t, f.e.Web.URL)
	c.page("/signin")
	return c
}

// record puts a gift through the partner API and moves it to st, as if
// the pipeline had (a conflict gets one on amount and email).
func (f *formFixture) record(tn *tenant.Tenant, token string, st record.Status) int64 {
	t := f.t
	f.n++
	pid := fmt.Sprintf("form-%d", f.n)
	req, _ := http.NewRequest("PUT", f.e.Web.URL+"/api/v1/records/gift/"+pid, strings.NewReader(apptest.Gift(f.n, "25.00")))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("seeding %s: %d", pid, resp.StatusCode)
	}
	db := f.e.App.Store.DB()
	var id int64
	if err := db.Get(&id, `SELECT id FROM records WHERE tenant_id = $1 AND platform_id = $2`, tn.ID, pid); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE records SET status = $2, submitted_at = $3, virtuous_id = CASE WHEN $2 = 'conflict' THEN $1 END,
		last_error = CASE WHEN $2 = 'failed' THEN 'virtuous: 400 BAD_REQUEST: email is not valid' ELSE last_error END,
		attempts = CASE WHEN $2 = 'failed' THEN 3 ELSE attempts END, version = version + 1 WHERE id = $1`,
		id, st, f.e.Clock.Now().Add(-80*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE river_job SET state = 'completed', finalized_at = now() WHERE kind = 'submit' AND (args->>'record_id')::bigint = $1`, id); err != nil {
		t.Fatal(err)
	}
	if st == record.Conflict {
		diffs, _ := json.Marshal([]record.Diff{{Field: record.FieldAmount, Platform: "25.00", Virtuous: "30.00"},
			{Field: record.FieldEmail, Platform: fmt.Sprintf("donor%d@example.org", f.n), Virtuous: "moved@example.org"}})
		if err := f.e.App.Store.InsertConflict(context.Background(), db, &store.ConflictRow{TenantID: tn.ID, RecordID: id,
			CreatedAt: f.e.Clock.Now(), Fields: diffs, RecordVersion: 2}); err != nil {
			t.Fatal(err)
		}
	}
	return id
}

// escalation raises an open escalation of tn, one day each.
func (f *formFixture) escalation(tn *tenant.Tenant) int64 {
	f.escalationsRaise++
	r := &escalate.Raiser{Store: f.e.App.Store}
	if err := r.Raise(context.Background(), tn.ID, escalate.FailedRecords, f.e.Clock.Now().AddDate(0, 0, -f.escalationsRaise), "forms test", nil); err != nil {
		f.t.Fatal(err)
	}
	var id int64
	if err := f.e.App.Store.DB().Get(&id, `SELECT max(id) FROM escalations`); err != nil {
		f.t.Fatal(err)
	}
	return id
}

func (f *formFixture) recordURL(id int64, action string) string {
	return fmt.Sprintf("%s/t/acme/records/%d/%s", f.e.Web.URL, id, action)
}

// onRecord is a record action's subject: a fresh acme record in st and the
// form its page would send, the version last.
func (f *formFixture) onRecord(st record.Status, action string, fields ...string) func() (string, form) {
	return func() (string, form) {
		id := f.record(f.e.Tenant, f.e.Token, st)
		var fm form
		for i := 0; i+1 < len(fields); i += 2 {
			fm = append(fm, field{fields[i], fields[i+1]})
		}
		return f.recordURL(id, action), fm.add("version", "2")
	}
}

// recordCases are the wrong requests every record action gets: its record
// not there, and its version missing, garbled or stale.
func (f *formFixture) recordCases() []formCase {
	swapID := func(to string) func(string) string {
		return func(u string) string {
			i := strings.Index(u, "/records/") + len("/records/")
			j := i + strings.Index(u[i:], "/")
			return u[:i] + to + u[j:]
		}
	}
	version := func(v string) func(form) form { return func(fm form) form { return fm.set("version", v) } }
	return []formCase{
		{what: "a record id that is not a number", url: swapID("x12"), want: 404},
		{what: "record id 0", url: swapID("0"), want: 404},
		{what: "a negative record id", url: swapID("-5"), want: 404},
		{what: "a record id past int64", url: swapID("99999999999999999999"), want: 404},
		{what: "a record that does not exist", url: swapID("987654321"), want: 404},
		{what: "another tenant's record", url: swapID(fmt.Sprint(f.otherRecord)), want: 404},
		{what: "no version", form: func(fm form) form { return fm.del("version") }, want: 400, says: "which version"},
		{what: "an empty version", form: version(""), want: 400, says: "which version"},
		{what: "a version that is not a number", form: version("two"), want: 400, says: "which version"},
		{what: "version 0 (unguarded, to the store)", form: version("0"), want: 400, says: "which version"},
		{what: "a negative version", form: version("-2"), want: 400, says: "which version"},
		{what: "a fractional version", form: version("2.0"), want: 400, says: "which version"},
		{what: "a version past int64", form: version("99999999999999999999"), want: 400, says: "which version"},
		{what: "a stale version", form: version("1"), want: 409, says: "changed since you opened it"},
		{what: "a version from the future", form: version("3"), want: 409, says: "changed since you opened it"},
		{what: "the version twice", form: func(fm form) form { return fm.add("version", "1") }, want: 0},
	}
}

func (f *formFixture) routes() []formRoute {
	staff, engineer := f.signedIn(f.staff), f.signedIn(f.engineer)
	back := "/t/acme/queues/needs-review"
	reason := func(v string) func(form) form { return func(fm form) form { return fm.set("reason", v) } }
	without := func(k string) func(form) form { return func(fm form) form { return fm.del(k) } }
	set := func(k, v string) func(form) form { return func(fm form) form { return fm.set(k, v) } }
	with := func(k, v string) func(form) form { return func(fm form) form { return fm.add(k, v) } }
	long := strings.Repeat("é", 501)
	editFields := []string{"first_name", "Donor", "last_name", "Fixed", "email", "fixed@example.org", "address1", "1 Main St",
		"address2", "", "city", "Oslo", "state", "", "postal", "0150", "country", "NO", "designation.0", "FOOD"}
	bulk := func(queue string, st record.Status, action string, extra ...string) func() (string, form) {
		return func() (string, form) {
			id := f.record(f.e.Tenant, f.e.Token, st)
			fm := form{{"back", "/t/acme/queues/" + queue}}
			for i := 0; i+1 < len(extra); i += 2 {
				fm = append(fm, field{extra[i], extra[i+1]})
			}
			return f.e.Web.URL + "/t/acme/queues/" + queue + "/bulk", fm.add("sel", fmt.Sprintf("%d:2", id)).add("action", action)
		}
	}
	sel := func(v ...string) func(form) form {
		return func(fm form) form {
			fm = fm.del("sel")
			for _, x := range v {
				fm = fm.add("sel", x)
			}
			return fm
		}
	}
	many := make([]string, 101)
	for i := range many {
		many[i] = fmt.Sprintf("%d:2", 900000+i)
	}
	lost := 0
	ack := func(id int64) func(string) string {
		return func(u string) string {
			return u[:strings.Index(u, "/escalations/")] + fmt.Sprintf("/escalations/%d/acknowledge", id)
		}
	}
	ackID := func(v string) func(string) string {
		return func(u string) string {
			return u[:strings.Index(u, "/escalations/")] + "/escalations/" + v + "/acknowledge"
		}
	}

	return []formRoute{
		{
			name: "SignIn", method: "POST", path: "/signin", client: f.anonymous,
			subject: func() (string, form) {
				return f.e.Web.URL + "/signin", form{{"next", "/"}, {"password", formPassword}, {"email", f.staff}}
			},
			prefixes: "a shorter email or password is a sign-in attempt with wrong credentials: refused (401) and counted by the throttle, by design",
			cases: []formCase{
				{what: "no email", form: without("email"), want: 400, says: "Enter your email and password"},
				{what: "an empty email", form: set("email", ""), want: 400, says: "Enter your email and password"},
				{what: "no password", form: without("password"), want: 400, says: "Enter your email and password"},
				{what: "an empty password", form: set("password", ""), want: 400, says: "Enter your email and password"},
				{what: "an email of 300 characters", form: set("email", strings.Repeat("a", 290)+"@example.org"), want: 400, says: "That is not an email address"},
			},
		},
		{
			name: "SignOut", method: "POST", path: "/signout", client: func() *formClient {
				c := newFormClient(f.t, f.e.Web.URL)
				c.signIn(f.staff, formPassword)
				return c
			},
			subject:     func() (string, form) { return f.e.Web.URL + "/signout", nil },
			tokenInBody: true,
		},
		{
			name: "Check", method: "POST", path: "/t/:tenant/records/:id/check", client: staff,
			subject: f.onRecord(record.NeedsReview, "check", "back", back),
			cases:   f.recordCases(),
		},
		{
			name: "Discard", method: "POST", path: "/t/:tenant/records/:id/discard", client: staff,
			subject: f.onRecord(record.NeedsReview, "discard", "back", back, "reason", "Duplicate of order 7"),
			cases: append(f.recordCases(),
				formCase{what: "no reason", form: without("reason"), want: 400, says: "Say why the record is discarded"},
				formCase{what: "a blank reason", form: reason("   "), want: 400, says: "Say why the record is discarded"},
				formCase{what: "a reason of 501 characters", form: reason(long), want: 400, says: "Keep the reason to 500 characters"},
				formCase{what: "a reason with a NUL byte (PostgreSQL's jsonb refuses it)", form: reason("Dup\x00licate"), want: 400, says: "cannot store"},
			),
		},
		{
			name: "Retry", method: "POST", path: "/t/:tenant/records/:id/retry", client: staff,
			subject: f.onRecord(record.Failed, "retry", "back", "/t/acme/queues/failed"),
			cases:   f.recordCases(),
		},
		{
			name: "Resolve", method: "POST", path: "/t/:tenant/records/:id/resolve", client: staff,
			subject: f.onRecord(record.Conflict, "resolve", "choice.amount", "platform", "choice.email", "virtuous"),
			cases: append(f.recordCases(),
				formCase{what: "a field left unchosen", form: without("choice.email"), want: 400, says: "Choose a side for Email"},
				formCase{what: "no choice at all", form: func(fm form) form { return fm.del("choice.email").del("choice.amount") }, want: 400, says: "Choose a side for"},
				formCase{what: "a side that is neither", form: set("choice.email", "both"), want: 400, says: "Choose a side for Email"},
				formCase{what: "an empty side", form: set("choice.amount", ""), want: 400, says: "Choose a side for Amount"},
				formCase{what: "a field the conflict does not hold", form: with("choice.phone", "virtuous"), want: 400, says: "not one of the fields in this conflict"},
				formCase{what: "a field with no name", form: with("choice.", "virtuous"), want: 400, says: "not one of the fields in this conflict"},
				formCase{what: "a field chosen twice", form: with("choice.email", "platform"), want: 400, says: "Choose one side for Email"},
			),
		},
		{
			name: "Edit", method: "POST", path: "/t/:tenant/records/:id/edit", client: staff,
			subject: f.onRecord(record.Failed, "edit", editFields...),
			cases: append(f.recordCases(),
				formCase{what: "an email that is not one", form: set("email", "fixed at example.org"), want: 400, says: "fix the field marked below"},
				formCase{what: "a name with a NUL byte", form: set("first_name", "Do\x00nor"), want: 400, says: "cannot store"},
				formCase{what: "an amount (the form has none)", form: with("amount", "thirty"), want: 400, says: "does not edit (amount)"},
				formCase{what: "an amount that is a number", form: with("amount", "30.00"), want: 400, says: "does not edit (amount)"},
				formCase{what: "a designation the gift does not have", form: with("designation.1", "SHELTER"), want: 400, says: "does not edit (designation.1)"},
				formCase{what: "no email field", form: without("email"), want: 400, says: "the form is missing email"},
				formCase{what: "no last name field", form: without("last_name"), want: 400, says: "the form is missing last_name"},
				formCase{what: "no designation field", form: without("designation.0"), want: 400, says: "the form is missing designation.0"},
				formCase{what: "nothing changed", form: func(fm form) form {
					return fm.set("last_name", "Number "+fmt.Sprint(f.n)).set("email", fmt.Sprintf("donor%d@example.org", f.n)).
						set("address1", "").set("city", "").set("postal", "").set("country", "").set("designation.0", "")
				}, want: 400, says: "nothing was changed"},
			),
		},
		{
			name: "Bulk", method: "POST", path: "/t/:tenant/queues/:queue/bulk", client: staff,
			subject: bulk("needs-review", record.NeedsReview, "discard", "reason", "Test gifts"),
			cases: []formCase{
				{what: "a queue that is not one", url: func(u string) string { return strings.Replace(u, "needs-review/bulk", "pending/bulk", 1) }, want: 404},
				{what: "a queue name with a path in it", url: func(u string) string { return strings.Replace(u, "needs-review/bulk", "..%2Ffailed/bulk", 1) }, want: 404},
				{what: "no action", form: without("action"), want: 400, says: "not available in this queue"},
				{what: "an unknown action", form: set("action", "explode"), want: 400, says: "not available in this queue"},
				{what: "another queue's action", form: set("action", "retry"), want: 400, says: "not available in this queue"},
				{what: "an action in capitals", form: set("action", "DISCARD"), want: 400, says: "not available in this queue"},
				{what: "no selection", form: without("sel"), want: 400, says: "Select one or more records first"},
				{what: "a selection that is not id:version", form: sel("x"), want: 400, says: "could not be read"},
				{what: "a selection without a version", form: sel(fmt.Sprint(f.otherRecord)), want: 400, says: "could not be read"},
				{what: "a selection with version 0", form: sel(fmt.Sprintf("%d:0", f.otherRecord)), want: 400, says: "could not be read"},
				{what: "a selection with a garbled version", form: sel(fmt.Sprintf("%d:two", f.otherRecord)), want: 400, says: "could not be read"},
				{what: "a negative id", form: sel("-4:2"), want: 400, says: "could not be read"},
				{what: "a good row and a garbled one", form: func(fm form) form { return fm.add("sel", "12:x") }, want: 400, says: "could not be read"},
				{what: "101 rows", form: sel(many...), want: 400, says: "at most 100"},
				{what: "another tenant's record", form: sel(fmt.Sprintf("%d:2", f.otherRecord)), want: 404, says: "not found in this tenant"},
				{what: "a stale version", form: func(fm form) form { return fm.set("sel", strings.Replace(fm.get("sel"), ":2", ":1", 1)) }, want: 409, says: "left alone"},
				{what: "no reason", form: without("reason"), want: 400, says: "Give a reason"},
				{what: "a blank reason", form: reason(" \t "), want: 400, says: "Give a reason"},
				{what: "a reason of 501 characters", form: reason(long), want: 400, says: "Keep the reason to 500 characters"},
				{what: "a reason with a NUL byte", form: reason("Test\x00gifts"), want: 400, says: "cannot store"},
			},
		},
		{
			name: "LookupApply", method: "POST", path: "/t/:tenant/lookup/apply", client: staff,
			subject: func() (string, form) {
				lost++
				ref := fmt.Sprintf("pi_formslost%04d", lost)
				if _, err := f.e.Org.CreateGiftDirect(virtuoussim.DirectGift{FirstName: "Only", LastName: "InVirtuous", Email: "only@example.org",
					Amount: "12.00", TransactionSource: "Backstop-Stripe", TransactionID: ref}); err != nil {
					f.t.Fatal(err)
				}
				return f.e.Web.URL + "/t/acme/lookup/apply", form{{"q", ref}, {"kind", "gift"}, {"source", "Backstop-Stripe"}, {"ref", ref}}
			},
			cases: []formCase{
				{what: "no kind", form: without("kind"), want: 400, says: "Say which gift or contact"},
				{what: "an unknown kind", form: set("kind", "donation"), want: 400, says: "Say which gift or contact"},
				{what: "the wrong kind", form: set("kind", "contact"), want: 400, says: "no longer has"},
				{what: "no source", form: without("source"), want: 400, says: "Say which gift or contact"},
				{what: "no reference", form: without("ref"), want: 400, says: "Say which gift or contact"},
				{what: "a blank reference", form: set("ref", "  "), want: 400, says: "Say which gift or contact"},
				{what: "a reference Virtuous does not have", form: set("ref", "pi_nobodyhasthis"), want: 400, says: "no longer has"},
				{what: "a reference of 1,000 characters", form: set("ref", strings.Repeat("p", 1000)), want: 400},
				{what: "a reference with a slash", form: set("ref", "pi_1/../../Contact/1"), want: 400},
			},
		},
		{
			name: "Acknowledge", method: "POST", path: "/t/:tenant/escalations/:id/acknowledge", client: engineer,
			subject: func() (string, form) {
				return f.e.Web.URL + fmt.Sprintf("/t/acme/escalations/%d/acknowledge", f.escalation(f.e.Tenant)), form{{"back", "/engineering"}}
			},
			prefixes: "its one field, back, is optional: the escalation is named by the URL",
			cases: []formCase{
				{what: "an id that is not a number", url: ackID("first"), want: 404},
				{what: "id 0", url: ackID("0"), want: 404},
				{what: "an escalation that does not exist", url: ackID("987654321"), want: 404},
				{what: "another tenant's escalation", url: ack(f.otherEscalation), want: 404},
				{what: "one already acknowledged", url: ack(f.ackedEscalation), want: 409, says: "Already acknowledged by " + f.engineer},
			},
		},
	}
}

// run sends route r every bad request.
func (f *formFixture) run(t *testing.T, r formRoute) {
	e := f.e
	c := r.client()
	u, valid := r.subject()
	send := func(u string, fm form, o sendOpts) (int, string) {
		if r.tokenInBody && !o.noToken {
			fm = fm.add("_csrf", c.csrf)
			o.noToken = true
		}
		return c.post(u, fm.encode(), o)
	}
	if status, msg := send(u, valid, sendOpts{}); status != http.StatusSeeOther {
		t.Fatalf("the valid form is refused (%d %q): the cases below would prove nothing", status, msg)
	}
	// A fresh client where the valid form changed the session (sign-in
	// replaced its token, sign-out ended it).
	c = r.client()
	u, valid = r.subject()
	before := formSnapshot(t, e)
	cases := 0
	refuse := func(what string, status int, msg string, want int, says string) {
		t.Helper()
		cases++
		if status < 400 || status >= 500 || (want != 0 && status != want) || msg == "" || !strings.Contains(msg, says) {
			t.Errorf("%s: got %d %q, want %d with a message saying %q", what, status, msg, want, says)
		}
		if after := formSnapshot(t, e); after != before {
			t.Errorf("%s: something was written:\n before %s\n after  %s", what, before, after)
			u, valid = r.subject() // a fresh subject, so the next case is not refused for this one's change
			before = formSnapshot(t, e)
		}
	}
	body := valid.encode()
	if r.tokenInBody {
		body = valid.add("_csrf", c.csrf).encode()
	}
	status, msg := c.post(u, valid.add("note", strings.Repeat("x", 64<<10)).encode(), sendOpts{})
	refuse("over 64 KiB", status, msg, http.StatusRequestEntityTooLarge, "larger than Backstop accepts")
	// Each appended to the last field's value, one the handler reads.
	status, msg = c.post(u, body+"%zz", sendOpts{noToken: r.tokenInBody})
	refuse("a broken %-escape", status, msg, http.StatusBadRequest, "incomplete or garbled")
	status, msg = c.post(u, body+"%00", sendOpts{noToken: r.tokenInBody})
	refuse("a NUL byte", status, msg, http.StatusBadRequest, "cannot store")
	status, msg = c.post(u, body+"%C3%28", sendOpts{noToken: r.tokenInBody})
	refuse("text that is not UTF-8", status, msg, http.StatusBadRequest, "cannot store")
	status, msg = c.post(u, `{"version":2}`, sendOpts{contentType: "application/json"})
	refuse("a JSON body", status, msg, http.StatusUnsupportedMediaType, "application/x-www-form-urlencoded")
	status, msg = c.post(u, valid.encode(), sendOpts{noToken: true})
	refuse("no CSRF token", status, msg, http.StatusForbidden, "did not come from Backstop")
	status, msg = c.post(u, valid.encode(), sendOpts{origin: "https://evil.example"})
	refuse("from another origin", status, msg, http.StatusForbidden, "came from another site")
	for n := range len(body) {
		status, msg := c.postCutShort(u, body, n)
		refuse(fmt.Sprintf("cut short in transit at %d of %d bytes", n, len(body)), status, msg, http.StatusBadRequest, "incomplete or garbled")
	}
	prefixes := 0
	if r.prefixes == "" {
		for n := range len(body) {
			status, msg := c.post(u, body[:n], sendOpts{noToken: r.tokenInBody})
			refuse(fmt.Sprintf("cut to its first %d bytes (%q)", n, body[:n]), status, msg, 0, "")
			prefixes++
		}
	}
	for _, k := range r.cases {
		cu, cf := u, valid
		if k.url != nil {
			cu = k.url(u)
		}
		if k.form != nil {
			cf = k.form(valid)
		}
		status, msg := send(cu, cf, sendOpts{})
		refuse(k.what, status, msg, k.want, k.says)
	}
	note := ""
	if r.prefixes != "" {
		note = " (no well-formed prefixes: " + r.prefixes + ")"
	}
	t.Logf("%s %s: %d refused — 7 bad bodies, %d cut short in transit, %d prefixes, %d wrong values%s", r.method, r.path, cases, len(body), prefixes, len(r.cases), note)
}

// formSnapshot is every table's row count and the state of what forms act
// on (records, conflicts, escalations, users), as one string to compare:
// an action that moved a record without an audit row would show here too.
func formSnapshot(t *testing.T, e *apptest.Env) string {
	t.Helper()
	var digest string
	if err := e.App.Store.DB().Get(&digest, `SELECT concat_ws(' ',
		(SELECT md5(string_agg(concat_ws(',', id, status, version, donor_email, donor_name, payload_sha, last_error), ';' ORDER BY id)) FROM records),
		(SELECT md5(string_agg(concat_ws(',', id, resolved_at, resolution), ';' ORDER BY id)) FROM conflicts),
		(SELECT md5(string_agg(concat_ws(',', id, acknowledged_at, acknowledged_by), ';' ORDER BY id)) FROM escalations),
		(SELECT md5(string_agg(concat_ws(',', id, password_hash, last_login_at), ';' ORDER BY id)) FROM users))`); err != nil {
		t.Fatal(err)
	}
	return rowCounts(t, e) + " digest=" + digest
}

// formClient is a browser without a browser: cookies, the session's CSRF
// token read from each page, no redirects followed.
type formClient struct {
	t    *testing.T
	base string
	c    *http.Client
	csrf string
}

var (
	csrfField = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)
	// alertText is a page's error message: a refused form's flash, a form's
	// error, or an error page's heading.
	alertText = regexp.MustCompile(`role="alert"[^>]*>([^<]+)<|<div class="card"><h1>([^<]+)</h1>`)
)

func newFormClient(t *testing.T, base string) *formClient {
	jar, _ := cookiejar.New(nil)
	return &formClient{t: t, base: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

func (c *formClient) read(resp *http.Response) string {
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if m := csrfField.FindSubmatch(b); m != nil {
		c.csrf = string(m[1])
	}
	return string(b)
}

func (c *formClient) page(path string) string {
	c.t.Helper()
	resp, err := c.c.Get(c.base + path)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.read(resp)
}

func (c *formClient) signIn(email, password string) {
	c.t.Helper()
	c.page("/signin")
	if status, msg := c.post(c.base+"/signin", url.Values{"email": {email}, "password": {password}}.Encode(), sendOpts{}); status != http.StatusSeeOther {
		c.t.Fatalf("sign in as %s: %d %s", email, status, msg)
	}
	// The first page after sign-in carries the new session's token.
	resp, err := c.c.Get(c.base + "/")
	for i := 0; err == nil && resp.StatusCode == http.StatusSeeOther && i < 3; i++ {
		resp.Body.Close()
		resp, err = c.c.Get(c.base + resp.Header.Get("Location"))
	}
	if err != nil {
		c.t.Fatal(err)
	}
	c.read(resp)
}

type sendOpts struct {
	noToken     bool
	origin      string // default this server's
	contentType string // default urlencoded
}

func (c *formClient) headers(o sendOpts) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	if o.contentType != "" {
		h.Set("Content-Type", o.contentType)
	}
	h.Set("Origin", c.base)
	h.Set("Sec-Fetch-Site", "same-origin")
	if o.origin != "" {
		h.Set("Origin", o.origin)
		h.Set("Sec-Fetch-Site", "cross-site")
	}
	if !o.noToken {
		h.Set("X-CSRF-Token", c.csrf)
	}
	return h
}

// post sends body and returns the status and the page's error message.
func (c *formClient) post(u, body string, o sendOpts) (int, string) {
	c.t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(body))
	req.Header = c.headers(o)
	resp, err := c.c.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp.StatusCode, message(c.read(resp))
}

func (c *formClient) postCutShort(u, body string, n int) (int, string) {
	c.t.Helper()
	h := c.headers(sendOpts{})
	pu, _ := url.Parse(u)
	for _, ck := range c.c.Jar.Cookies(pu) {
		h.Add("Cookie", ck.Name+"="+ck.Value)
	}
	resp, page := apptest.PostCutShort(c.t, u, h, []byte(body), n)
	return resp.StatusCode, message(page)
}

// message is a page's error message. An answer to a client that has gone
// (a body cut short in transit) is the error page's plain-text fallback:
// the request's context is cancelled, so templ renders nothing.
func message(page string) string {
	m := alertText.FindStringSubmatch(page)
	if m == nil {
		if !strings.HasPrefix(page, "<") {
			return strings.TrimSpace(page)
		}
		return ""
	}
	return strings.TrimSpace(html.UnescapeString(m[1] + m[2]))
}
