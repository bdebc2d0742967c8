package escalate_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"backstop/internal/dbtest"
	"backstop/internal/escalate"
	"backstop/internal/jobs"
	"backstop/internal/tenant"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// An escalation is raised once per tenant, kind and day, and its alert is
// POSTed as JSON; a failing endpoint is retried, never blocking the raiser.
func TestRaiseOncePerDayAndAlert(t *testing.T) {
	t.Parallel()
	s := dbtest.Store(t)
	ctx := context.Background()
	tid, err := s.CreateTenant(ctx, &tenant.Tenant{Slug: "acme", Name: "Acme", VirtuousBaseURL: "http://x", VirtuousKeyEnc: []byte("k"), WebhookTokenEnc: []byte("w"), IntakeTokenHash: []byte("h")})
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	var got map[string]any
	alerts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusBadGateway) // the first attempt fails
			return
		}
		b, _ := io.ReadAll(r.Body)
		json.Unmarshal(b, &got)
	}))
	defer alerts.Close()

	workers := river.NewWorkers()
	river.AddWorker(workers, &escalate.AlertWorker{Store: s, AlertURL: alerts.URL, HTTP: alerts.Client()})
	rc, err := jobs.New(s.DB().DB, jobs.Options{Workers: workers, PollInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	rc.Start(ctx)
	defer rc.Stop(context.Background())
	r := &escalate.Raiser{Store: s, Jobs: rc, AlertURL: alerts.URL}
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	for range 3 {
		if err := r.Raise(ctx, tid, escalate.FailedRecords, now, "3 records failed", map[string]int{"failed": 3}); err != nil {
			t.Fatal(err)
		}
	}
	r.Raise(ctx, tid, escalate.FailedRecords, now.Add(24*time.Hour), "again tomorrow", nil)
	es, err := s.Escalations(ctx, tid, now.Add(-48*time.Hour), now.Add(48*time.Hour))
	if err != nil || len(es) != 2 {
		t.Fatalf("got %d escalations (%v), want one per day: 2", len(es), err)
	}
	// Make River retry the failed delivery now rather than after its backoff.
	s.DB().Exec(`UPDATE river_job SET scheduled_at = now() WHERE state = 'retryable'`)
	deadline := time.Now().Add(20 * time.Second)
	for {
		e, _ := s.EscalationByID(ctx, es[1].ID)
		if e.AlertStatus == "sent" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("alert status %q, want sent after a retry", e.AlertStatus)
		}
		s.DB().Exec(`UPDATE river_job SET scheduled_at = now() WHERE state = 'retryable'`)
		time.Sleep(100 * time.Millisecond)
	}
	if got["type"] != "backstop.escalation" || calls.Load() < 2 {
		t.Errorf("got body %v after %d calls, want the escalation after a retry", got, calls.Load())
	}
	var jobsN int
	s.DB().Get(&jobsN, `SELECT count(*) FROM river_job WHERE kind = 'alert'`)
	if jobsN != 2 {
		t.Errorf("got %d alert jobs, want one per escalation (2)", jobsN)
	}
}
