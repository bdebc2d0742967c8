package store

import (
	"context"
	"database/sql"

	"github.com/lib/pq"

	"backstop/internal/derrors"
)

// CreateDatabaseIfMissing creates database name on the server that adminURL
// reaches, unless it exists (the private cluster's first start).
func CreateDatabaseIfMissing(ctx context.Context, adminURL, name string) (err error) {
	defer derrors.Wrap(&err, "store.CreateDatabaseIfMissing(ctx, %q)", name)
	admin, err := sql.Open("postgres", adminURL)
	if err != nil {
		return err
	}
	defer admin.Close()
	var exists bool
	if err := admin.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	// CREATE DATABASE takes no parameters: the name is quoted instead.
	_, err = admin.ExecContext(ctx, `CREATE DATABASE `+pq.QuoteIdentifier(name))
	return err
}
