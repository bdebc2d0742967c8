package store

import (
	"context"

	"backstop/internal/derrors"
	"backstop/internal/record"
)

const recordColumns = `
	id, tenant_id, kind, platform_id, source, source_ref, ext_source, ext_id,
	status, payload, payload_sha, donor_name, donor_email, amount_minor, currency,
	gift_date, virtuous_id, virtuous_contact_id, virtuous_data, virtuous_modified_at,
	virtuous_deleted_at, created_at, platform_updated_at, updated_at, submitted_at,
	confirmed_at, last_sync_at, confirmed_via, attempts, last_error, drift_dirty,
	version, age_at`

// InsertRecord adds r as a new record in status r.Status and returns its id.
func (s *Store) InsertRecord(ctx context.Context, q Querier, r *record.Record) (id int64, err error) {
	defer derrors.Wrap(&err, "Store.InsertRecord(ctx, %s %q)", r.Kind, r.PlatformID)
	const stmt = `
		INSERT INTO records (tenant_id, kind, platform_id, source, source_ref, ext_source,
		                     ext_id, status, payload, payload_sha, donor_name, donor_email,
		                     amount_minor, currency, gift_date, created_at,
		                     platform_updated_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16, $16)
		RETURNING id`
	err = q.GetContext(ctx, &id, stmt, r.TenantID, r.Kind, r.PlatformID, r.Source, r.SourceRef,
		r.ExtSource, r.ExtID, r.Status, []byte(r.Payload), r.PayloadSHA, r.DonorName, r.DonorEmail,
		r.AmountMinor, r.Currency, r.GiftDate, r.CreatedAt.UTC())
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
