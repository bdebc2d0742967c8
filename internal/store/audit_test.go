package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"backstop/internal/audit"
	"backstop/internal/dbtest"
	"backstop/internal/store"
)

// seedAudit writes n entries for a record of tn, one a minute from t0, with
// actions cycling through three, and one entry without a record.
func seedAudit(t *testing.T, s *store.Store, tenantID, recordID int64, t0 time.Time, n int) {
	t.Helper()
	actions := []string{"submit.accepted", "confirmed.webhook", "drift.resolved"}
	for i := range n {
		rid := recordID
		e := &audit.Entry{TenantID: tenantID, RecordID: &rid, At: t0.Add(time.Duration(i) * time.Minute), Actor: fmt.Sprintf("actor-%d", i%2),
			Action: actions[i%3], Category: []string{"submission", "webhook", "drift"}[i%3], Details: audit.Details(map[string]int{"i": i})}
		if _, err := s.AppendAudit(context.Background(), s.DB(), e); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.AppendAudit(context.Background(), s.DB(), &audit.Entry{TenantID: tenantID, At: t0, Actor: "system:escalate",
		Action: "escalation.raised", Category: "escalation"}); err != nil {
		t.Fatal(err)
	}
}

func TestAuditPageFiltersAndKeyset(t *testing.T) {
	t.Parallel()
	s := dbtest.Store(t)
	ctx := dbtest.Ctx(t)
	acme, other := newTenant(t, s, "acme"), newTenant(t, s, "other")
	r1, r2 := newRecord(t, s, acme.ID, "order-1"), newRecord(t, s, acme.ID, "order-2")
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	seedAudit(t, s, acme.ID, r1.ID, t0, 30)
	seedAudit(t, s, acme.ID, r2.ID, t0, 6) // same instants as r1's: the id breaks the tie
	seedAudit(t, s, other.ID, newRecord(t, s, other.ID, "order-x").ID, t0, 10)

	// Paging through everything, 7 at a time, newest first, visits each of
	// acme's 38 entries once and in order.
	var all []*audit.Row
	var cur *audit.Cursor
	for {
		page, err := s.AuditPage(ctx, acme.ID, audit.Filter{}, cur, 7)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if len(page) < 7 {
			break
		}
		c := page[len(page)-1].Cursor()
		cur = &c
	}
	if len(all) != 38 {
		t.Fatalf("got %d entries across pages, want 38", len(all))
	}
	for i := 1; i < len(all); i++ {
		a, b := all[i-1], all[i]
		if a.At.Before(b.At) || (a.At.Equal(b.At) && a.ID <= b.ID) {
			t.Fatalf("entries %d and %d out of (at, id) order", i-1, i)
		}
	}
	if r := all[0]; r.Tenant != "acme" || r.PlatformID != "order-1" || r.SourceRef != "pi_order-1" || r.TransactionSource != "S" ||
		r.TransactionID != "order-1" || r.Source != "stripe" {
		t.Errorf("newest entry %+v lacks its record's references", r)
	}

	for _, tc := range []struct {
		name string
		f    audit.Filter
		want int
	}{
		{"date range", audit.Filter{Since: t0.Add(10 * time.Minute), Until: t0.Add(20 * time.Minute)}, 10},
		{"an action", audit.Filter{Actions: []string{"drift.resolved"}}, 10 + 2},
		{"two actions", audit.Filter{Actions: []string{"drift.resolved", "submit.accepted"}}, 20 + 4},
		{"a category", audit.Filter{Categories: []string{"escalation"}}, 2},
		{"an actor", audit.Filter{Actor: "actor-1"}, 15 + 3},
		{"a record", audit.Filter{RecordID: r2.ID}, 6},
		{"all at once", audit.Filter{RecordID: r1.ID, Actor: "actor-0", Actions: []string{"submit.accepted"}, Since: t0.Add(time.Minute)}, 4},
		{"another tenant's record", audit.Filter{RecordID: r1.ID + 100}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page, err := s.AuditPage(ctx, acme.ID, tc.f, nil, 100)
			if err != nil {
				t.Fatal(err)
			}
			var streamed int
			if err := s.EachAudit(ctx, acme.ID, tc.f, func(*audit.Row) error { streamed++; return nil }); err != nil {
				t.Fatal(err)
			}
			if len(page) != tc.want || streamed != tc.want {
				t.Errorf("got %d on the page, %d streamed; want %d", len(page), streamed, tc.want)
			}
		})
	}
	if _, err := s.AuditPage(ctx, acme.ID, audit.Filter{}, nil, 0); err == nil {
		t.Error("limit 0 accepted")
	}
	// EachAudit streams oldest first.
	var prev audit.Cursor
	s.EachAudit(ctx, acme.ID, audit.Filter{}, func(r *audit.Row) error {
		if r.At.Before(prev.At) || (r.At.Equal(prev.At) && r.ID < prev.ID) {
			t.Errorf("streamed out of order at %d", r.ID)
		}
		prev = r.Cursor()
		return nil
	})
}
