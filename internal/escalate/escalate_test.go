package escalate_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"backstop/internal/dbtest"
	"backstop/internal/derrors"
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

// Acknowledging records who and when with an audit row naming them, in one
// transaction; a second acknowledgement, or another tenant's, writes nothing.
func TestAcknowledge(t *testing.T) {
	t.Parallel()
	s := dbtest.Store(t)
	ctx := context.Background()
	mk := func(slug string) int64 {
		id, err := s.CreateTenant(ctx, &tenant.Tenant{Slug: slug, Name: slug, VirtuousBaseURL: "http://x", VirtuousKeyEnc: []byte("k"),
			WebhookTokenEnc: []byte("w-" + slug), IntakeTokenHash: []byte("h-" + slug)})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	acme, beta := mk("acme"), mk("beta")
	r := &escalate.Raiser{Store: s}
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	if err := r.Raise(ctx, acme, escalate.FailedRecords, now, "3 records failed", nil); err != nil {
		t.Fatal(err)
	}
	open, _ := s.OpenEscalations(ctx, acme, 10)
	if len(open) != 1 {
		t.Fatalf("got %d open, want 1", len(open))
	}
	id := open[0].ID
	trail := func() int {
		var n int
		s.DB().Get(&n, `SELECT count(*) FROM audit_log WHERE action = 'escalation.acknowledged'`)
		return n
	}
	if _, err := escalate.Acknowledge(ctx, s, beta, id, "user:bob@beta.example", now); !errors.Is(err, derrors.NotFound) {
		t.Errorf("beta acknowledging acme's: got %v, want NotFound", err)
	}
	at := now.Add(time.Hour)
	e, err := escalate.Acknowledge(ctx, s, acme, id, "user:eve@backstop.example", at)
	if err != nil || e.AcknowledgedAt == nil || !e.AcknowledgedAt.Equal(at) || *e.AcknowledgedBy != "user:eve@backstop.example" || e.TenantSlug != "acme" {
		t.Fatalf("acknowledge: %+v, %v", e, err)
	}
	var row struct {
		Actor   string `db:"actor"`
		Tenant  int64  `db:"tenant_id"`
		Details string `db:"details"`
	}
	if err := s.DB().Get(&row, `SELECT actor, tenant_id, details FROM audit_log WHERE action = 'escalation.acknowledged'`); err != nil {
		t.Fatal(err)
	}
	if row.Actor != "user:eve@backstop.example" || row.Tenant != acme || !strings.Contains(row.Details, `"kind": "failed_records"`) {
		t.Errorf("audit row %+v", row)
	}
	again, err := escalate.Acknowledge(ctx, s, acme, id, "user:oz@backstop.example", at.Add(time.Hour))
	if !errors.Is(err, derrors.WrongState) || *again.AcknowledgedBy != "user:eve@backstop.example" {
		t.Errorf("second: got %v by %v, want WrongState naming the first", err, again.AcknowledgedBy)
	}
	if n := trail(); n != 1 {
		t.Errorf("got %d audit rows, want 1", n)
	}
	if open, _ := s.OpenEscalations(ctx, 0, 10); len(open) != 0 {
		t.Errorf("%d still open", len(open))
	}
}
