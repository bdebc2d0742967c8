package store

import (
	"context"

	"backstop/internal/auth"
	"backstop/internal/derrors"
)

const userColumns = `
	u.id, u.email, u.password_hash, u.role, u.tenant_id, t.slug AS tenant_slug,
	u.created_at, u.last_login_at`

// CreateUser inserts a user. hash is the bcrypt password hash.
func (s *Store) CreateUser(ctx context.Context, email string, role auth.Role, tenantID *int64, hash string) (id int64, err error) {
	defer derrors.Wrap(&err, "Store.CreateUser(ctx, %q)", email)
	const q = `
		INSERT INTO users (email, password_hash, role, tenant_id)
		VALUES ($1, $2, $3, $4)
		RETURNING id`
	if err := s.db.GetContext(ctx, &id, q, email, hash, role, tenantID); err != nil {
		return 0, classify(err)
	}
	return id, nil
}

// UserByEmail finds a user by email, ignoring case.
func (s *Store) UserByEmail(ctx context.Context, email string) (_ *auth.User, err error) {
	defer derrors.Wrap(&err, "Store.UserByEmail(ctx, %q)", email)
	var u auth.User
	q := `SELECT ` + userColumns + ` FROM users u LEFT JOIN tenants t ON t.id = u.tenant_id WHERE lower(u.email) = lower($1)`
	if err := s.db.GetContext(ctx, &u, q, email); err != nil {
		return nil, classify(err)
	}
	return &u, nil
}

// UserByID finds a user by id.
func (s *Store) UserByID(ctx context.Context, id int64) (_ *auth.User, err error) {
	defer derrors.Wrap(&err, "Store.UserByID(ctx, %d)", id)
	var u auth.User
	q := `SELECT ` + userColumns + ` FROM users u LEFT JOIN tenants t ON t.id = u.tenant_id WHERE u.id = $1`
	if err := s.db.GetContext(ctx, &u, q, id); err != nil {
		return nil, classify(err)
	}
	return &u, nil
}

// Users lists every user by email.
func (s *Store) Users(ctx context.Context) (_ []*auth.User, err error) {
	defer derrors.Wrap(&err, "Store.Users(ctx)")
	var us []*auth.User
	q := `SELECT ` + userColumns + ` FROM users u LEFT JOIN tenants t ON t.id = u.tenant_id ORDER BY lower(u.email)`
	if err := s.db.SelectContext(ctx, &us, q); err != nil {
		return nil, err
	}
	return us, nil
}

// SetPassword replaces a user's password hash.
func (s *Store) SetPassword(ctx context.Context, id int64, hash string) (err error) {
	defer derrors.Wrap(&err, "Store.SetPassword(ctx, %d)", id)
	res, err := s.db.ExecContext(ctx, `UPDATE users SET password_hash = $2 WHERE id = $1`, id, hash)
	if err != nil {
		return err
	}
	return oneRow(res)
}
