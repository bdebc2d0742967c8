package reconcile_test

import (
	"testing"
	"time"

	"backstop/internal/apptest"
	"backstop/internal/money"
	"backstop/internal/reconcile"
	"backstop/internal/record"
	"backstop/internal/virtuoussim"
)

// Every reconciliation outcome is an audit row (the spec's "persist every
// reconciliation outcome"), each once however often a pass re-reads it:
// recoveries (auto-resolved, with the spec's note), a lookup that found
// nothing yet, the hand-over to needs-review, an object only Virtuous
// holds, and a Virtuous change the webhooks never delivered.
func TestEveryReconciliationOutcomeAudited(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	e := apptest.New(t, apptest.Options{Workers: true, Start: start, Org: virtuoussim.OrgConfig{WebhookLossRate: 1}})
	submitGifts(t, e, 6, func(i int) bool { return i <= 2 }) // 1 and 2 unmatched
	e.Org.RunBatch()
	direct, err := e.Org.CreateGiftDirect(virtuoussim.DirectGift{FirstName: "Walk", LastName: "In", Email: "walkin@example.org", Amount: money.Decimal("5.00")})
	if err != nil {
		t.Fatal(err)
	}
	e.Quiet(30 * time.Second)
	count := func(q string, args ...any) int {
		t.Helper()
		var n int
		if err := e.App.Store.DB().Get(&n, q, args...); err != nil {
			t.Fatal(err)
		}
		return n
	}

	e.Clock.Set(start.Add(25 * time.Hour))
	missed := e.Reconcile(reconcile.Missed)
	e.Reconcile(reconcile.Missed) // re-reads the same day: nothing new
	e.Reconcile(reconcile.Stuck)
	e.Clock.Set(start.Add(28 * time.Hour))
	e.Reconcile(reconcile.Stuck) // 1 and 2 still not found
	if got := e.Statuses(); got[record.Confirmed] != 4 || got[record.Submitted] != 2 {
		t.Fatalf("got %v, want 4 recovered and 2 waiting", got)
	}
	if n := count(`SELECT count(*) FROM audit_log WHERE action = 'confirmed.reconciliation' AND details->>'note' = 'recovered through reconciliation, not the webhook path'`); n != 4 || missed.Recovered != 4 {
		t.Errorf("got %d recovery rows (run says %d), want 4", n, missed.Recovered)
	}
	if n := count(`SELECT count(*) FROM audit_log WHERE action = 'reconcile.not_found' AND category = 'stuck'`); n != 2 {
		t.Errorf("got %d not-found rows after two stuck passes, want one per waiting record: 2", n)
	}
	if n := count(`SELECT count(*) FROM audit_log WHERE action = 'reconcile.virtuous_only' AND record_id IS NULL AND (details->>'virtuous_id')::bigint = $1`, direct.ID); n != 1 {
		t.Errorf("got %d rows for the gift only Virtuous holds, want 1", n)
	}

	// A Virtuous user edits a recovered gift; its webhook is lost too.
	var vid int64
	e.App.Store.DB().Get(&vid, `SELECT virtuous_id FROM records WHERE platform_id = 'order-3'`)
	amount := money.Decimal("99.00")
	if err := e.Org.EditGift(vid, virtuoussim.GiftEdit{Amount: &amount}); err != nil {
		t.Fatal(err)
	}
	e.Clock.Set(start.Add(73*time.Hour + time.Minute))
	e.Reconcile(reconcile.Missed)
	e.Reconcile(reconcile.Missed)
	e.Reconcile(reconcile.Stuck)
	if n := count(`SELECT count(*) FROM audit_log a JOIN records r ON r.id = a.record_id WHERE r.platform_id = 'order-3' AND a.action = 'reconcile.applied'`); n != 1 {
		t.Errorf("got %d rows for the edit only a pass saw, want 1", n)
	}
	if n := count(`SELECT count(*) FROM audit_log WHERE action = 'reconcile.needs_review' AND to_status = 'needs_review'`); n != 2 {
		t.Errorf("got %d needs-review rows, want 2", n)
	}
	// Every record's status changes are all in the trail: replaying each
	// record's rows gives its status now.
	if n := count(`SELECT count(*) FROM records r WHERE r.status <> coalesce((
		SELECT a.to_status FROM audit_log a WHERE a.record_id = r.id AND a.to_status <> a.from_status ORDER BY a.at DESC, a.id DESC LIMIT 1), 'pending')`); n != 0 {
		t.Errorf("%d records' status is not the last status in their trail", n)
	}
}
