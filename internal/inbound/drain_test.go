package inbound_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"backstop/internal/inbound"
	"backstop/internal/store"
	"backstop/internal/tenant"
)

// storeDeliveries stores webhook bodies as the receiver does, unapplied.
func storeDeliveries(t *testing.T, s *store.Store, tn *tenant.Tenant, bodies ...string) {
	t.Helper()
	es := make([]*store.InboundEvent, len(bodies))
	for i, b := range bodies {
		es[i] = &store.InboundEvent{TenantID: tn.ID, DedupeKey: fmt.Sprintf("test:%d", i), Event: "GiftCreate", ObjectKind: "gift",
			Body: []byte(b), ReceivedAt: fixed}
	}
	if _, err := s.InsertInboundEvents(context.Background(), es); err != nil {
		t.Fatal(err)
	}
}

// giftCreate is a GiftCreate delivery; notes is a JSON string literal.
func giftCreate(id int, notes string) string {
	return fmt.Sprintf(`{"event":"GiftCreate","gift":{"id":%d,"transactionSource":"Elsewhere","transactionId":"t%d","contactId":7,
		"giftType":"Credit","giftDate":"2026-11-01T00:00:00","amount":25.5,"currencyCode":"USD","notes":%s,
		"modifiedDateTimeUtc":"2026-11-02T10:00:00.123"}}`, id, id, notes)
}

func drain(t *testing.T, s *store.Store) {
	t.Helper()
	w := &inbound.DrainWorker{Handler: &inbound.Handler{Store: s, Now: func() time.Time { return fixed }}}
	if err := w.Work(context.Background(), nil); err != nil {
		t.Fatalf("drain: %v", err)
	}
}

type outcome struct {
	ID      int64  `db:"id"`
	Applied bool   `db:"applied"`
	Outcome string `db:"outcome"`
}

func outcomes(t *testing.T, s *store.Store) []outcome {
	t.Helper()
	var got []outcome
	if err := s.DB().Select(&got, `SELECT id, applied_at IS NOT NULL AS applied, outcome FROM inbound_events ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	return got
}

// A string with "\u0000" is valid JSON that PostgreSQL's text and jsonb
// refuse. Such a gift is applied with the character replaced, and the
// deliveries after it are applied too (before, the batch failed for good
// and held up the tenant's whole queue).
func TestDrainAppliesGiftWithNUL(t *testing.T) {
	t.Parallel()
	s, tn, _ := seed(t)
	storeDeliveries(t, s, tn, giftCreate(41, `"a\u0000b"`), giftCreate(42, `"fine"`))
	drain(t, s)
	for _, o := range outcomes(t, s) {
		if !o.Applied || o.Outcome != "applied" {
			t.Errorf("delivery %d: got applied=%v %q, want applied", o.ID, o.Applied, o.Outcome)
		}
	}
	var notes string
	if err := s.DB().Get(&notes, `SELECT data->>'notes' FROM changes WHERE virtuous_id = 41`); err != nil {
		t.Fatal(err)
	}
	if notes != "a\uFFFDb" {
		t.Errorf("got notes %q, want the NUL replaced by U+FFFD", notes)
	}
}

// A delivery PostgreSQL refuses for its data — here a constraint the test
// adds, standing for any refusal Backstop does not foresee — is marked
// failed with one audit row, and every other delivery of the batch is
// applied: one bad delivery never blocks the queue.
func TestDrainIsolatesARefusedDelivery(t *testing.T) {
	t.Parallel()
	s, tn, _ := seed(t)
	if _, err := s.DB().Exec(`ALTER TABLE changes ADD CONSTRAINT test_refuse_666 CHECK (virtuous_id <> 666)`); err != nil {
		t.Fatal(err)
	}
	storeDeliveries(t, s, tn, giftCreate(40, `"before"`), giftCreate(666, `"refused"`), giftCreate(42, `"after"`))
	drain(t, s)
	got := outcomes(t, s)
	want := []string{"applied", "failed", "applied"}
	for i, o := range got {
		if !o.Applied || o.Outcome != want[i] {
			t.Errorf("delivery %d: got applied=%v %q, want %q", o.ID, o.Applied, o.Outcome, want[i])
		}
	}
	var n int
	s.DB().Get(&n, `SELECT count(*) FROM changes WHERE virtuous_id IN (40, 42)`)
	if n != 2 {
		t.Errorf("got %d of the two good gifts on the changes feed, want 2", n)
	}
	drain(t, s) // again: nothing left, nothing audited twice
	var audits int
	s.DB().Get(&audits, `SELECT count(*) FROM audit_log WHERE action = 'webhook.failed' AND (details->>'event_id')::bigint = $1`, got[1].ID)
	if audits != 1 {
		t.Errorf("got %d webhook.failed audit rows, want 1", audits)
	}
}
