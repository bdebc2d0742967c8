package store_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lib/pq"

	"backstop/internal/dbtest"
	"backstop/internal/store"
)

// The ingest statement's arrays are written by hand: every byte of a body,
// quotes and backslashes in text, NULLs and sub-microsecond times arrive
// as they were sent, and a batch says which of its events were new.
func TestInsertInboundEventsRoundTrip(t *testing.T) {
	t.Parallel()
	s := dbtest.Store(t)
	ctx := dbtest.Ctx(t)
	acme, other := newTenant(t, s, "acme"), newTenant(t, s, "other")
	every := make([]byte, 256)
	for i := range every {
		every[i] = byte(i)
	}
	vid := int64(-42)
	mod := time.Date(2026, 11, 2, 10, 0, 0, 123456789, time.FixedZone("x", 3600))
	at := time.Date(2026, 11, 2, 10, 0, 1, 5000, time.UTC)
	es := []*store.InboundEvent{
		{TenantID: acme.ID, DedupeKey: `k "quoted" \back\slash, {brace} NULL`, Event: `Gift"Create`, ObjectKind: `gi\ft`,
			VirtuousID: &vid, ModifiedAt: &mod, Body: every, ReceivedAt: at},
		{TenantID: acme.ID, DedupeKey: "", Event: "", ObjectKind: "", Body: []byte{}, ReceivedAt: at},
		{TenantID: other.ID, DedupeKey: "same key", Event: "GiftUpdate", ObjectKind: "gift", Body: []byte(`{"a":"é"}`), ReceivedAt: at},
		{TenantID: acme.ID, DedupeKey: "same key", Event: "GiftUpdate", ObjectKind: "gift", Body: []byte("NULL"), ReceivedAt: at},
	}
	created, err := s.InsertInboundEvents(ctx, es)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]bool{true, true, true, true}, created); d != "" {
		t.Errorf("created (-want +got):\n%s", d)
	}
	for i, e := range es {
		var got store.InboundEvent
		if err := s.DB().GetContext(ctx, &got, `
			SELECT id, tenant_id, dedupe_key, event, object_kind, virtuous_id, modified_at, body, received_at, applied_at, outcome
			FROM inbound_events WHERE id = $1`, e.ID); err != nil {
			t.Fatalf("event %d (id %d): %v", i, e.ID, err)
		}
		if got.TenantID != e.TenantID || got.DedupeKey != e.DedupeKey || got.Event != e.Event || got.ObjectKind != e.ObjectKind ||
			!bytes.Equal(got.Body, e.Body) || !got.ReceivedAt.Equal(e.ReceivedAt) {
			t.Errorf("event %d: stored %+v, sent %+v", i, got, e)
		}
		if (got.VirtuousID == nil) != (e.VirtuousID == nil) || e.VirtuousID != nil && *got.VirtuousID != *e.VirtuousID {
			t.Errorf("event %d: stored virtuous id %v, sent %v", i, got.VirtuousID, e.VirtuousID)
		}
		wantMod := e.ModifiedAt
		if wantMod != nil {
			m := wantMod.Round(time.Microsecond) // PostgreSQL keeps microseconds
			wantMod = &m
		}
		if (got.ModifiedAt == nil) != (wantMod == nil) || wantMod != nil && !got.ModifiedAt.Equal(*wantMod) {
			t.Errorf("event %d: stored modified %v, sent %v", i, got.ModifiedAt, e.ModifiedAt)
		}
	}
	// Again, with one new event: only it is created.
	again := []*store.InboundEvent{
		{TenantID: other.ID, DedupeKey: "same key", Event: "GiftUpdate", ObjectKind: "gift", Body: []byte("x"), ReceivedAt: at},
		{TenantID: other.ID, DedupeKey: "new key", Event: "GiftUpdate", ObjectKind: "gift", Body: []byte("y"), ReceivedAt: at},
	}
	created, err = s.InsertInboundEvents(ctx, again)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]bool{false, true}, created); d != "" {
		t.Errorf("second batch created (-want +got):\n%s", d)
	}
	if again[0].ID != 0 || again[1].ID == 0 {
		t.Errorf("got ids %d and %d, want 0 for the duplicate and an id for the new one", again[0].ID, again[1].ID)
	}
}

// Times go in binary, as microseconds: each must be the time PostgreSQL
// reads from the same time written as text, halves of a microsecond and
// times before 2000 included.
func TestInsertInboundEventsTimesAsText(t *testing.T) {
	t.Parallel()
	s := dbtest.Store(t)
	ctx := dbtest.Ctx(t)
	acme := newTenant(t, s, "acme")
	var es []*store.InboundEvent
	var ids []int64
	var texts []string
	for i := range 400 {
		base := time.Date(1990+i%40, time.Month(1+i%12), 1+i%28, i%24, i%60, i%60, 0, time.UTC)
		nanos := (i*7919)%1_000_000*1000 + 500 // a half microsecond
		switch i % 4 {
		case 1:
			nanos = i * 2654435761 % 1_000_000_000
		case 2:
			nanos = 999_999_500 + i%500
		case 3:
			nanos = i % 1000
		}
		at := base.Add(time.Duration(nanos))
		es = append(es, &store.InboundEvent{TenantID: acme.ID, DedupeKey: at.String(), Event: "GiftUpdate", ObjectKind: "gift",
			ModifiedAt: &at, Body: []byte("{}"), ReceivedAt: at})
		texts = append(texts, at.Format(time.RFC3339Nano))
	}
	if _, err := s.InsertInboundEvents(ctx, es); err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		ids = append(ids, e.ID)
	}
	var wrong []string
	if err := s.DB().SelectContext(ctx, &wrong, `
		SELECT w.t || ' stored as ' || e.modified_at::text || ' and ' || e.received_at::text
		FROM inbound_events e JOIN unnest($1::bigint[], $2::text[]) AS w(id, t) ON e.id = w.id
		WHERE e.modified_at <> w.t::timestamptz OR e.received_at <> w.t::timestamptz`, pq.Array(ids), pq.Array(texts)); err != nil {
		t.Fatal(err)
	}
	if len(wrong) > 0 {
		t.Errorf("%d of %d times differ from their text form, e.g. %s", len(wrong), len(es), wrong[0])
	}
	if created, err := s.InsertInboundEvents(ctx, nil); err != nil || len(created) != 0 {
		t.Errorf("an empty batch: got %v, %v", created, err)
	}
}
