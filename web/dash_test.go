package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"backstop/internal/apptest"
	"backstop/internal/auth"
	"backstop/internal/intake"
	"backstop/internal/record"
	"backstop/internal/store"
	"backstop/internal/tenant"
	"backstop/internal/virtuoussim"
)

// dash is Backstop with the simulator and two tenants, acme (the apptest
// tenant) and beta, with a staff user for each and an engineer.
type dash struct {
	*apptest.Env
	t       testing.TB
	beta    *tenant.Tenant
	betaOrg *virtuoussim.Org
	pw      map[string]string
	intake  *intake.Service
}

const (
	staffA   = "ann@acme.example"
	staffB   = "bob@beta.example"
	engineer = "eve@backstop.example"
)

func newDash(t testing.TB, o apptest.Options) *dash {
	t.Helper()
	e := apptest.New(t, o)
	d := &dash{Env: e, t: t, pw: map[string]string{}}
	ins, err := e.App.NewInserter()
	if err != nil {
		t.Fatal(err)
	}
	d.intake = &intake.Service{Store: e.App.Store, Jobs: ins, Now: e.Clock.Now}
	d.betaOrg = e.Sim.AddOrg("beta", "sim-key-beta")
	d.beta, _ = e.AddTenant("beta", "sim-key-beta", "", d.betaOrg)
	s := e.App.Store
	d.pw[staffA] = addUser(t, s, staffA, auth.Staff, &e.Tenant.ID)
	d.pw[staffB] = addUser(t, s, staffB, auth.Staff, &d.beta.ID)
	d.pw[engineer] = addUser(t, s, engineer, auth.Engineer, nil)
	return d
}

// as is a signed-in HTTP client ("" for anonymous).
func (d *dash) as(email string) *browser {
	b := newBrowser(d.t, d.Web.URL)
	if email == "" {
		b.get("/signin")
		return b
	}
	b.signIn(email, d.pw[email])
	return b
}

// seed is a record to put straight into a state, for handler tests.
type seed struct {
	tenant     *tenant.Tenant
	n          int // makes the platform id and reference unique
	status     record.Status
	source     record.Source
	ref        string // default pi_… for Stripe, else "ref-n"
	donorFirst string
	donorLast  string
	email      string
	amount     string // default "25.00"
	age        time.Duration
	lastError  string
	virtuousID int64
	// diffs opens a conflict (status conflict).
	diffs []record.Diff
}

// put creates the record through the partner API (so its body is a real
// intake body) and then moves it where the test wants it.
func (d *dash) put(s seed) *record.Record {
	d.t.Helper()
	if s.tenant == nil {
		s.tenant = d.Tenant
	}
	if s.source == "" {
		s.source = record.Stripe
	}
	if s.ref == "" {
		s.ref = fmt.Sprintf("ref-%d", s.n)
		if s.source == record.Stripe {
			s.ref = fmt.Sprintf("pi_%014d", s.n)
		}
		if s.source == record.Eventbrite {
			s.ref = fmt.Sprintf("%010d", s.n)
		}
	}
	if s.donorFirst == "" && s.donorLast == "" {
		s.donorFirst, s.donorLast = "Donor", fmt.Sprintf("Number %d", s.n)
	}
	if s.email == "" {
		s.email = fmt.Sprintf("donor%d@example.org", s.n)
	}
	if s.amount == "" {
		s.amount = "25.00"
	}
	body, _ := json.Marshal(map[string]any{
		"source": s.source, "source_ref": s.ref, "livemode": false,
		"transaction": map[string]any{
			"contact":  map[string]any{"firstname": s.donorFirst, "lastname": s.donorLast, "email": s.email},
			"giftDate": "2026-11-01", "giftType": "Credit", "amount": s.amount, "currencyCode": "USD",
		},
	})
	if s.source != record.Stripe {
		var m map[string]any
		json.Unmarshal(body, &m)
		delete(m, "livemode")
		body, _ = json.Marshal(m)
	}
	ctx := context.Background()
	r, _, err := d.intake.Put(ctx, s.tenant, record.Gift, fmt.Sprintf("order-%d", s.n), body)
	if err != nil {
		d.t.Fatalf("seed %d: %v", s.n, err)
	}
	st := d.App.Store
	at := d.Clock.Now().Add(-s.age)
	if s.status != "" && s.status != record.Pending {
		var vid *int64
		if s.virtuousID != 0 {
			vid = &s.virtuousID
		}
		_, err := st.DB().Exec(`UPDATE records SET status = $2, submitted_at = $3, last_error = $4,
			virtuous_id = coalesce($5, virtuous_id), attempts = CASE WHEN $2 = 'failed' THEN 3 ELSE attempts END,
			version = version + 1 WHERE id = $1`, r.ID, s.status, at, s.lastError, vid)
		if err != nil {
			d.t.Fatal(err)
		}
		// As if the submission job had run: a new one may be enqueued.
		if _, err := st.DB().Exec(`UPDATE river_job SET state = 'completed', finalized_at = now()
			WHERE kind = 'submit' AND (args->>'record_id')::bigint = $1`, r.ID); err != nil {
			d.t.Fatal(err)
		}
	}
	if len(s.diffs) > 0 {
		cur, _ := st.Record(ctx, st.DB(), s.tenant.ID, r.ID)
		b, _ := json.Marshal(s.diffs)
		if err := st.InsertConflict(ctx, st.DB(), &store.ConflictRow{TenantID: s.tenant.ID, RecordID: r.ID, CreatedAt: d.Clock.Now(), Fields: b, RecordVersion: cur.Version}); err != nil {
			d.t.Fatal(err)
		}
	}
	r, err = st.Record(ctx, st.DB(), s.tenant.ID, r.ID)
	if err != nil {
		d.t.Fatal(err)
	}
	return r
}
