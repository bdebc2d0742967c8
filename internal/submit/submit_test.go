package submit_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"backstop/internal/apptest"
	"backstop/internal/dbtest"
	"backstop/internal/ratebudget"
	"backstop/internal/record"
	"backstop/internal/submit"
	"backstop/internal/tenant"
	"backstop/internal/virtuous"
	"backstop/internal/virtuoussim"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// A 400 from Virtuous fails the record at once with Virtuous' message, an
// audit row and the day's engineering escalation; nothing is retried.
func TestSubmitRejectedFails(t *testing.T) {
	t.Parallel()
	e := apptest.New(t, apptest.Options{Workers: true})
	body := strings.Replace(apptest.Gift(1, "10.00"), "donor1@example.org", "donor1@invalid.example", 1)
	if code, out := e.Put(record.Gift, "order-1", body); code != 201 {
		t.Fatalf("%d %v", code, out)
	}
	e.Eventually("record failed", 30*time.Second, func() bool { return e.Statuses()[record.Failed] == 1 })
	var lastErr string
	var attempts int
	e.App.Store.DB().QueryRow(`SELECT last_error, attempts FROM records`).Scan(&lastErr, &attempts)
	if !strings.Contains(lastErr, "invalid.example") || attempts != 1 {
		t.Errorf("got last_error %q after %d attempts, want Virtuous' message naming the email after 1", lastErr, attempts)
	}
	if n := e.Org.Counters().Requests["POST /api/v2/Gift/Transaction"]; n != 1 {
		t.Errorf("got %d POSTs, want 1: a 400 is not retried", n)
	}
	waitEscalation(t, e)
}

// waitEscalation waits for the day's failed-records escalation: the worker
// raises it just after the record's failure commits, so a test that saw the
// failure may look a moment too early. Exactly one, however many checks.
func waitEscalation(t *testing.T, e *apptest.Env) {
	t.Helper()
	e.Eventually("the failed-records escalation", 30*time.Second, func() bool {
		var n int
		e.App.Store.DB().Get(&n, `SELECT count(*) FROM escalations WHERE kind = 'failed_records'`)
		return n > 0
	})
	var n int
	e.App.Store.DB().Get(&n, `SELECT count(*) FROM escalations WHERE kind = 'failed_records'`)
	if n != 1 {
		t.Errorf("got %d failed-records escalations, want 1", n)
	}
}

// 5xx and timeouts are retried within the job and across River attempts;
// every record ends submitted, and Virtuous' dedupe keeps one gift each.
func TestSubmitRetriesServerErrors(t *testing.T) {
	t.Parallel()
	e := apptest.New(t, apptest.Options{Workers: true, Org: virtuoussim.OrgConfig{ServerErrorRate: 0.3}})
	for i := 1; i <= 30; i++ {
		if code, out := e.Put(record.Gift, fmt.Sprintf("order-%d", i), apptest.Gift(i, "10.00")); code != 201 {
			t.Fatalf("%d %v", code, out)
		}
	}
	e.Eventually("all submitted", 60*time.Second, func() bool { return e.Statuses()[record.Submitted] == 30 })
	e.Org.RunBatch()
	e.Quiet(30 * time.Second)
	if got := len(e.Org.Gifts()); got != 30 {
		t.Errorf("got %d gifts in Virtuous, want 30: retries must never make a second gift", got)
	}
}

// 5xx on every try: the client's own retries, then River's attempts, up to
// the tenant's submit_max_attempts (3 here); then the record is failed
// saying so, with a retry audit row per earlier attempt, a failure row, and
// the engineering escalation. River's backoff before each new attempt is
// cut short (it reaches 16s before the third); the attempts are River's.
func TestSubmitRetriesExhaustedFails(t *testing.T) {
	t.Parallel()
	e := apptest.New(t, apptest.Options{Workers: true, Org: virtuoussim.OrgConfig{ServerErrorRate: 1}})
	db := e.App.Store.DB()
	if _, err := db.Exec(`UPDATE tenants SET submit_max_attempts = 3`); err != nil {
		t.Fatal(err)
	}
	if code, out := e.Put(record.Gift, "order-1", apptest.Gift(1, "10.00")); code != 201 {
		t.Fatalf("%d %v", code, out)
	}
	e.Eventually("record failed", 60*time.Second, func() bool {
		db.Exec(`UPDATE river_job SET scheduled_at = now() WHERE kind = 'submit' AND state = 'retryable'`)
		return e.Statuses()[record.Failed] == 1
	})
	var rec struct {
		LastError string `db:"last_error"`
		Attempts  int    `db:"attempts"`
	}
	db.Get(&rec, `SELECT last_error, attempts FROM records`)
	if rec.Attempts != 3 || !strings.Contains(rec.LastError, "gave up after 3 attempts") {
		t.Errorf("got attempts %d, last_error %q; want 3 and a message saying the attempts ran out", rec.Attempts, rec.LastError)
	}
	// Each River attempt is one client call of five tries.
	if n := e.Org.Counters().Requests["POST /api/v2/Gift/Transaction"]; n != 3*5 {
		t.Errorf("got %d POSTs, want 15 (3 attempts of 5 tries)", n)
	}
	var audit []string
	db.Select(&audit, `SELECT action || ':' || to_status || ':' || (details->>'attempt') FROM audit_log
		WHERE action LIKE 'submit.%' ORDER BY id`)
	want := []string{"submit.retry:pending:1", "submit.retry:pending:2", "submit.failed:failed:3"}
	if strings.Join(audit, " ") != strings.Join(want, " ") {
		t.Errorf("got audit %v, want %v", audit, want)
	}
	waitEscalation(t, e)
}

