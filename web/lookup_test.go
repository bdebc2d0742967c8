package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"backstop/internal/apptest"
	"backstop/internal/record"
	"backstop/internal/virtuoussim"
)

func TestRunbook(t *testing.T) {
	t.Parallel()
	d := newDash(t, apptest.Options{})
	fresh := d.put(seed{n: 1, status: record.Submitted, age: 10 * time.Hour})
	old := d.put(seed{n: 2, status: record.Submitted, age: 60 * time.Hour})
	lost := d.put(seed{n: 3, status: record.Submitted, age: 30 * time.Hour, email: "lost@example.org"})
	if _, err := d.Org.CreateGiftDirect(virtuoussim.DirectGift{FirstName: "Donor", LastName: "Number 3", Email: "lost@example.org",
		Amount: "25.00", TransactionSource: lost.ExtSource, TransactionID: lost.ExtID}); err != nil {
		t.Fatal(err)
	}
	only, err := d.Org.CreateGiftDirect(virtuoussim.DirectGift{FirstName: "Walk", LastName: "In", Email: "walkin@example.org",
		Amount: "40.00", TransactionSource: "Backstop-Stripe", TransactionID: "pi_onlyinvirtuous"})
	if err != nil {
		t.Fatal(err)
	}
	b := d.as(staffA)
	look := func(q string) string {
		t.Helper()
		resp, body := b.get("/t/acme/lookup?q=" + url.QueryEscape(q))
		if resp.StatusCode != 200 {
			t.Fatalf("lookup %q: got %d", q, resp.StatusCode)
		}
		return body
	}
	if body := look(""); !strings.Contains(body, "How this works") || strings.Contains(body, "Next step") {
		t.Errorf("empty lookup page should explain the runbook")
	}
	body := look(fresh.PlatformID)
	for _, want := range []string{"Wait.", "inside the 48-hour window", "Not found", "Last sync", fresh.ExtID} {
		if !strings.Contains(body, want) {
			t.Errorf("fresh submitted record: page lacks %q", want)
		}
	}
	body = look(old.SourceRef)
	if !strings.Contains(body, "Suspect the needs-update bucket") || !strings.Contains(body, "/Generosity/Import") {
		t.Errorf("old submitted record: got %s", excerpt(body[strings.Index(body, "Next step"):]))
	}
	body = look("LOST@example.org")
	if !strings.Contains(body, "the webhook was lost") || !strings.Contains(body, "Apply it now") {
		t.Fatalf("lost webhook, searched by email: no apply step")
	}
	flash := flashOf(t, b, first(b.post("/t/acme/lookup/apply", url.Values{"kind": {"gift"}, "source": {lost.ExtSource}, "ref": {lost.ExtID}, "q": {"lost@example.org"}})))
	if !strings.Contains(flash, "the record is confirmed") || d.status(lost.ID) != record.Confirmed {
		t.Fatalf("apply: got %q, status %s", flash, d.status(lost.ID))
	}
	if n := d.count(fmt.Sprintf(`audit_log WHERE record_id = %d AND actor = 'user:%s' AND action IN ('runbook.applied', 'confirmed.manual')`, lost.ID, staffA)); n != 2 {
		t.Errorf("apply: got %d audit rows naming the user (the confirmation and the recovery), want 2", n)
	}
	// A gift only Virtuous has: found by its transaction id under the
	// tenant's sources, applied onto the changes feed.
	body = look("pi_onlyinvirtuous")
	if !strings.Contains(body, "Not on Backstop") || !strings.Contains(body, "a missed webhook") || !strings.Contains(body, fmt.Sprint(only.ID)) {
		t.Fatalf("Virtuous-only gift: got %s", excerpt(body[strings.Index(body, "<main"):]))
	}
	flash = flashOf(t, b, first(b.post("/t/acme/lookup/apply", url.Values{"kind": {"gift"}, "source": {"Backstop-Stripe"}, "ref": {"pi_onlyinvirtuous"}})))
	if !strings.Contains(flash, "on the changes feed") {
		t.Errorf("apply Virtuous-only: got %q", flash)
	}
	if n := d.count(fmt.Sprintf(`changes WHERE virtuous_id = %d AND record_id IS NULL`, only.ID)); n != 1 {
		t.Errorf("got %d changes-feed rows for the Virtuous-only gift, want 1", n)
	}
	if n := d.count(`audit_log WHERE record_id IS NULL AND action = 'runbook.applied' AND details->>'outcome' = 'virtuous_only'`); n != 1 {
		t.Errorf("got %d recovery audit rows for the Virtuous-only gift, want 1", n)
	}
	// Nothing anywhere: said plainly; applying it is refused.
	if body = look("pi_nobodyhasthis"); !strings.Contains(body, "Neither Backstop nor Virtuous knows this reference") {
		t.Errorf("unknown reference: no plain answer")
	}
	before := d.count("audit_log")
	flash = refusal(t, http.StatusBadRequest)(b.post("/t/acme/lookup/apply", url.Values{"kind": {"gift"}, "source": {"Backstop-Stripe"}, "ref": {"pi_nobodyhasthis"}, "q": {"pi_nobodyhasthis"}}))
	if !strings.Contains(flash, "Virtuous no longer has") || d.count("audit_log") != before {
		t.Errorf("apply of nothing: got %q and %d new audit rows", flash, d.count("audit_log")-before)
	}
}
