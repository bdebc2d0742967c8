package store

import (
	"context"
	"encoding/json"
	"time"

	"backstop/internal/derrors"
)

// Change is one row of the changes feed the platform pulls.
type Change struct {
	ID         int64           `db:"id" json:"-"`
	TxID       string          `db:"txid" json:"-"`
	Kind       string          `db:"kind" json:"kind"`
	VirtuousID int64           `db:"virtuous_id" json:"virtuous_id"`
	Change     string          `db:"change" json:"change"`
	RecordID   *int64          `db:"record_id" json:"record_id,omitempty"`
	PlatformID string          `db:"platform_id" json:"platform_id,omitempty"`
	ModifiedAt *time.Time      `db:"modified_at" json:"virtuous_modified_at,omitempty"`
	Data       json.RawMessage `db:"data" json:"data"`
	UpdatedAt  time.Time       `db:"updated_at" json:"updated_at"`
}

// ChangesAfter returns up to limit feed rows after the cursor (txid, id) in
// commit order. Rows of transactions still in flight are held back (txid at
// or above the snapshot's xmin), so a row can never appear behind a cursor a
// reader has already passed.
func (s *Store) ChangesAfter(ctx context.Context, tenantID int64, txid string, id int64, limit int) (_ []*Change, err error) {
	defer derrors.Wrap(&err, "Store.ChangesAfter(ctx, %d, %s, %d)", tenantID, txid, id)
	const q = `
		SELECT id, txid::text AS txid, kind, virtuous_id, change, record_id, platform_id,
		       modified_at, data, updated_at
		FROM changes
		WHERE tenant_id = $1
		  AND (txid, id) > ($2::xid8, $3::bigint)
		  AND txid < pg_snapshot_xmin(pg_current_snapshot())
		ORDER BY txid, id
		LIMIT $4`
	var cs []*Change
	if err := s.db.SelectContext(ctx, &cs, q, tenantID, txid, id, limit); err != nil {
		return nil, classify(err)
	}
	return cs, nil
}
