package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"backstop/internal/derrors"
	"backstop/internal/tenant"
)

const tenantColumns = `
	id, slug, name, virtuous_base_url, virtuous_app_url, virtuous_key_enc,
	webhook_secret_enc, webhook_token_enc, signature_header, intake_token_hash,
	source_stripe, source_eventbrite, source_other, stuck_after_s,
	needs_review_after_s, lookback_s, missed_every_s, stuck_every_s,
	drift_every_s, daily_at_hour, drift_policy, field_owners,
	submit_max_attempts, rate_reserve_pct, age_amber_s, age_red_s,
	drift_escalate_records, thresholds, created_at, updated_at`

// CreateTenant inserts t with the default settings and returns its id. The
// tenant's rate budget row is created with it, so reservations never race to
// create it.
func (s *Store) CreateTenant(ctx context.Context, t *tenant.Tenant) (id int64, err error) {
	defer derrors.Wrap(&err, "Store.CreateTenant(ctx, %q)", t.Slug)
	err = s.InTx(ctx, func(tx *sqlx.Tx) error {
		const q = `
			INSERT INTO tenants (slug, name, virtuous_base_url, virtuous_app_url,
			                     virtuous_key_enc, webhook_secret_enc, webhook_token_enc,
			                     intake_token_hash)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			RETURNING id`
		if err := tx.GetContext(ctx, &id, q, t.Slug, t.Name, t.VirtuousBaseURL, t.VirtuousAppURL,
			t.VirtuousKeyEnc, t.WebhookSecretEnc, t.WebhookTokenEnc, t.IntakeTokenHash); err != nil {
			return classify(err)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO rate_budgets (tenant_id) VALUES ($1)`, id)
		return err
	})
	return id, err
}

// TenantBySlug returns the tenant with slug, or NotFound.
func (s *Store) TenantBySlug(ctx context.Context, slug string) (_ *tenant.Tenant, err error) {
	defer derrors.Wrap(&err, "Store.TenantBySlug(ctx, %q)", slug)
	var t tenant.Tenant
	if err := s.db.GetContext(ctx, &t, `SELECT `+tenantColumns+` FROM tenants WHERE slug = $1`, slug); err != nil {
		if err = classify(err); errors.Is(err, derrors.NotFound) {
			// Named, so that a command's "backstop: …" says which tenant.
			return nil, fmt.Errorf("tenant %q %w", slug, derrors.NotFound)
		}
		return nil, err
	}
	return &t, nil
}

// TenantByID returns the tenant with id, or NotFound.
func (s *Store) TenantByID(ctx context.Context, id int64) (_ *tenant.Tenant, err error) {
	defer derrors.Wrap(&err, "Store.TenantByID(ctx, %d)", id)
	var t tenant.Tenant
	if err := s.db.GetContext(ctx, &t, `SELECT `+tenantColumns+` FROM tenants WHERE id = $1`, id); err != nil {
		return nil, classify(err)
	}
	return &t, nil
}

// TenantByIntakeToken finds the tenant whose intake token hashes to hash.
func (s *Store) TenantByIntakeToken(ctx context.Context, hash []byte) (_ *tenant.Tenant, err error) {
	defer derrors.Wrap(&err, "Store.TenantByIntakeToken(ctx)")
	var t tenant.Tenant
	if err := s.db.GetContext(ctx, &t, `SELECT `+tenantColumns+` FROM tenants WHERE intake_token_hash = $1`, hash); err != nil {
		return nil, classify(err)
	}
	return &t, nil
}

// Tenants lists every tenant by slug.
func (s *Store) Tenants(ctx context.Context) (_ []*tenant.Tenant, err error) {
	defer derrors.Wrap(&err, "Store.Tenants(ctx)")
	var ts []*tenant.Tenant
	if err := s.db.SelectContext(ctx, &ts, `SELECT `+tenantColumns+` FROM tenants ORDER BY slug`); err != nil {
		return nil, err
	}
	return ts, nil
}

// UpdateTenantSettings writes every setting of t (not its identity or secrets).
func (s *Store) UpdateTenantSettings(ctx context.Context, t *tenant.Tenant) (err error) {
	defer derrors.Wrap(&err, "Store.UpdateTenantSettings(ctx, %q)", t.Slug)
	const q = `
		UPDATE tenants
		SET name = $2, virtuous_base_url = $3, virtuous_app_url = $4, signature_header = $5,
		    source_stripe = $6, source_eventbrite = $7, source_other = $8,
		    stuck_after_s = $9, needs_review_after_s = $10, lookback_s = $11,
		    missed_every_s = $12, stuck_every_s = $13, drift_every_s = $14,
		    daily_at_hour = $15, drift_policy = $16, field_owners = $17,
		    submit_max_attempts = $18, rate_reserve_pct = $19, age_amber_s = $20,
		    age_red_s = $21, drift_escalate_records = $22, thresholds = $23,
		    updated_at = now()
		WHERE id = $1`
	res, err := s.db.ExecContext(ctx, q, t.ID, t.Name, t.VirtuousBaseURL, t.VirtuousAppURL,
		t.SignatureHeader, t.SourceStripe, t.SourceEventbrite, t.SourceOther,
		t.StuckAfterS, t.NeedsReviewAfterS, t.LookbackS, t.MissedEveryS, t.StuckEveryS,
		t.DriftEveryS, t.DailyAtHour, t.DriftPolicy, jsonOrEmpty(t.FieldOwners),
		t.SubmitMaxAttempts, t.RateReservePct, t.AgeAmberS, t.AgeRedS,
		t.DriftEscalateRecords, jsonOrEmpty(t.Thresholds))
	if err != nil {
		return classify(err)
	}
	return oneRow(res)
}

// UpdateTenantSecrets replaces the sealed API key and webhook secret.
func (s *Store) UpdateTenantSecrets(ctx context.Context, id int64, keyEnc, webhookSecretEnc []byte) (err error) {
	defer derrors.Wrap(&err, "Store.UpdateTenantSecrets(ctx, %d)", id)
	res, err := s.db.ExecContext(ctx, `
		UPDATE tenants SET virtuous_key_enc = $2, webhook_secret_enc = $3, updated_at = now()
		WHERE id = $1`, id, keyEnc, webhookSecretEnc)
	if err != nil {
		return err
	}
	return oneRow(res)
}

// SetIntakeToken replaces the tenant's intake token hash (rotating the token).
func (s *Store) SetIntakeToken(ctx context.Context, id int64, hash []byte) (err error) {
	defer derrors.Wrap(&err, "Store.SetIntakeToken(ctx, %d)", id)
	res, err := s.db.ExecContext(ctx, `UPDATE tenants SET intake_token_hash = $2, updated_at = now() WHERE id = $1`, id, hash)
	if err != nil {
		return classify(err)
	}
	return oneRow(res)
}

// CountRecords counts a tenant's records (all statuses).
func (s *Store) CountRecords(ctx context.Context, tenantID int64) (n int, err error) {
	defer derrors.Wrap(&err, "Store.CountRecords(ctx, %d)", tenantID)
	err = s.db.GetContext(ctx, &n, `SELECT count(*) FROM records WHERE tenant_id = $1`, tenantID)
	return n, err
}
