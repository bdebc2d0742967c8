package submit_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"backstop/internal/apptest"
	"backstop/internal/dbtest"
	"backstop/internal/record"
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
	var esc int
	e.App.Store.DB().Get(&esc, `SELECT count(*) FROM escalations WHERE kind = 'failed_records'`)
	if esc != 1 {
		t.Errorf("got %d failed-records escalations, want 1", esc)
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
