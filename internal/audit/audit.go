// Package audit defines the entries of Backstop's append-only audit trail —
// every status transition and every reconciliation outcome — and writes them
// as CSV. It holds no SQL: the store persists and streams entries.
package audit

import (
	"encoding/json"
	"time"
)

// Entry is one row of the audit trail.
type Entry struct {
	ID         int64           `db:"id"`
	TenantID   int64           `db:"tenant_id"`
	RecordID   *int64          `db:"record_id"`
	At         time.Time       `db:"at"`
	Actor      string          `db:"actor"`
	Action     string          `db:"action"`
	Category   string          `db:"category"`
	FromStatus string          `db:"from_status"`
	ToStatus   string          `db:"to_status"`
	Details    json.RawMessage `db:"details"`
	// DedupeKey, when set, makes a second recording of the same outcome (a
	// retried job, a replayed event) a no-op instead of a duplicate.
	DedupeKey *string `db:"dedupe_key"`
}

// Actors that are not people.
const (
	ActorPlatform  = "platform"
	ActorSubmit    = "system:submit"
	ActorWebhook   = "system:webhook"
	ActorReconcile = "system:reconcile"
	ActorReport    = "system:report"
	ActorEscalate  = "system:escalate"
)

// ActorUser is the actor for an action a signed-in person took.
func ActorUser(email string) string { return "user:" + email }

// Categories group entries by the spec's failure categories and flows.
const (
	CatIntake      = "intake"
	CatSubmission  = "submission"
	CatWebhook     = "webhook"
	CatStuck       = "stuck"        // Category 1
	CatNeedsReview = "needs_review" // Category 2
	CatMissed      = "missed"       // Category 3
	CatDrift       = "drift"        // Category 4
	CatReview      = "review"       // a person working a queue
	CatEscalation  = "escalation"
	CatSettings    = "settings"
)

// Details marshals v for Entry.Details; nil gives {}.
func Details(v any) json.RawMessage {
	if v == nil {
		return json.RawMessage("{}")
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic("audit details must marshal: " + err.Error())
	}
	return b
}

// Key returns a dedupe key pointer.
func Key(k string) *string { return &k }
