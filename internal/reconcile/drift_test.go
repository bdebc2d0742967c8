package reconcile_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"backstop/internal/apptest"
	"backstop/internal/money"
	"backstop/internal/reconcile"
	"backstop/internal/record"
	"backstop/internal/tenant"
	"backstop/internal/virtuoussim"
)

// driftEnv has one confirmed gift (donor 1) whose amount, gift date and
// donor email were then changed by a Virtuous user.
func driftEnv(t *testing.T, policy tenant.DriftPolicy) (*apptest.Env, int64) {
	t.Helper()
	e := apptest.New(t, apptest.Options{Workers: true})
	if _, err := e.App.Store.DB().Exec(`UPDATE tenants SET drift_policy = $1 WHERE id = $2`, policy, e.Tenant.ID); err != nil {
		t.Fatal(err)
	}
	e.Tenant.DriftPolicy = policy
	submitGifts(t, e, 1, nil)
	e.Org.RunBatch()
	e.Eventually("gift confirmed", 30*time.Second, func() bool { return e.Statuses()[record.Confirmed] == 1 })
	e.Quiet(30 * time.Second)
	g, ok := e.Org.GiftByTransaction("Backstop-Stripe", "pi_00000000000001")
	if !ok {
		t.Fatal("the simulator has no gift")
	}
	e.Clock.Advance(time.Hour)
	amount, date := money.Decimal("99.00"), "2026-10-30"
	if err := e.Org.EditGift(g.ID, virtuoussim.GiftEdit{Amount: &amount, GiftDate: &date}); err != nil {
		t.Fatal(err)
	}
	email := "new-address@example.org"
	if err := e.Org.EditContact(g.ContactID, virtuoussim.ContactEdit{Email: &email}); err != nil {
		t.Fatal(err)
	}
	e.Quiet(30 * time.Second)
	var id int64
	e.App.Store.DB().Get(&id, `SELECT id FROM records WHERE platform_id = 'order-1'`)
	return e, id
}

type resolved struct {
	Fields []struct {
		Field          record.Field
		Winner         tenant.Side
		PlatformBefore string `json:"platform_before"`
		VirtuousBefore string `json:"virtuous_before"`
		After          string
	}
}

func (e *envT) lastResolution(id int64) (resolved, string) {
	var details []byte
	var actor string
	e.App.Store.DB().QueryRow(`SELECT details, actor FROM audit_log WHERE record_id = $1 AND action = 'drift.resolved' ORDER BY id DESC LIMIT 1`, id).Scan(&details, &actor)
	var r resolved
	json.Unmarshal(details, &r)
	return r, actor
}

type envT struct{ *apptest.Env }

// (c) Drift on amount, email and gift date under each automatic policy:
// the expected side wins each field, the loser is brought into line, and the
// audit row shows every field before and after.
func TestScenarioDriftPolicies(t *testing.T) {
	t.Parallel()
	want := map[tenant.DriftPolicy]map[record.Field]tenant.Side{
		tenant.PolicyVirtuous:   {record.FieldAmount: tenant.Virtuous, record.FieldGiftDate: tenant.Virtuous, record.FieldEmail: tenant.Virtuous},
		tenant.PolicyMostRecent: {record.FieldAmount: tenant.Virtuous, record.FieldGiftDate: tenant.Virtuous, record.FieldEmail: tenant.Virtuous},
		// Default owners: the platform owns money and dates, Virtuous the donor's details.
		tenant.PolicyOwnership: {record.FieldAmount: tenant.Platform, record.FieldGiftDate: tenant.Platform, record.FieldEmail: tenant.Virtuous},
	}
	for policy, winners := range want {
		t.Run(string(policy), func(t *testing.T) {
			t.Parallel()
			env, id := driftEnv(t, policy)
			e := &envT{env}
			run := e.Reconcile(reconcile.Drift)
			if run.DriftFound != 1 {
				t.Fatalf("got drift on %d records, want 1 (run %+v)", run.DriftFound, *run)
			}
			res, actor := e.lastResolution(id)
			if actor != "system:reconcile" || len(res.Fields) != 3 {
				t.Fatalf("got resolution %+v by %s, want 3 fields by the reconciler", res, actor)
			}
			before := map[record.Field][2]string{
				record.FieldAmount:   {"11.00", "99.00"},
				record.FieldGiftDate: {"2026-11-01", "2026-10-30"},
				record.FieldEmail:    {"donor1@example.org", "new-address@example.org"},
			}
			for _, f := range res.Fields {
				b := before[f.Field]
				if f.Winner != winners[f.Field] || f.PlatformBefore != b[0] || f.VirtuousBefore != b[1] {
					t.Errorf("%s: got winner %s before %q/%q, want %s before %q/%q", f.Field, f.Winner, f.PlatformBefore, f.VirtuousBefore, winners[f.Field], b[0], b[1])
				}
				wantAfter := b[0]
				if winners[f.Field] == tenant.Virtuous {
					wantAfter = b[1]
				}
				if f.After != wantAfter {
					t.Errorf("%s: got after %q, want %q", f.Field, f.After, wantAfter)
				}
			}
			e.Quiet(30 * time.Second) // push jobs to Virtuous
			// Both sides now agree on every field.
			rec, _ := e.App.Store.Record(context.Background(), e.App.Store.DB(), e.Tenant.ID, id)
			pv, _ := record.PlatformValues(rec.Kind, rec.Payload)
			g, _ := e.Org.GiftByTransaction("Backstop-Stripe", "pi_00000000000001")
			c, _ := e.Org.Contact(g.ContactID)
			vAmount := g.AmountMinor
			got := map[record.Field][2]string{
				record.FieldAmount:   {pv[record.FieldAmount], money.Format(vAmount, "USD")},
				record.FieldGiftDate: {pv[record.FieldGiftDate], g.GiftDate},
				record.FieldEmail:    {pv[record.FieldEmail], c.Email},
			}
			for f, sides := range got {
				b := before[f]
				w := b[0]
				if winners[f] == tenant.Virtuous {
					w = b[1]
				}
				if sides[0] != w || sides[1] != w {
					t.Errorf("%s: platform %q, Virtuous %q; want both %q", f, sides[0], sides[1], w)
				}
			}
			if rec.Status != record.Confirmed || rec.DriftDirty {
				t.Errorf("got status %s dirty %v, want confirmed and clean", rec.Status, rec.DriftDirty)
			}
			// A second drift run finds nothing: the resolution held.
			if run := e.Reconcile(reconcile.Drift); run.DriftFound != 0 {
				t.Errorf("second run found drift on %d records, want 0", run.DriftFound)
			}
		})
	}
}