// rateLimitedWorker is a submission worker whose client goes to a
// simulator allowing one request per window, with that one already spent
// by another integration, and the record it should submit.
func rateLimitedWorker(t *testing.T, window time.Duration) (*apptest.Env, *virtuoussim.Org, *submit.Worker, submit.Args) {
	t.Helper()
	e := apptest.New(t, apptest.Options{})
	sim := virtuoussim.New(virtuoussim.Options{RateLimit: 1, RateWindow: window, Seed: 1})
	org := sim.AddOrg("acme", "sim-key-acme")
	url, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	clients := func(ctx context.Context, tn *tenant.Tenant) (*virtuous.Client, error) {
		return virtuous.New(virtuous.Config{BaseURL: url, APIKey: "sim-key-acme", Budget: ratebudget.New(e.App.Store, tn.ID),
			BaseBackoff: time.Millisecond, MaxBackoff: time.Millisecond})
	}
	// The customer's other integration spends the window; Backstop's
	// budget has not seen it, so its first POST meets a 429.
	other, err := virtuous.New(virtuous.Config{BaseURL: url, APIKey: "sim-key-acme"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := other.Gift(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	if code, out := e.Put(record.Gift, "order-1", apptest.Gift(1, "10.00")); code != 201 {
		t.Fatalf("%d %v", code, out)
	}
	var id int64
	e.App.Store.DB().Get(&id, `SELECT id FROM records`)
	w := &submit.Worker{Store: e.App.Store, Now: e.Clock.Now, Log: e.App.Log,
		Clients: func(ctx context.Context, tn *tenant.Tenant) (submit.Client, error) { return clients(ctx, tn) }}
	return e, org, w, submit.Args{TenantID: e.Tenant.ID, RecordID: id}
}

func job(a submit.Args, attempt int) *river.Job[submit.Args] {
	return &river.Job[submit.Args]{JobRow: &rivertype.JobRow{ID: 1, Attempt: attempt, MaxAttempts: 3}, Args: a}
}

// A 429 is the organization's limit, not the record's fault. A short
// Retry-After is waited out within the attempt, and the record is submitted.
// A long one ends the attempt (noted, the record still pending), and the
// shared budget then holds the next attempt back without a request and
// without spending it.
func TestSubmitRateLimited(t *testing.T) {
	t.Parallel()
	t.Run("ShortRetryAfter", func(t *testing.T) {
		t.Parallel()
		e, org, w, args := rateLimitedWorker(t, time.Second)
		if err := w.Work(context.Background(), job(args, 1)); err != nil {
			t.Fatalf("got %v, want the record submitted after the Retry-After", err)
		}
		c := org.Counters()
		if st := e.Statuses(); st[record.Submitted] != 1 || c.RateLimited != 1 || c.Requests["POST /api/v2/Gift/Transaction"] != 2 {
			t.Errorf("got %v with %d refused of %d POSTs, want submitted after one 429 and a second POST", st, c.RateLimited, c.Requests["POST /api/v2/Gift/Transaction"])
		}
	})
	t.Run("LongRetryAfter", func(t *testing.T) {
		t.Parallel()
		e, org, w, args := rateLimitedWorker(t, time.Hour)
		err := w.Work(context.Background(), job(args, 1))
		var ae *virtuous.APIError
		if !errors.As(err, &ae) || ae.Status != 429 {
			t.Fatalf("got %v, want the 429 returned for River to retry", err)
		}
		var note string
		e.App.Store.DB().Get(&note, `SELECT details->>'error' FROM audit_log WHERE action = 'submit.retry'`)
		if st := e.Statuses(); st[record.Pending] != 1 || !strings.Contains(note, "429") {
			t.Errorf("got %v and retry note %q, want the record still pending and the 429 noted", st, note)
		}
		err = w.Work(context.Background(), job(args, 2))
		var snooze *river.JobSnoozeError
		if !errors.As(err, &snooze) {
			t.Errorf("second attempt: got %v, want a snooze until the budget allows", err)
		}
		if n := org.Counters().Requests["POST /api/v2/Gift/Transaction"]; n != 1 {
			t.Errorf("got %d POSTs, want 1: the budget keeps the second attempt from asking", n)
		}
		if st := e.Statuses(); st[record.Pending] != 1 {
			t.Errorf("got %v, want the record still pending", st)
		}
	})
}
