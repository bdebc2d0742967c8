package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"backstop/internal/derrors"
)

// RateBudget is a tenant's share of its Virtuous organization's hourly
// limit, as every Backstop process sees it.
type RateBudget struct {
	TenantID     int64     `db:"tenant_id"`
	LimitPerHour int       `db:"limit_per_hour"`
	Remaining    int       `db:"remaining"` // as stored; a window past reset_at is really full
	ResetAt      time.Time `db:"reset_at"`
	UpdatedAt    time.Time `db:"updated_at"`
	ReservePct   int       `db:"rate_reserve_pct"` // the tenant's setting
}

// Reservation is the outcome of ReserveRateCall.
type Reservation struct {
	Reserved  bool      `db:"reserved"`
	Remaining int       `db:"remaining"` // after this call, or as found when refused
	Limit     int       `db:"limit_per_hour"`
	Reserve   int       `db:"reserve"` // calls kept for the customer's other integrations
	ResetAt   time.Time `db:"reset_at"`
}

// RateObservation is what a Virtuous response said about the limit.
type RateObservation struct {
	Limit int // X-RateLimit-Limit; 0 when not sent
	// Remaining is X-RateLimit-Remaining; nil when not sent, or when it
	// describes a window that has already ended.
	Remaining *int
	// Reset is the server's window end; nil when not sent or already past.
	Reset *time.Time
	// LimitedUntil is set after a 429: nothing may be spent before it.
	LimitedUntil *time.Time
}

// ReserveRateCall takes one call from tenantID's budget at now, in one
// statement so that concurrent processes can neither overdraw it nor lose a
// decrement: a window whose reset_at has passed starts afresh (the full
// limit, resetting an hour from now); the call is allowed only if what is
// left afterwards still covers the reserve, floor(limit · rate_reserve_pct /
// 100); and an allowed call is counted in api_usage for the day (UTC).
func (s *Store) ReserveRateCall(ctx context.Context, tenantID int64, now time.Time) (r Reservation, err error) {
	defer derrors.Wrap(&err, "Store.ReserveRateCall(ctx, %d)", tenantID)
	const stmt = `
		WITH took AS (
			UPDATE rate_budgets b
			SET remaining = (CASE WHEN b.reset_at <= $2 THEN b.limit_per_hour ELSE b.remaining END) - 1,
			    reset_at = CASE WHEN b.reset_at <= $2 THEN $2 + interval '1 hour' ELSE b.reset_at END,
			    updated_at = $2
			WHERE b.tenant_id = $1
			  AND (CASE WHEN b.reset_at <= $2 THEN b.limit_per_hour ELSE b.remaining END) - 1
			      >= b.limit_per_hour * (SELECT rate_reserve_pct FROM tenants WHERE id = $1) / 100
			RETURNING b.remaining, b.reset_at
		), counted AS (
			INSERT INTO api_usage (tenant_id, day, calls)
			SELECT $1, ($2::timestamptz AT TIME ZONE 'UTC')::date, 1 FROM took
			ON CONFLICT (tenant_id, day) DO UPDATE SET calls = api_usage.calls + 1
		)
		SELECT EXISTS (SELECT 1 FROM took) AS reserved,
		       coalesce((SELECT remaining FROM took),
		                CASE WHEN b.reset_at <= $2 THEN b.limit_per_hour ELSE b.remaining END) AS remaining,
		       b.limit_per_hour,
		       b.limit_per_hour * t.rate_reserve_pct / 100 AS reserve,
		       coalesce((SELECT reset_at FROM took),
		                CASE WHEN b.reset_at <= $2 THEN $2 + interval '1 hour' ELSE b.reset_at END) AS reset_at
		FROM rate_budgets b
		JOIN tenants t ON t.id = b.tenant_id
		WHERE b.tenant_id = $1`
	now = now.UTC()
	err = s.db.GetContext(ctx, &r, stmt, tenantID, now)
	if errors.Is(err, sql.ErrNoRows) {
		// A tenant created before budgets existed has no row yet.
		if err := s.ensureRateBudget(ctx, tenantID); err != nil {
			return r, err
		}
		err = s.db.GetContext(ctx, &r, stmt, tenantID, now)
	}
	if err == nil && !r.Reserved {
		// A refusal can come from a write committed while the statement
		// waited for the row — another call's 429 emptying the budget until
		// its Retry-After — which the statement's snapshot predates, so its
		// numbers would describe the budget before that write. The caller
		// waits until ResetAt: report the budget as it is now.
		b, err := s.RateBudget(ctx, tenantID)
		if err != nil {
			return r, err
		}
		r.Remaining, r.ResetAt = b.Remaining, b.ResetAt
		if !b.ResetAt.After(now) {
			r.Remaining, r.ResetAt = b.LimitPerHour, now.Add(time.Hour)
		}
	}
	return r, classify(err)
}

