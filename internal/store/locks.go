package store

import (
	"context"

	"backstop/internal/derrors"
)

// lockClass, in an advisory lock key's top bits, keeps Backstop's locks
// apart from River's and anyone else's.
const lockClass int64 = 0x4273 // "Bs"

// passLockIndex numbers the passes inside a tenant's lock keys (the
// passes reconciliation_runs.pass allows).
var passLockIndex = map[string]int64{"missed": 0, "stuck": 1, "drift": 2}

// TryPassLock takes the advisory lock that keeps two runs of one tenant's
// pass apart. It is held on a connection of its own until release is
// called: a process that dies loses its connection and with it the lock,
// so a crash never leaves a pass locked. ok is false, with no error, when
// another run holds it.
func (s *Store) TryPassLock(ctx context.Context, tenantID int64, pass string) (release func(), ok bool, err error) {
	defer derrors.Wrap(&err, "Store.TryPassLock(ctx, %d, %s)", tenantID, pass)
	idx, known := passLockIndex[pass]
	if !known {
		return nil, false, derrors.Invalid("pass", "%q is not a pass", pass)
	}
	key := lockClass<<48 | tenantID<<3 | idx
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, false, err
	}
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&ok); err != nil || !ok {
		conn.Close()
		return nil, false, err
	}
	return func() {
		// Unlocked even when the run's context has been cancelled; closing
		// the connection alone would also free it, but only once the pool
		// really closes it.
		conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, key)
		conn.Close()
	}, true, nil
}
