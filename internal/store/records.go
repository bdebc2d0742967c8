package store

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"

	"backstop/internal/audit"
	"backstop/internal/derrors"
	"backstop/internal/record"
)

const recordColumns = `
	id, tenant_id, kind, platform_id, source, source_ref, source_meta, ext_source, ext_id,
	status, payload, payload_sha, donor_name, donor_email, amount_minor, currency,
	gift_date, virtuous_id, virtuous_contact_id, virtuous_data, virtuous_modified_at,
	virtuous_deleted_at, created_at, platform_updated_at, updated_at, submitted_at,
	confirmed_at, last_sync_at, confirmed_via, attempts, last_error, drift_dirty,
	version, age_at`

// InsertRecord adds r as a new record in status r.Status and returns its id.
func (s *Store) InsertRecord(ctx context.Context, q Querier, r *record.Record) (id int64, err error) {
	defer derrors.Wrap(&err, "Store.InsertRecord(ctx, %s %q)", r.Kind, r.PlatformID)
	const stmt = `
		INSERT INTO records (tenant_id, kind, platform_id, source, source_ref, source_meta,
		                     ext_source, ext_id, status, payload, payload_sha, donor_name,
		                     donor_email, amount_minor, currency, gift_date, created_at,
		                     platform_updated_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $17, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16, $16)
		RETURNING id`
	err = q.GetContext(ctx, &id, stmt, r.TenantID, r.Kind, r.PlatformID, r.Source, r.SourceRef,
		r.ExtSource, r.ExtID, r.Status, []byte(r.Payload), r.PayloadSHA, r.DonorName, r.DonorEmail,
		r.AmountMinor, r.Currency, r.GiftDate, r.CreatedAt.UTC(), jsonOrEmpty(r.SourceMeta))
	if err != nil {
		return 0, classify(err)
	}
	return id, nil
}

// Record returns tenantID's record id, or NotFound (also for another tenant's).
func (s *Store) Record(ctx context.Context, q Querier, tenantID, id int64) (_ *record.Record, err error) {
	defer derrors.Wrap(&err, "Store.Record(ctx, %d)", id)
	var r record.Record
	stmt := `SELECT ` + recordColumns + ` FROM records WHERE tenant_id = $1 AND id = $2`
	if err := q.GetContext(ctx, &r, stmt, tenantID, id); err != nil {
		return nil, classify(err)
	}
	return &r, nil
}

// RecordByPlatformID finds a record by the platform's identifier.
func (s *Store) RecordByPlatformID(ctx context.Context, q Querier, tenantID int64, kind record.Kind, platformID string) (_ *record.Record, err error) {
	defer derrors.Wrap(&err, "Store.RecordByPlatformID(ctx, %s %q)", kind, platformID)
	var r record.Record
	stmt := `SELECT ` + recordColumns + ` FROM records WHERE tenant_id = $1 AND kind = $2 AND platform_id = $3`
	if err := q.GetContext(ctx, &r, stmt, tenantID, kind, platformID); err != nil {
		return nil, classify(err)
	}
	return &r, nil
}

// RecordByExternalKey finds a record by transactionSource/transactionId (gifts)
// or referenceSource/referenceId (contacts).
func (s *Store) RecordByExternalKey(ctx context.Context, q Querier, tenantID int64, kind record.Kind, extSource, extID string) (_ *record.Record, err error) {
	defer derrors.Wrap(&err, "Store.RecordByExternalKey(ctx, %s %q/%q)", kind, extSource, extID)
	var r record.Record
	stmt := `SELECT ` + recordColumns + ` FROM records
		WHERE tenant_id = $1 AND kind = $2 AND ext_source = $3 AND ext_id = $4`
	if err := q.GetContext(ctx, &r, stmt, tenantID, kind, extSource, extID); err != nil {
		return nil, classify(err)
	}
	return &r, nil
}

// RecordByVirtuousID finds a record by the Virtuous Gift or Contact id.
func (s *Store) RecordByVirtuousID(ctx context.Context, q Querier, tenantID int64, kind record.Kind, vid int64) (_ *record.Record, err error) {
	defer derrors.Wrap(&err, "Store.RecordByVirtuousID(ctx, %s %d)", kind, vid)
	var r record.Record
	stmt := `SELECT ` + recordColumns + ` FROM records
		WHERE tenant_id = $1 AND kind = $2 AND virtuous_id = $3
		ORDER BY id LIMIT 1`
	if err := q.GetContext(ctx, &r, stmt, tenantID, kind, vid); err != nil {
		return nil, classify(err)
	}
	return &r, nil
}

