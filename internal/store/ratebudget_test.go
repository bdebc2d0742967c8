package store_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"backstop/internal/dbtest"
	"backstop/internal/store"
)

// TestReserveRateCallConcurrent races reservations from two pools (two
// processes) at one budget row: exactly limit − reserve succeed, each one
// counted once in api_usage.
func TestReserveRateCallConcurrent(t *testing.T) {
	t.Parallel()
	url := dbtest.URL(t)
	ctx := dbtest.Ctx(t)
	var pools [2]*store.Store
	for i := range pools {
		s, err := store.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		pools[i] = s
	}
	tn := newTenant(t, pools[0], "acme") // rate_reserve_pct defaults to 20
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	if err := pools[0].SetRateBudget(ctx, tn.ID, 30, 30, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	var ok, refused atomic.Int64
	var wg sync.WaitGroup
	for i := range 60 {
		wg.Go(func() {
			r, err := pools[i%2].ReserveRateCall(ctx, tn.ID, now)
			switch {
			case err != nil:
				t.Error(err)
			case r.Reserved:
				ok.Add(1)
			default:
				refused.Add(1)
				if r.Reserve != 6 || !r.ResetAt.Equal(now.Add(time.Minute)) {
					t.Errorf("refusal: got reserve %d reset %v, want 6 and %v", r.Reserve, r.ResetAt, now.Add(time.Minute))
				}
			}
		})
	}
	wg.Wait()
	if ok.Load() != 24 || refused.Load() != 36 {
		t.Errorf("got %d reserved and %d refused, want 24 and 36", ok.Load(), refused.Load())
	}
	b, err := pools[1].RateBudget(ctx, tn.ID)
	if err != nil || b.Remaining != 6 {
		t.Errorf("got remaining %v (%v), want 6", b, err)
	}
	if calls, err := pools[1].APIUsage(ctx, tn.ID, now); err != nil || calls != 24 {
		t.Errorf("got api_usage %d (%v), want 24", calls, err)
	}
}

// A reservation refused because another call's 429 emptied the budget while
// it waited for the row reports the budget as that 429 left it — empty until
// its Retry-After — not the older state its statement started from, so that
// the client waits seconds, not the hour.
func TestReserveRefusedByConcurrent429(t *testing.T) {
	t.Parallel()
	s := dbtest.Store(t)
	ctx := dbtest.Ctx(t)
	tn := newTenant(t, s, "acme")
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	if err := s.SetRateBudget(ctx, tn.ID, 100, 100, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	tx, err := s.DB().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	until := now.Add(2 * time.Second)
	if _, err := tx.Exec(`UPDATE rate_budgets SET remaining = 0, reset_at = $2 WHERE tenant_id = $1`, tn.ID, until); err != nil {
		t.Fatal(err)
	}
	got := make(chan store.Reservation, 1)
	go func() {
		r, err := s.ReserveRateCall(ctx, tn.ID, now)
		if err != nil {
			t.Error(err)
		}
		got <- r
	}()
	time.Sleep(200 * time.Millisecond) // the reservation now waits for the row
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	r := <-got
	if r.Reserved || r.Remaining != 0 || !r.ResetAt.Equal(until) {
		t.Errorf("got reserved %v, remaining %d, reset %v; want refused, 0, %v", r.Reserved, r.Remaining, r.ResetAt, until)
	}
}
