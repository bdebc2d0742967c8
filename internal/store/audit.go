package store

import (
	"context"

	"backstop/internal/audit"
	"backstop/internal/derrors"
)

// AppendAudit adds e to the audit trail. With a dedupe key that is already
// present, nothing is added and added is false.
func (s *Store) AppendAudit(ctx context.Context, q Querier, e *audit.Entry) (added bool, err error) {
	defer derrors.Wrap(&err, "Store.AppendAudit(ctx, %q)", e.Action)
	const stmt = `
		INSERT INTO audit_log (tenant_id, record_id, at, actor, action, category,
		                       from_status, to_status, details, dedupe_key)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (tenant_id, dedupe_key) DO NOTHING`
	res, err := q.ExecContext(ctx, stmt, e.TenantID, e.RecordID, e.At.UTC(), e.Actor, e.Action,
		e.Category, e.FromStatus, e.ToStatus, jsonOrEmpty(e.Details), e.DedupeKey)
	if err != nil {
		return false, classify(err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

const auditColumns = `id, tenant_id, record_id, at, actor, action, category,
	from_status, to_status, details, dedupe_key`

// RecordAudit lists a record's audit entries, oldest first: its timeline.
func (s *Store) RecordAudit(ctx context.Context, tenantID, recordID int64) (_ []*audit.Entry, err error) {
	defer derrors.Wrap(&err, "Store.RecordAudit(ctx, %d)", recordID)
	var es []*audit.Entry
	q := `SELECT ` + auditColumns + ` FROM audit_log WHERE tenant_id = $1 AND record_id = $2 ORDER BY id`
	if err := s.db.SelectContext(ctx, &es, q, tenantID, recordID); err != nil {
		return nil, err
	}
	return es, nil
}
