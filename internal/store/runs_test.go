package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"backstop/internal/dbtest"
	"backstop/internal/store"
)

// A scheduled run keeps its period from a second run while it runs, once it
// finished and when it stopped early; one that failed — or whose worker died,
// leaving it running — gives the period to the retry of its job.
func TestRunSlots(t *testing.T) {
	t.Parallel()
	s := dbtest.Store(t)
	ctx := context.Background()
	tn := newTenant(t, s, "acme")
	at := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	start := func(slot string) (*store.Run, error) { return s.StartRun(ctx, tn.ID, "stuck", "schedule", slot, at) }
	finish := func(r *store.Run, status string) {
		t.Helper()
		r.Status, r.FinishedAt = status, &at
		if err := s.FinishRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	for _, status := range []string{"running", "ok", "partial"} {
		slot := "stuck:" + status
		r, err := start(slot)
		if err != nil {
			t.Fatal(err)
		}
		if status != "running" {
			finish(r, status)
			if _, err := start(slot); !errors.Is(err, store.ErrSlotTaken) {
				t.Errorf("a second run after one %s: got %v, want ErrSlotTaken", status, err)
			}
		}
	}
	// The run left "running" above is a worker that died: the next start
	// closes it as failed and runs in its period.
	r, err := start("stuck:running")
	if err != nil {
		t.Fatalf("retry of an interrupted run: %v", err)
	}
	finish(r, "failed")
	if _, err := start("stuck:running"); err != nil {
		t.Errorf("retry of a failed run: %v", err)
	}
	var failed int
	s.DB().Get(&failed, `SELECT count(*) FROM reconciliation_runs WHERE slot = 'stuck:running' AND status = 'failed'`)
	if failed != 2 {
		t.Errorf("got %d failed runs kept in the history, want 2", failed)
	}
}
