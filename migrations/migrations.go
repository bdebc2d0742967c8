// Package migrations holds Backstop's schema as goose SQL files, embedded in
// the binary, and applies them together with River's own migrations so that
// `backstop migrate` is the one step that makes a database current.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"fmt"

	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/rivermigrate"
)

//go:embed *.sql
var FS embed.FS

// Status reports how far a database is behind this binary.
type Status struct {
	SchemaVersion int64 // applied goose version
	SchemaLatest  int64 // newest goose version embedded here
	RiverPending  int   // River migrations not yet applied
}

// Current reports whether nothing is left to apply.
func (s Status) Current() bool {
	return s.SchemaVersion == s.SchemaLatest && s.RiverPending == 0
}

// Up applies River's migrations and then Backstop's. River goes first because
// nothing of ours references its tables, and a failure leaves both halves
// individually consistent (each migration runs in its own transaction).
func Up(ctx context.Context, db *sql.DB) error {
	rm, err := rivermigrate.New(riverdatabasesql.New(db), nil)
	if err != nil {
		return fmt.Errorf("river migrator: %w", err)
	}
	if _, err := rm.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("river migrations: %w", err)
	}
	p, err := provider(db)
	if err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("schema migrations: %w", err)
	}
	return nil
}

// Check reads the applied versions without changing anything.
func Check(ctx context.Context, db *sql.DB) (Status, error) {
	var st Status
	p, err := provider(db)
	if err != nil {
		return st, err
	}
	if st.SchemaVersion, err = p.GetDBVersion(ctx); err != nil {
		return st, fmt.Errorf("schema version: %w", err)
	}
	srcs := p.ListSources()
	if len(srcs) > 0 {
		st.SchemaLatest = srcs[len(srcs)-1].Version
	}
	rm, err := rivermigrate.New(riverdatabasesql.New(db), nil)
	if err != nil {
		return st, fmt.Errorf("river migrator: %w", err)
	}
	res, err := rm.Migrate(ctx, rivermigrate.DirectionUp, &rivermigrate.MigrateOpts{DryRun: true})
	if err != nil {
		return st, fmt.Errorf("river version: %w", err)
	}
	st.RiverPending = len(res.Versions)
	return st, nil
}

func provider(db *sql.DB) (*goose.Provider, error) {
	p, err := goose.NewProvider(goose.DialectPostgres, db, FS)
	if err != nil {
		return nil, fmt.Errorf("goose provider: %w", err)
	}
	return p, nil
}
