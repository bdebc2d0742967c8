package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"backstop/internal/audit"
	"backstop/internal/dbtest"
	"backstop/internal/derrors"
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
			if err := s.StreamAudit(ctx, acme.ID, tc.f, func(*audit.ExportRow) error { streamed++; return nil }); err != nil {
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
	// StreamAudit streams oldest first, as AuditPage's pages reversed, with
	// the same cells.
	var streamed []*audit.Row
	err := s.StreamAudit(ctx, acme.ID, audit.Filter{}, func(r *audit.ExportRow) error {
		e := &audit.Row{Entry: audit.Entry{At: r.At, Action: string(r.Action), Category: string(r.Category), Actor: string(r.Actor),
			FromStatus: string(r.FromStatus), ToStatus: string(r.ToStatus), Details: bytes.Clone(r.Details)},
			Tenant: string(r.Tenant), PlatformID: string(r.PlatformID), Source: string(r.Source), SourceRef: string(r.SourceRef),
			TransactionSource: string(r.TransactionSource), TransactionID: string(r.TransactionID)}
		if r.RecordID != 0 {
			e.RecordID = new(int64)
			*e.RecordID = r.RecordID
		}
		streamed = append(streamed, e)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(streamed) != len(all) {
		t.Fatalf("streamed %d entries, want %d", len(streamed), len(all))
	}
	for i, got := range streamed {
		want := *all[len(all)-1-i]
		want.ID, want.TenantID, want.DedupeKey = 0, 0, nil
		if !got.At.Equal(want.At) || fmt.Sprint(derefID(got.RecordID), got.Action, got.Category, got.Actor, got.FromStatus, got.ToStatus,
			string(got.Details), got.Tenant, got.PlatformID, got.Source, got.SourceRef, got.TransactionSource, got.TransactionID) !=
			fmt.Sprint(derefID(want.RecordID), want.Action, want.Category, want.Actor, want.FromStatus, want.ToStatus,
				string(want.Details), want.Tenant, want.PlatformID, want.Source, want.SourceRef, want.TransactionSource, want.TransactionID) {
			t.Errorf("streamed entry %d:\n got %+v\nwant %+v", i, got, want)
		}
	}
	var unrecorded int
	for _, e := range streamed {
		if e.Action == "escalation.raised" && e.RecordID == nil && e.PlatformID == "" && e.TransactionID == "" {
			unrecorded++
		}
	}
	if unrecorded != 2 {
		t.Errorf("%d escalations streamed without a record's references, want 2", unrecorded)
	}
	// An unknown tenant is an error, not an empty export.
	if err := s.StreamAudit(ctx, other.ID+1000, audit.Filter{}, func(*audit.ExportRow) error { return nil }); !errors.Is(err, derrors.NotFound) {
		t.Errorf("unknown tenant: got %v, want not found", err)
	}
	// fn's error ends the stream and is returned.
	stop := errors.New("stop")
	var calls int
	if err := s.StreamAudit(ctx, acme.ID, audit.Filter{}, func(*audit.ExportRow) error { calls++; return stop }); !errors.Is(err, stop) || calls != 1 {
		t.Errorf("got %v after %d calls, want the callback's error after 1", err, calls)
	}
}

func derefID(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// The export's plan streams: the (tenant_id, at, id) index in order, each
// entry's record by primary key, no sort, no hash table and no Memoize
// cache — with enough rows (200,000 over 20,000 records) that the planner
// left alone picks one of those.
func TestAuditExportPlanStreams(t *testing.T) {
	t.Parallel()
	s := dbtest.Store(t)
	ctx := dbtest.Ctx(t)
	acme := newTenant(t, s, "acme")
	first := newRecord(t, s, acme.ID, "order-0").ID
	if _, err := s.DB().ExecContext(ctx, `
		INSERT INTO records (tenant_id, kind, platform_id, source, source_ref, ext_source, ext_id, status,
		                     payload, payload_sha, created_at, platform_updated_at, updated_at)
		SELECT $1, 'gift', 'order-' || k, 'stripe', 'pi_' || k, 'S', 'txn-' || k, 'confirmed', '{}', '\x01', now(), now(), now()
		FROM generate_series(1, 19999) k`, acme.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB().ExecContext(ctx, `
		INSERT INTO audit_log (tenant_id, record_id, at, actor, action, category, from_status, to_status, details)
		SELECT $1, $2 + g % 20000, now() + g * interval '1 second', 'system:reconcile', 'confirmed.reconciliation',
		       'stuck', 'submitted', 'confirmed', jsonb_build_object('n', g)
		FROM generate_series(1, 200000) g`, acme.ID, first); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB().ExecContext(ctx, `ANALYZE records; ANALYZE audit_log`); err != nil {
		t.Fatal(err)
	}
	explain := func(set string, f audit.Filter) string {
		var plan []string
		err := s.InTx(ctx, func(tx *sqlx.Tx) error {
			if set != "" {
				if _, err := tx.ExecContext(ctx, set); err != nil {
					return err
				}
			}
			return tx.SelectContext(ctx, &plan, `EXPLAIN `+store.AuditExportCursor, store.AuditArgs(acme.ID, f)...)
		})
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(plan, "\n")
	}
	t.Logf("without the settings:\n%s", explain("", audit.Filter{}))
	for _, tc := range []struct {
		f     audit.Filter
		index string
	}{
		{audit.Filter{}, "Index Scan using audit_log_tenant_at on audit_log"},
		{audit.Filter{Since: time.Now().Add(time.Hour)}, "Index Scan using audit_log_tenant_at on audit_log"},
		// A record's few entries are found by its index and sorted.
		{audit.Filter{RecordID: first + 7}, "Index Scan on audit_log_record"},
	} {
		plan := explain(store.AuditExportSettings, tc.f)
		for _, want := range []string{"Nested Loop Left Join", tc.index, "Index Scan using records_pkey on records"} {
			if !strings.Contains(plan, want) {
				t.Errorf("filter %+v: the plan lacks %q:\n%s", tc.f, want, plan)
			}
		}
		for _, bad := range []string{"Hash", "Memoize", "Gather", "Seq Scan"} {
			if strings.Contains(plan, bad) {
				t.Errorf("filter %+v: the plan has a %s:\n%s", tc.f, bad, plan)
			}
		}
		if tc.f.RecordID == 0 && strings.Contains(plan, "Sort") {
			t.Errorf("filter %+v: the plan sorts:\n%s", tc.f, plan)
		}
	}
}
