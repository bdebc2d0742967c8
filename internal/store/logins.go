package store

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"

	"backstop/internal/auth"
	"backstop/internal/derrors"
)

// BeginSignIn counts a sign-in attempt for account from addr before its
// password is checked, so that concurrent attempts cannot all pass the
// throttle while each is still comparing its password: the failures since
// since are counted under per-account and per-address advisory locks, allow
// judges them (the policy is auth.Throttle's), and only an allowed attempt
// is recorded — as a failure, which SignedIn forgets when the password was
// right. A refused attempt records nothing and returns allow's error.
func (s *Store) BeginSignIn(ctx context.Context, account, addr string, since, at time.Time, allow func(auth.Failures) error) (err error) {
	defer derrors.Wrap(&err, "Store.BeginSignIn(ctx)")
	return s.InTx(ctx, func(tx *sqlx.Tx) error {
		// Always the account's lock, then the address's: one order, no deadlock.
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('signin-account:' || $1, 0)),
		                                         pg_advisory_xact_lock(hashtextextended('signin-addr:' || $2, 0))`, account, addr); err != nil {
			return err
		}
		var f struct {
			Account       int        `db:"account_n"`
			AccountOldest *time.Time `db:"account_oldest"`
			Addr          int        `db:"addr_n"`
			AddrOldest    *time.Time `db:"addr_oldest"`
		}
		const q = `
			SELECT a.n AS account_n, a.oldest AS account_oldest, d.n AS addr_n, d.oldest AS addr_oldest
			FROM (SELECT count(*) AS n, min(at) AS oldest FROM login_failures WHERE account = $1 AND at >= $3) a,
			     (SELECT count(*) AS n, min(at) AS oldest FROM login_failures WHERE addr = $2 AND at >= $3) d`
		if err := tx.GetContext(ctx, &f, q, account, addr, since.UTC()); err != nil {
			return err
		}
		if err := allow(auth.Failures{Account: f.Account, Addr: f.Addr, AccountOldest: f.AccountOldest, AddrOldest: f.AddrOldest}); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO login_failures (account, addr, at) VALUES ($1, $2, $3)`, account, addr, at.UTC())
		return err
	})
}

// SignedIn forgets an account's failures after a successful sign-in and
// notes when the user signed in. The address's failures stay counted: a
// client that guesses many accounts is not cleared by knowing one password.
func (s *Store) SignedIn(ctx context.Context, userID int64, account string, at time.Time) (err error) {
	defer derrors.Wrap(&err, "Store.SignedIn(ctx, %d)", userID)
	if _, err := s.db.ExecContext(ctx, `DELETE FROM login_failures WHERE account = $1`, account); err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `UPDATE users SET last_login_at = $2 WHERE id = $1`, userID, at.UTC())
	return err
}

// PruneSignInState deletes expired sessions and failures older than before:
// neither is read again once out of its window.
func (s *Store) PruneSignInState(ctx context.Context, before time.Time) (err error) {
	defer derrors.Wrap(&err, "Store.PruneSignInState(ctx)")
	if _, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE expiry < current_timestamp`); err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `DELETE FROM login_failures WHERE at < $1`, before.UTC())
	return err
}
