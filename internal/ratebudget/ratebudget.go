// Package ratebudget keeps each tenant's share of its Virtuous
// organization's hourly request limit in PostgreSQL, so that every Backstop
// process draws on one budget, and keeps a reserve (tenants.rate_reserve_pct,
// default 20%) for the customer's other integrations, which spend from the
// same organization-wide limit. A Budget implements virtuous.Budget.
package ratebudget

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"backstop/internal/derrors"
	"backstop/internal/store"
	"backstop/internal/virtuous"
)

// Budget is one tenant's shared rate budget.
type Budget struct {
	s        *store.Store
	tenantID int64
	now      func() time.Time
	log      *slog.Logger
}

var _ virtuous.Budget = (*Budget)(nil)

// Option configures a Budget.
type Option func(*Budget)

// WithClock replaces time.Now, for tests that move between windows.
func WithClock(now func() time.Time) Option { return func(b *Budget) { b.now = now } }

// WithLogger receives failures to record an observation, which Observe
// cannot return. Default: slog.Default().
func WithLogger(l *slog.Logger) Option { return func(b *Budget) { b.log = l } }

// New returns tenantID's budget in s.
func New(s *store.Store, tenantID int64, opts ...Option) *Budget {
	b := &Budget{s: s, tenantID: tenantID, now: time.Now, log: slog.Default()}
	for _, o := range opts {
		o(b)
	}
	return b
}

// ExhaustedError says the budget has no room; it is a
// derrors.BudgetExhausted, and ResetAt tells a job when to come back.
type ExhaustedError struct {
	TenantID  int64
	Remaining int
	Limit     int
	Reserve   int
	ResetAt   time.Time
}

func (e *ExhaustedError) Error() string {
	return fmt.Sprintf("%v: tenant %d has %d of %d calls left this hour and keeps %d for other integrations; resets at %s",
		derrors.BudgetExhausted, e.TenantID, e.Remaining, e.Limit, e.Reserve, e.ResetAt.UTC().Format(time.RFC3339))
}

// ResumeAt is when calls may be made again, for the client to wait a short
// refusal out (a 429's Retry-After) rather than fail the call.
func (e *ExhaustedError) ResumeAt() time.Time { return e.ResetAt }

// Is makes an ExhaustedError a derrors.BudgetExhausted.
func (e *ExhaustedError) Is(target error) bool { return target == derrors.BudgetExhausted }

// Reserve takes one call, or returns an *ExhaustedError when only the
// reserve is left.
func (b *Budget) Reserve(ctx context.Context) error {
	r, err := b.s.ReserveRateCall(ctx, b.tenantID, b.now())
	if err != nil {
		return err
	}
	if !r.Reserved {
		return &ExhaustedError{TenantID: b.tenantID, Remaining: r.Remaining, Limit: r.Limit, Reserve: r.Reserve, ResetAt: r.ResetAt}
	}
	return nil
}

// observeTimeout bounds the write of one observation.
const observeTimeout = 5 * time.Second

// Observe corrects the budget from a response. It runs even when ctx has
// just been cancelled (the response arrived, so the correction is real), and
// logs rather than returns a failure: a lost correction only makes the
// budget less exact until the next response.
func (b *Budget) Observe(ctx context.Context, r virtuous.RateInfo) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), observeTimeout)
	defer cancel()
	now := b.now()
	if err := b.s.ObserveRateLimit(ctx, b.tenantID, now, observation(r, now)); err != nil {
		b.log.LogAttrs(ctx, slog.LevelWarn, "failed to record virtuous rate limit headers",
			slog.Int64("tenant_id", b.tenantID), slog.Any("error", err))
	}
}

// observation turns response headers into a store correction. Headers whose
// reset has already passed describe an ended window (a slow response racing
// a newer one) and are ignored but for the limit.
func observation(r virtuous.RateInfo, now time.Time) store.RateObservation {
	o := store.RateObservation{Limit: r.Limit}
	fresh := r.Reset.IsZero() || r.Reset.After(now)
	if r.HasHeaders && fresh {
		if !r.Reset.IsZero() {
			reset := r.Reset
			o.Reset = &reset
		}
		remaining := r.Remaining
		o.Remaining = &remaining
	}
	if r.Status == 429 {
		until := limitedUntil(r, now)
		o.LimitedUntil = &until
	}
	return o
}

// limitedUntil is when a 429 lets calls resume: after Retry-After, else at
// the server's reset, else in a minute (a 429 that says nothing).
func limitedUntil(r virtuous.RateInfo, now time.Time) time.Time {
	switch {
	case r.RetryAfter > 0:
		return now.Add(r.RetryAfter)
	case r.Reset.After(now):
		return r.Reset
	}
	return now.Add(time.Minute)
}

// Left is the budget as a reports page shows it: calls remaining in the
// current window (the reserve included), the hourly limit, and when the
// window resets. A window whose reset has passed is reported full.
func (b *Budget) Left(ctx context.Context) (remaining, limit int, reset time.Time, err error) {
	defer derrors.Wrap(&err, "ratebudget.Left(tenant %d)", b.tenantID)
	rb, err := b.s.RateBudget(ctx, b.tenantID)
	if err != nil {
		return 0, 0, time.Time{}, err
	}
	now := b.now()
	if !rb.ResetAt.After(now) {
		return rb.LimitPerHour, rb.LimitPerHour, now.Add(time.Hour), nil
	}
	return rb.Remaining, rb.LimitPerHour, rb.ResetAt, nil
}