// LockRecordByPlatformID reads a record for update inside tx (NotFound if none).
func (s *Store) LockRecordByPlatformID(ctx context.Context, tx Querier, tenantID int64, kind record.Kind, platformID string) (_ *record.Record, err error) {
	defer derrors.Wrap(&err, "Store.LockRecordByPlatformID(ctx, %s %q)", kind, platformID)
	var r record.Record
	stmt := `SELECT ` + recordColumns + ` FROM records
		WHERE tenant_id = $1 AND kind = $2 AND platform_id = $3
		FOR UPDATE`
	if err := tx.GetContext(ctx, &r, stmt, tenantID, kind, platformID); err != nil {
		return nil, classify(err)
	}
	return &r, nil
}

// PlatformChange is a new version of a record's body from the platform.
type PlatformChange struct {
	SourceRef   string
	SourceMeta  []byte
	ExtSource   string
	ExtID       string
	Payload     []byte
	PayloadSHA  []byte
	DonorName   string
	DonorEmail  string
	AmountMinor *int64
	Currency    *string
	GiftDate    *time.Time
	At          time.Time
	// DriftDirty asks the drift pass to compare this record on its next run.
	DriftDirty bool
}

// UpdatePayload stores a platform change to record id. It is not a status
// transition, but it bumps the version, so a person acting on the old body
// is told it changed.
func (s *Store) UpdatePayload(ctx context.Context, q Querier, tenantID, id int64, c PlatformChange) (err error) {
	defer derrors.Wrap(&err, "Store.UpdatePayload(ctx, %d)", id)
	const stmt = `
		UPDATE records
		SET source_ref = $3, source_meta = $4, ext_source = $5, ext_id = $6, payload = $7,
		    payload_sha = $8, donor_name = $9, donor_email = $10, amount_minor = $11,
		    currency = $12, gift_date = $13, platform_updated_at = $14, updated_at = $14,
		    drift_dirty = drift_dirty OR $15, version = version + 1
		WHERE tenant_id = $1 AND id = $2`
	res, err := q.ExecContext(ctx, stmt, tenantID, id, c.SourceRef, jsonOrEmpty(c.SourceMeta), c.ExtSource,
		c.ExtID, c.Payload, c.PayloadSHA, c.DonorName, c.DonorEmail, c.AmountMinor, c.Currency,
		c.GiftDate, c.At.UTC(), c.DriftDirty)
	if err != nil {
		return classify(err)
	}
	return oneRow(res)
}

// NoteAttempt records a failed attempt that will be retried: the attempt
// count and error on a still-pending record, and its audit entry.
func (s *Store) NoteAttempt(ctx context.Context, tenantID, id int64, attempts int, lastErr string, e *audit.Entry) (err error) {
	defer derrors.Wrap(&err, "Store.NoteAttempt(ctx, %d)", id)
	return s.InTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `
			UPDATE records SET attempts = $3, last_error = $4, updated_at = now()
			WHERE tenant_id = $1 AND id = $2 AND status = 'pending'`, tenantID, id, attempts, lastErr)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		_, err = s.AppendAudit(ctx, tx, e)
		return err
	})
}

// FindRecords is the runbook's search: tenantID's records whose platform
// id, reference at the source, transaction (or reference) id or donor email
// is exactly q, newest first. Each term has an index.
func (s *Store) FindRecords(ctx context.Context, tenantID int64, q string, limit int) (_ []*record.Record, err error) {
	defer derrors.Wrap(&err, "Store.FindRecords(ctx, %q)", q)
	var rs []*record.Record
	stmt := `SELECT ` + recordColumns + ` FROM records
		WHERE tenant_id = $1
		  AND ((kind IN ('gift', 'contact') AND platform_id = $2) OR source_ref = $2 OR ext_id = $2
		       OR lower(donor_email) = lower($2))
		ORDER BY created_at DESC, id DESC
		LIMIT $3`
	if err := s.db.SelectContext(ctx, &rs, stmt, tenantID, q, limit); err != nil {
		return nil, classify(err)
	}
	return rs, nil
}
