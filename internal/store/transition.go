package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lib/pq"

	"backstop/internal/audit"
	"backstop/internal/derrors"
	"backstop/internal/record"
)

// Transition is one move along the lifecycle: a compare-and-set of status
// (and optionally of version), the columns that move with it, and the audit
// entry that records it.
type Transition struct {
	TenantID int64
	RecordID int64
	From     []record.Status
	To       record.Status
	// Version, when non-zero, must equal the record's version: optimistic
	// locking for people acting on what they saw on a page.
	Version int64
	At      time.Time
	Set     Columns
	Audit   audit.Entry // TenantID, RecordID, At, FromStatus, ToStatus are filled in
}

// Columns are the record columns a transition may set; nil leaves one as is.
type Columns struct {
	SubmittedAt       *time.Time
	ConfirmedAt       *time.Time
	ConfirmedVia      *record.ConfirmedVia
	LastSyncAt        *time.Time
	VirtuousID        *int64
	VirtuousContactID *int64
	Attempts          *int
	LastError         *string
}

// TransitionError says a transition found the record elsewhere in its life.
type TransitionError struct {
	RecordID int64
	Current  record.Status
	To       record.Status
	Version  int64 // the record's version, when a version check failed
}

func (e *TransitionError) Error() string {
	if e.Version != 0 {
		return fmt.Sprintf("record %d changed since it was read (now version %d, %s)", e.RecordID, e.Version, e.Current)
	}
	return fmt.Sprintf("record %d is %s; it cannot move to %s", e.RecordID, e.Current, e.To)
}

// Is makes a TransitionError a derrors.WrongState.
func (e *TransitionError) Is(target error) bool { return target == derrors.WrongState }

// Transition applies t in one statement: the record moves only if its status
// is one of t.From (and its version matches, when given), and the audit row is
// written by the same statement, so neither can happen without the other. A
// record found in another state is left alone and a *TransitionError returned.
func (s *Store) Transition(ctx context.Context, q Querier, t Transition) (_ *record.Record, err error) {
	defer derrors.Wrap(&err, "Store.Transition(ctx, record %d → %s)", t.RecordID, t.To)
	if err := record.CheckTransition(t.From, t.To); err != nil {
		return nil, err
	}
	from := make([]string, len(t.From))
	for i, f := range t.From {
		from[i] = string(f)
	}
	at := t.At.UTC()
	a := t.Audit
	stmt := `
		WITH old AS (
			SELECT id, status, version FROM records
			WHERE id = $1 AND tenant_id = $2
			FOR UPDATE
		), moved AS (
			UPDATE records r
			SET status = $3, version = r.version + 1, updated_at = $5,
			    submitted_at = coalesce($6, r.submitted_at),
			    confirmed_at = coalesce($7, r.confirmed_at),
			    confirmed_via = coalesce($8, r.confirmed_via),
			    last_sync_at = coalesce($9, r.last_sync_at),
			    virtuous_id = coalesce($10, r.virtuous_id),
			    virtuous_contact_id = coalesce($11, r.virtuous_contact_id),
			    attempts = coalesce($12, r.attempts),
			    last_error = coalesce($13, r.last_error)
			FROM old
			WHERE r.id = old.id AND old.status = ANY($4) AND ($14::bigint = 0 OR old.version = $14::bigint)
			RETURNING ` + prefixed("r.", recordColumns) + `, old.status AS from_status
		), logged AS (
			INSERT INTO audit_log (tenant_id, record_id, at, actor, action, category,
			                       from_status, to_status, details, dedupe_key)
			SELECT $2, moved.id, $5, $15, $16, $17, moved.from_status, $3, $18, $19
			FROM moved
		)
		SELECT ` + recordColumns + ` FROM moved`
	var r record.Record
	err = q.GetContext(ctx, &r, stmt, t.RecordID, t.TenantID, t.To, pq.Array(from), at,
		t.Set.SubmittedAt, t.Set.ConfirmedAt, t.Set.ConfirmedVia, t.Set.LastSyncAt,
		t.Set.VirtuousID, t.Set.VirtuousContactID, t.Set.Attempts, t.Set.LastError, t.Version,
		a.Actor, a.Action, a.Category, jsonOrEmpty(a.Details), a.DedupeKey)
	if err == nil {
		return &r, nil
	}
	if !errors.Is(classify(err), derrors.NotFound) {
		return nil, classify(err)
	}
	cur, gerr := s.Record(ctx, q, t.TenantID, t.RecordID)
	if gerr != nil {
		return nil, gerr
	}
	te := &TransitionError{RecordID: t.RecordID, Current: cur.Status, To: t.To}
	if t.Version != 0 && cur.Version != t.Version {
		te.Version = cur.Version
	}
	return nil, te
}