// ObserveRateLimit corrects tenantID's budget from a response's headers:
//   - a limit header replaces the stored limit;
//   - a reset later than the stored one is a new window on the server, whose
//     remaining count is taken as it is;
//   - otherwise it is the same window, and the smaller remaining count wins
//     (ours counts calls still in flight, the server's counts the customer's
//     other integrations), with the server's reset time;
//   - after a 429 nothing is left until LimitedUntil.
func (s *Store) ObserveRateLimit(ctx context.Context, tenantID int64, now time.Time, o RateObservation) (err error) {
	defer derrors.Wrap(&err, "Store.ObserveRateLimit(ctx, %d)", tenantID)
	const stmt = `
		UPDATE rate_budgets b
		SET limit_per_hour = CASE WHEN $3 > 0 THEN $3 ELSE b.limit_per_hour END,
		    remaining = CASE
		        WHEN $6::timestamptz IS NOT NULL THEN 0
		        WHEN $4::integer IS NULL THEN b.remaining
		        WHEN $5::timestamptz IS NOT NULL AND $5::timestamptz > b.reset_at THEN $4::integer
		        ELSE least(b.remaining, $4::integer)
		    END,
		    reset_at = coalesce($6::timestamptz, $5::timestamptz, b.reset_at),
		    updated_at = $2
		WHERE b.tenant_id = $1`
	_, err = s.db.ExecContext(ctx, stmt, tenantID, now.UTC(), o.Limit, o.Remaining, utcPtr(o.Reset), utcPtr(o.LimitedUntil))
	return classify(err)
}

// RateBudget reads tenantID's budget as stored.
func (s *Store) RateBudget(ctx context.Context, tenantID int64) (_ *RateBudget, err error) {
	defer derrors.Wrap(&err, "Store.RateBudget(ctx, %d)", tenantID)
	const stmt = `
		SELECT b.tenant_id, b.limit_per_hour, b.remaining, b.reset_at, b.updated_at, t.rate_reserve_pct
		FROM rate_budgets b
		JOIN tenants t ON t.id = b.tenant_id
		WHERE b.tenant_id = $1`
	var b RateBudget
	if err := s.db.GetContext(ctx, &b, stmt, tenantID); err != nil {
		return nil, classify(err)
	}
	return &b, nil
}

// SetRateBudget overwrites tenantID's budget: for an engineer who knows
// better than the headers, and for tests.
func (s *Store) SetRateBudget(ctx context.Context, tenantID int64, limit, remaining int, resetAt time.Time) (err error) {
	defer derrors.Wrap(&err, "Store.SetRateBudget(ctx, %d)", tenantID)
	if limit < 0 || remaining < 0 {
		return derrors.Invalid("limit", "limit %d and remaining %d must not be negative", limit, remaining)
	}
	if err := s.ensureRateBudget(ctx, tenantID); err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, `
		UPDATE rate_budgets
		SET limit_per_hour = $2, remaining = $3, reset_at = $4, updated_at = now()
		WHERE tenant_id = $1`, tenantID, limit, remaining, resetAt.UTC())
	if err != nil {
		return classify(err)
	}
	return oneRow(res)
}

// APIUsage is how many Virtuous calls tenantID reserved on day (UTC).
func (s *Store) APIUsage(ctx context.Context, tenantID int64, day time.Time) (calls int, err error) {
	defer derrors.Wrap(&err, "Store.APIUsage(ctx, %d, %s)", tenantID, day.Format(time.DateOnly))
	const stmt = `SELECT coalesce(sum(calls), 0) FROM api_usage WHERE tenant_id = $1 AND day = $2::date`
	err = s.db.GetContext(ctx, &calls, stmt, tenantID, day.Format(time.DateOnly))
	return calls, classify(err)
}

// ensureRateBudget creates tenantID's budget row if it is missing (and the
// tenant exists).
func (s *Store) ensureRateBudget(ctx context.Context, tenantID int64) error {
	_, err := s.db.ExecContext(ctx, `
		INSERT INTO rate_budgets (tenant_id)
		SELECT id FROM tenants WHERE id = $1
		ON CONFLICT (tenant_id) DO NOTHING`, tenantID)
	return classify(err)
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
