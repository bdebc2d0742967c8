package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"backstop/internal/derrors"
)

// Escalation is an engineering alert raised for a tenant.
type Escalation struct {
	ID             int64           `db:"id" json:"id"`
	TenantID       int64           `db:"tenant_id" json:"-"`
	TenantSlug     string          `db:"tenant_slug" json:"tenant"`
	Kind           string          `db:"kind" json:"kind"`
	Day            time.Time       `db:"day" json:"day"`
	Message        string          `db:"message" json:"message"`
	Details        json.RawMessage `db:"details" json:"details"`
	CreatedAt      time.Time       `db:"created_at" json:"created_at"`
	AcknowledgedAt *time.Time      `db:"acknowledged_at" json:"acknowledged_at,omitempty"`
	AcknowledgedBy *string         `db:"acknowledged_by" json:"acknowledged_by,omitempty"`
	AlertStatus    string          `db:"alert_status" json:"alert_status"`
}

const escalationColumns = `e.id, e.tenant_id, t.slug AS tenant_slug, e.kind, e.day, e.message, e.details,
	e.created_at, e.acknowledged_at, e.acknowledged_by, e.alert_status`

// RaiseEscalation records an escalation once per tenant, kind and day; the
// id is returned only when this call created it.
func (s *Store) RaiseEscalation(ctx context.Context, q Querier, e *Escalation) (created bool, err error) {
	defer derrors.Wrap(&err, "Store.RaiseEscalation(ctx, %d, %s)", e.TenantID, e.Kind)
	rows, err := q.QueryxContext(ctx, `
		INSERT INTO escalations (tenant_id, kind, day, message, details, created_at, alert_status)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (tenant_id, kind, day) DO NOTHING
		RETURNING id`, e.TenantID, e.Kind, e.Day, e.Message, jsonOrEmpty(e.Details), e.CreatedAt.UTC(), e.AlertStatus)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	if rows.Next() {
		if err := rows.Scan(&e.ID); err != nil {
			return false, err
		}
		return true, nil
	}
	return false, rows.Err()
}

// EscalationByID returns one escalation.
func (s *Store) EscalationByID(ctx context.Context, id int64) (_ *Escalation, err error) {
	defer derrors.Wrap(&err, "Store.EscalationByID(ctx, %d)", id)
	var e Escalation
	if err := s.db.GetContext(ctx, &e, `SELECT `+escalationColumns+` FROM escalations e JOIN tenants t ON t.id = e.tenant_id WHERE e.id = $1`, id); err != nil {
		return nil, classify(err)
	}
	return &e, nil
}

// SetAlertStatus records the outcome of POSTing an escalation to the alert webhook.
func (s *Store) SetAlertStatus(ctx context.Context, id int64, status string) (err error) {
	defer derrors.Wrap(&err, "Store.SetAlertStatus(ctx, %d)", id)
	_, err = s.db.ExecContext(ctx, `UPDATE escalations SET alert_status = $2 WHERE id = $1`, id, status)
	return err
}

// Escalations lists a tenant's escalations raised on days in [from, to], newest first.
func (s *Store) Escalations(ctx context.Context, tenantID int64, from, to time.Time) (_ []*Escalation, err error) {
	defer derrors.Wrap(&err, "Store.Escalations(ctx, %d)", tenantID)
	var es []*Escalation
	err = s.db.SelectContext(ctx, &es, `SELECT `+escalationColumns+` FROM escalations e JOIN tenants t ON t.id = e.tenant_id
		WHERE e.tenant_id = $1 AND e.day BETWEEN $2 AND $3 ORDER BY e.created_at DESC, e.id DESC`, tenantID, from, to)
	return es, err
}

// OpenEscalations lists up to limit escalations nobody has acknowledged,
// newest first (tenantID 0: all tenants).
func (s *Store) OpenEscalations(ctx context.Context, tenantID int64, limit int) (_ []*Escalation, err error) {
	defer derrors.Wrap(&err, "Store.OpenEscalations(ctx, %d)", tenantID)
	var es []*Escalation
	err = s.db.SelectContext(ctx, &es, `SELECT `+escalationColumns+` FROM escalations e JOIN tenants t ON t.id = e.tenant_id
		WHERE e.acknowledged_at IS NULL AND ($1 = 0 OR e.tenant_id = $1) ORDER BY e.created_at DESC, e.id DESC LIMIT $2`, tenantID, limit)
	return es, err
}

// AcknowledgeEscalation marks the tenant's escalation id seen by who at at,
// inside q (the caller's transaction writes the audit row with it), and
// returns it as it now stands. NotFound if it is not the tenant's;
// WrongState, with the escalation as someone else acknowledged it, if it
// was acknowledged already.
func (s *Store) AcknowledgeEscalation(ctx context.Context, q Querier, tenantID, id int64, who string, at time.Time) (_ *Escalation, err error) {
	defer derrors.Wrap(&err, "Store.AcknowledgeEscalation(ctx, %d)", id)
	var e Escalation
	err = q.GetContext(ctx, &e, `
		WITH acked AS (
			UPDATE escalations SET acknowledged_at = $4, acknowledged_by = $3
			WHERE id = $2 AND tenant_id = $1 AND acknowledged_at IS NULL
			RETURNING id, tenant_id, kind, day, message, details, created_at,
			          acknowledged_at, acknowledged_by, alert_status
		)
		SELECT `+escalationColumns+` FROM acked e JOIN tenants t ON t.id = e.tenant_id`, tenantID, id, who, at.UTC())
	if err == nil {
		return &e, nil
	}
	if !errors.Is(classify(err), derrors.NotFound) {
		return nil, err
	}
	// Nothing changed: another tenant's, none at all, or already seen.
	err = q.GetContext(ctx, &e, `SELECT `+escalationColumns+` FROM escalations e JOIN tenants t ON t.id = e.tenant_id
		WHERE e.id = $2 AND e.tenant_id = $1`, tenantID, id)
	if err != nil {
		return nil, classify(err)
	}
	return &e, derrors.WrongState
}