// Most-recent-wins goes the other way when the platform changed last.
func TestScenarioDriftMostRecentPlatformNewer(t *testing.T) {
	t.Parallel()
	env, id := driftEnv(t, tenant.PolicyMostRecent)
	e := &envT{env}
	e.Clock.Advance(time.Hour)
	// The platform re-sends the gift (unchanged amount, new note) after the Virtuous edit.
	body := apptest.Gift(1, "11.00")
	body = body[:len(body)-2] + `,"notes":"re-synced"}}`
	if code, out := e.Put(record.Gift, "order-1", body); code != 200 {
		t.Fatalf("%d %v", code, out)
	}
	e.Reconcile(reconcile.Drift)
	res, _ := e.lastResolution(id)
	for _, f := range res.Fields {
		if f.Winner != tenant.Platform {
			t.Errorf("%s: got winner %s, want platform (changed last)", f.Field, f.Winner)
		}
	}
	e.Quiet(30 * time.Second)
	g, _ := e.Org.GiftByTransaction("Backstop-Stripe", "pi_00000000000001")
	if a := g.AmountMinor; a != 1100 {
		t.Errorf("got Virtuous amount %d, want the platform's 1100 pushed back", a)
	}
}

// (d) Under the manual policy, drift becomes a conflict for the customer,
// with the per-field differences; resolving it field by field applies each
// choice and confirms the record.
func TestScenarioDriftManualConflict(t *testing.T) {
	t.Parallel()
	env, id := driftEnv(t, tenant.PolicyManual)
	e := &envT{env}
	run := e.Reconcile(reconcile.Drift)
	rec, _ := e.App.Store.Record(context.Background(), e.App.Store.DB(), e.Tenant.ID, id)
	if rec.Status != record.Conflict || run.DriftFound != 1 {
		t.Fatalf("got status %s, drift %d; want conflict, 1", rec.Status, run.DriftFound)
	}
	c, err := e.App.Store.OpenConflict(context.Background(), e.App.Store.DB(), e.Tenant.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	diffs := c.Diffs()
	if len(diffs) != 3 {
		t.Fatalf("got %+v, want 3 differing fields", diffs)
	}
	choices := map[record.Field]tenant.Side{record.FieldAmount: tenant.Platform, record.FieldGiftDate: tenant.Virtuous, record.FieldEmail: tenant.Virtuous}
	eng := e.Engine()
	if err := eng.ResolveConflict(context.Background(), e.Tenant, id, rec.Version, choices, "user:ana@example.org", e.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	// A second person, acting on the same page, is told who resolved it.
	err = eng.ResolveConflict(context.Background(), e.Tenant, id, rec.Version, choices, "user:bo@example.org", e.Clock.Now())
	if err == nil || fmt.Sprint(err) != "this conflict was already resolved by user:ana@example.org at "+e.Clock.Now().Format("2006-01-02 15:04 UTC") {
		t.Errorf("second resolution: got %v, want 'already resolved by user:ana@example.org'", err)
	}
	e.Quiet(30 * time.Second)
	rec, _ = e.App.Store.Record(context.Background(), e.App.Store.DB(), e.Tenant.ID, id)
	pv, _ := record.PlatformValues(rec.Kind, rec.Payload)
	g, _ := e.Org.GiftByTransaction("Backstop-Stripe", "pi_00000000000001")
	if a := g.AmountMinor; rec.Status != record.Confirmed || pv[record.FieldGiftDate] != "2026-10-30" || a != 1100 ||
		pv[record.FieldEmail] != "new-address@example.org" {
		t.Errorf("got status %s, platform date %s email %s, Virtuous amount %d; want confirmed, 2026-10-30, the new email, 1100",
			rec.Status, pv[record.FieldGiftDate], pv[record.FieldEmail], a)
	}
	var pushes int
	e.App.Store.DB().Get(&pushes, `SELECT count(*) FROM audit_log WHERE record_id = $1 AND action = 'drift.pushed'`, id)
	if pushes != 1 {
		t.Errorf("got %d pushes to Virtuous, want exactly 1", pushes)
	}
}
