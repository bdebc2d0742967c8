package store

import (
	"context"
	"time"

	"backstop/internal/derrors"
)

// InboundEvent is a webhook delivery as received.
type InboundEvent struct {
	ID         int64      `db:"id"`
	TenantID   int64      `db:"tenant_id"`
	DedupeKey  string     `db:"dedupe_key"`
	Event      string     `db:"event"`
	ObjectKind string     `db:"object_kind"`
	VirtuousID *int64     `db:"virtuous_id"`
	ModifiedAt *time.Time `db:"modified_at"`
	Body       []byte     `db:"body"`
	ReceivedAt time.Time  `db:"received_at"`
	AppliedAt  *time.Time `db:"applied_at"`
	Outcome    string     `db:"outcome"`
}

// InsertInboundEvent stores a delivery unless one with its dedupe key was
// stored before; created says which.
func (s *Store) InsertInboundEvent(ctx context.Context, q Querier, e *InboundEvent) (created bool, err error) {
	defer derrors.Wrap(&err, "Store.InsertInboundEvent(ctx, %q)", e.DedupeKey)
	rows, err := q.QueryxContext(ctx, `
		INSERT INTO inbound_events (tenant_id, dedupe_key, event, object_kind, virtuous_id, modified_at, body, received_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (tenant_id, dedupe_key) DO NOTHING
		RETURNING id`, e.TenantID, e.DedupeKey, e.Event, e.ObjectKind, e.VirtuousID, e.ModifiedAt, e.Body, e.ReceivedAt.UTC())
	if err != nil {
		return false, err
	}
	defer rows.Close()
	if rows.Next() {
		return true, rows.Scan(&e.ID)
	}
	return false, rows.Err()
}

// InboundEvent returns a stored delivery.
func (s *Store) InboundEvent(ctx context.Context, q Querier, id int64) (_ *InboundEvent, err error) {
	defer derrors.Wrap(&err, "Store.InboundEvent(ctx, %d)", id)
	var e InboundEvent
	if err := q.GetContext(ctx, &e, `
		SELECT id, tenant_id, dedupe_key, event, object_kind, virtuous_id, modified_at, body,
		       received_at, applied_at, outcome
		FROM inbound_events WHERE id = $1 FOR UPDATE`, id); err != nil {
		return nil, classify(err)
	}
	return &e, nil
}

// MarkEventApplied records that a delivery went through the inbound handler.
func (s *Store) MarkEventApplied(ctx context.Context, q Querier, id int64, at time.Time, outcome string) (err error) {
	defer derrors.Wrap(&err, "Store.MarkEventApplied(ctx, %d)", id)
	_, err = q.ExecContext(ctx, `UPDATE inbound_events SET applied_at = $2, outcome = $3 WHERE id = $1`, id, at.UTC(), outcome)
	return err
}
