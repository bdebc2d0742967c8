package store

import (
	"context"
	"fmt"
	"slices"
	"time"

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

// auditRowsQuery selects a tenant's entries matching an audit.Filter, each
// with its record's references. Every filter is a parameter that is NULL
// when unset; lib/pq plans each statement with its parameters bound, so an
// unset filter folds away and the scan is the (tenant_id, at, id) index —
// or (record_id, id) with a record. %s is the keyset condition and order.
const auditRowsQuery = `
	SELECT a.id, a.tenant_id, a.record_id, a.at, a.actor, a.action, a.category,
	       a.from_status, a.to_status, a.details, a.dedupe_key,
	       (SELECT slug FROM tenants WHERE id = $1) AS tenant_slug,
	       coalesce(r.platform_id, '') AS platform_id, coalesce(r.source, '') AS source,
	       coalesce(r.source_ref, '') AS source_ref, coalesce(r.ext_source, '') AS ext_source,
	       coalesce(r.ext_id, '') AS ext_id
	FROM audit_log a
	LEFT JOIN records r ON r.id = a.record_id
	WHERE a.tenant_id = $1
	  AND ($2::timestamptz IS NULL OR a.at >= $2)
	  AND ($3::timestamptz IS NULL OR a.at < $3)
	  AND ($4::text[] IS NULL OR a.action = ANY($4))
	  AND ($5::text[] IS NULL OR a.category = ANY($5))
	  AND ($6::text IS NULL OR a.actor = $6)
	  AND ($7::bigint IS NULL OR a.record_id = $7)
	  %s`

func auditArgs(tenantID int64, f audit.Filter) []any {
	var since, until *time.Time
	if !f.Since.IsZero() {
		t := f.Since.UTC()
		since = &t
	}
	if !f.Until.IsZero() {
		t := f.Until.UTC()
		until = &t
	}
	var actor *string
	if f.Actor != "" {
		actor = &f.Actor
	}
	var rec *int64
	if f.RecordID != 0 {
		rec = &f.RecordID
	}
	return []any{tenantID, since, until, stringArrayOrNull(f.Actions), stringArrayOrNull(f.Categories), actor, rec}
}

// AuditPage returns up to limit of tenantID's entries matching f, newest
// first, strictly before cursor (nil: from the newest). The next page
// starts before the last row's Cursor.
func (s *Store) AuditPage(ctx context.Context, tenantID int64, f audit.Filter, before *audit.Cursor, limit int) (_ []*audit.Row, err error) {
	defer derrors.Wrap(&err, "Store.AuditPage(ctx, %d)", tenantID)
	if err := checkAuditPage(f, limit); err != nil {
		return nil, err
	}
	var at *time.Time
	var id int64
	if before != nil {
		t := before.At.UTC()
		at, id = &t, before.ID
	}
	q := fmt.Sprintf(auditRowsQuery, `AND ($8::timestamptz IS NULL OR (a.at, a.id) < ($8, $9))
	ORDER BY a.at DESC, a.id DESC
	LIMIT $10`)
	args := append(auditArgs(tenantID, f), at, id, limit)
	var rows []*audit.Row
	if err := s.db.SelectContext(ctx, &rows, q, args...); err != nil {
		return nil, err
	}
	return rows, nil
}

// EachAudit calls fn with each of tenantID's entries matching f, oldest
// first, reading them from one query's cursor as they arrive: memory stays
// constant however many there are. The *audit.Row is reused between calls.
func (s *Store) EachAudit(ctx context.Context, tenantID int64, f audit.Filter, fn func(*audit.Row) error) (err error) {
	defer derrors.Wrap(&err, "Store.EachAudit(ctx, %d)", tenantID)
	if err := f.Validate(); err != nil {
		return err
	}
	q := fmt.Sprintf(auditRowsQuery, `ORDER BY a.at, a.id`)
	rows, err := s.db.QueryxContext(ctx, q, auditArgs(tenantID, f)...)
	if err != nil {
		return err
	}
	defer rows.Close()
	var r audit.Row
	for rows.Next() {
		r = audit.Row{}
		if err := rows.StructScan(&r); err != nil {
			return err
		}
		if err := fn(&r); err != nil {
			return err
		}
	}
	return rows.Err()
}

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

// AuditPageNewer returns up to limit of tenantID's entries matching f
// strictly after cursor, newest first: the page of newer entries before a
// page that begins at cursor. It reads forward from the cursor on the same
// index and turns the page round.
func (s *Store) AuditPageNewer(ctx context.Context, tenantID int64, f audit.Filter, after audit.Cursor, limit int) (_ []*audit.Row, err error) {
	defer derrors.Wrap(&err, "Store.AuditPageNewer(ctx, %d)", tenantID)
	if err := checkAuditPage(f, limit); err != nil {
		return nil, err
	}
	q := fmt.Sprintf(auditRowsQuery, `AND (a.at, a.id) > ($8, $9)
	ORDER BY a.at, a.id
	LIMIT $10`)
	args := append(auditArgs(tenantID, f), after.At.UTC(), after.ID, limit)
	var rows []*audit.Row
	if err := s.db.SelectContext(ctx, &rows, q, args...); err != nil {
		return nil, err
	}
	slices.Reverse(rows)
	return rows, nil
}

func checkAuditPage(f audit.Filter, limit int) error {
	if err := f.Validate(); err != nil {
		return err
	}
	if limit < 1 || limit > 1000 {
		return derrors.Invalid("limit", "%d is outside 1–1000", limit)
	}
	return nil
}
