package store

import (
	"context"
	"encoding/json"
	"time"

	"backstop/internal/derrors"
	"backstop/internal/record"
)

// ConflictRow is drift the tenant's policy left to a person.
type ConflictRow struct {
	ID            int64           `db:"id"`
	TenantID      int64           `db:"tenant_id"`
	RecordID      int64           `db:"record_id"`
	CreatedAt     time.Time       `db:"created_at"`
	Fields        json.RawMessage `db:"fields"` // []record.Diff
	RecordVersion int64           `db:"record_version"`
	ResolvedAt    *time.Time      `db:"resolved_at"`
	ResolvedBy    *string         `db:"resolved_by"`
	Resolution    json.RawMessage `db:"resolution"`
}

// Diffs decodes the conflict's fields.
func (c *ConflictRow) Diffs() []record.Diff {
	var ds []record.Diff
	json.Unmarshal(c.Fields, &ds)
	return ds
}

const conflictColumns = `id, tenant_id, record_id, created_at, fields, record_version, resolved_at, resolved_by, coalesce(resolution, 'null') AS resolution`

// InsertConflict opens a conflict for a record.
func (s *Store) InsertConflict(ctx context.Context, q Querier, c *ConflictRow) (err error) {
	defer derrors.Wrap(&err, "Store.InsertConflict(ctx, record %d)", c.RecordID)
	return classify(q.GetContext(ctx, &c.ID, `
		INSERT INTO conflicts (tenant_id, record_id, created_at, fields, record_version)
		VALUES ($1, $2, $3, $4, $5) RETURNING id`, c.TenantID, c.RecordID, c.CreatedAt.UTC(), c.Fields, c.RecordVersion))
}

// OpenConflict returns the record's unresolved conflict, locked, or NotFound.
func (s *Store) OpenConflict(ctx context.Context, q Querier, tenantID, recordID int64) (_ *ConflictRow, err error) {
	defer derrors.Wrap(&err, "Store.OpenConflict(ctx, record %d)", recordID)
	var c ConflictRow
	if err := q.GetContext(ctx, &c, `SELECT `+conflictColumns+` FROM conflicts
		WHERE tenant_id = $1 AND record_id = $2 AND resolved_at IS NULL FOR UPDATE`, tenantID, recordID); err != nil {
		return nil, classify(err)
	}
	return &c, nil
}

// LatestConflict returns the record's most recent conflict, resolved or not.
func (s *Store) LatestConflict(ctx context.Context, q Querier, tenantID, recordID int64) (_ *ConflictRow, err error) {
	defer derrors.Wrap(&err, "Store.LatestConflict(ctx, record %d)", recordID)
	var c ConflictRow
	if err := q.GetContext(ctx, &c, `SELECT `+conflictColumns+` FROM conflicts
		WHERE tenant_id = $1 AND record_id = $2 ORDER BY id DESC LIMIT 1`, tenantID, recordID); err != nil {
		return nil, classify(err)
	}
	return &c, nil
}

// CloseConflict marks a conflict resolved by who; WrongState if someone
// already did.
func (s *Store) CloseConflict(ctx context.Context, q Querier, id int64, who string, at time.Time, resolution json.RawMessage) (err error) {
	defer derrors.Wrap(&err, "Store.CloseConflict(ctx, %d)", id)
	res, err := q.ExecContext(ctx, `UPDATE conflicts SET resolved_at = $2, resolved_by = $3, resolution = $4
		WHERE id = $1 AND resolved_at IS NULL`, id, at.UTC(), who, resolution)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return derrors.WrongState
	}
	return nil
}

// LockRecord reads a record for update inside tx.
func (s *Store) LockRecord(ctx context.Context, q Querier, tenantID, id int64) (_ *record.Record, err error) {
	defer derrors.Wrap(&err, "Store.LockRecord(ctx, %d)", id)
	var r record.Record
	if err := q.GetContext(ctx, &r, `SELECT `+recordColumns+` FROM records WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, tenantID, id); err != nil {
		return nil, classify(err)
	}
	return &r, nil
}

// MergeVirtuousValues overwrites some fields of a record's Virtuous snapshot
// (after Backstop itself pushed them to Virtuous), leaving its version time.
func (s *Store) MergeVirtuousValues(ctx context.Context, q Querier, tenantID, id int64, vals json.RawMessage) (err error) {
	defer derrors.Wrap(&err, "Store.MergeVirtuousValues(ctx, %d)", id)
	_, err = q.ExecContext(ctx, `UPDATE records SET virtuous_data = virtuous_data || $3::jsonb
		WHERE tenant_id = $1 AND id = $2`, tenantID, id, vals)
	return err
}

// MergeContactValues does the same for a cached Virtuous contact.
func (s *Store) MergeContactValues(ctx context.Context, q Querier, tenantID, contactID int64, vals json.RawMessage) (err error) {
	defer derrors.Wrap(&err, "Store.MergeContactValues(ctx, %d)", contactID)
	_, err = q.ExecContext(ctx, `UPDATE virtuous_contacts SET data = data || $3::jsonb
		WHERE tenant_id = $1 AND contact_id = $2`, tenantID, contactID, vals)
	return err
}

// PublishApply puts a platform-side change on the changes feed: fields whose
// Virtuous value won and that the platform should take.
func (s *Store) PublishApply(ctx context.Context, q Querier, tenantID int64, r *record.Record, at time.Time, data json.RawMessage) (err error) {
	defer derrors.Wrap(&err, "Store.PublishApply(ctx, %d)", r.ID)
	if r.VirtuousID == nil {
		return nil
	}
	_, err = q.ExecContext(ctx, `
		INSERT INTO changes (tenant_id, kind, virtuous_id, change, record_id, platform_id, modified_at, data, updated_at)
		VALUES ($1, $2, $3, 'apply', $4, $5, $6, $7, $8)
		ON CONFLICT (tenant_id, kind, virtuous_id) DO UPDATE
		SET change = 'apply', record_id = EXCLUDED.record_id, platform_id = EXCLUDED.platform_id,
		    data = changes.data || EXCLUDED.data, updated_at = EXCLUDED.updated_at, txid = pg_current_xact_id()`,
		tenantID, r.Kind, *r.VirtuousID, r.ID, r.PlatformID, r.VirtuousModifiedAt, data, at.UTC())
	return err
}
