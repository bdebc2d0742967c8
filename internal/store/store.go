// Package store is the only place Backstop speaks SQL. One Store wraps the
// connection pool; its methods are grouped by table in files, take ctx first,
// and return derrors kinds (NotFound, AlreadyExists, WrongState) that callers
// test with errors.Is. lib/pq is imported here and nowhere else.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"backstop/internal/derrors"
)

// Store is Backstop's database.
type Store struct {
	db *sqlx.DB

	// ingest is a small pool of its own for the webhook ingest statement,
	// whose arguments go in PostgreSQL's binary format: lib/pq sends every
	// []byte argument that way on a connection with binary_parameters, so
	// nothing else runs on it (see InsertInboundEvents).
	ingest *sqlx.DB

	// stmts are the statements prepared once for the ingest pool, by SQL
	// text: only those of hot paths (webhook ingest), where parsing and
	// planning cost more than executing.
	stmtMu sync.Mutex
	stmts  map[string]*sqlx.Stmt
}

// Open connects to url and checks the connection.
func Open(ctx context.Context, url string) (*Store, error) {
	ingest, err := openIngestPool(url)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	db, err := sqlx.Open("postgres", url)
	if err != nil {
		ingest.Close()
		return nil, fmt.Errorf("open database: %w", err)
	}
	// Web handlers, River's producers and the passes share this pool.
	db.SetMaxOpenConns(40)
	db.SetMaxIdleConns(20)
	db.SetConnMaxIdleTime(5 * time.Minute)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		ingest.Close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	return &Store{db: db, ingest: ingest}, nil
}

// openIngestPool opens the ingest statement's pool (see Store.ingest).
func openIngestPool(url string) (*sqlx.DB, error) {
	cfg, err := pq.NewConfig(url)
	if err != nil {
		return nil, err
	}
	cfg.BinaryParameters = true
	c, err := pq.NewConnectorConfig(cfg)
	if err != nil {
		return nil, err
	}
	// The ingester writes one batch at a time (a few with more writers).
	ingest := sqlx.NewDb(sql.OpenDB(c), "postgres")
	ingest.SetMaxOpenConns(8)
	ingest.SetMaxIdleConns(8)
	ingest.SetConnMaxIdleTime(5 * time.Minute)
	return ingest, nil
}

// DB is the pool, for River's driver and the session store, which must share it.
func (s *Store) DB() *sqlx.DB { return s.db }

// Close closes the prepared statements and the pool.
func (s *Store) Close() error {
	s.stmtMu.Lock()
	for _, st := range s.stmts {
		st.Close()
	}
	s.stmts = nil
	s.stmtMu.Unlock()
	return errors.Join(s.ingest.Close(), s.db.Close())
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Querier is what a method needs to run inside or outside a transaction.
type Querier interface {
	sqlx.ExtContext
	GetContext(ctx context.Context, dest any, query string, args ...any) error
	SelectContext(ctx context.Context, dest any, query string, args ...any) error
}

// prepared returns query prepared on the ingest pool. database/sql prepares it
// again on each connection the first time that connection runs it, so a
// reconnect after an outage needs nothing here; a failed prepare is not
// kept, and the next call tries again. An executed prepared statement costs
// one round trip (Bind, Execute) and no parsing or planning, where an
// unprepared one with arguments costs two (lib/pq's Parse and Describe,
// then Bind and Execute) and a plan each time.
func (s *Store) prepared(ctx context.Context, query string) (*sqlx.Stmt, error) {
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	if st, ok := s.stmts[query]; ok {
		return st, nil
	}
	st, err := s.ingest.PreparexContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if s.stmts == nil {
		s.stmts = map[string]*sqlx.Stmt{}
	}
	s.stmts[query] = st
	return st, nil
}

// InTx runs fn in a transaction, committing when it returns nil.
func (s *Store) InTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// classify turns driver errors into derrors kinds, keeping the original in the chain.
func classify(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return derrors.NotFound
	}
	var pe *pq.Error
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505": // unique_violation
			return &constraintError{kind: derrors.AlreadyExists, constraint: pe.Constraint, err: err}
		case "23514", "23502", "22P02", "22001": // check, not null, bad text repr, too long
			return &constraintError{kind: derrors.InvalidArgument, constraint: pe.Constraint, err: err}
		}
	}
	return err
}

type constraintError struct {
	kind       error
	constraint string
	err        error
}

func (e *constraintError) Error() string {
	if msg, ok := constraintMessages[e.constraint]; ok {
		return msg
	}
	return e.err.Error()
}

func (e *constraintError) Is(target error) bool { return target == e.kind }
func (e *constraintError) Unwrap() error        { return e.err }

// constraintMessages says in words what a violated constraint means.
var constraintMessages = map[string]string{
	"tenants_slug_key":               "a tenant with this slug already exists",
	"tenants_slug_check":             "slug must be 1–40 lower-case letters, digits and inner hyphens",
	"users_email_key":                "a user with this email already exists",
	"users_role_tenant":              "a staff user needs a tenant; an engineer has none",
	"records_platform_key":           "a record with this kind and platform id already exists",
	"records_external_key":           "a record with this transaction source and id already exists",
	"inbound_events_dedupe":          "this event was already received",
	"conflicts_open":                 "this record already has an open conflict",
	"escalations_once_a_day":         "this escalation was already raised today",
	"records_amount_positive":        "amount must be positive",
	"audit_log_dedupe":               "this outcome is already in the audit log",
	"reconciliation_runs_pass_check": "unknown pass",
}

// IsDataError reports whether PostgreSQL refused err's statement for the
// data it carried (class 22, data exception, or 23, integrity constraint
// violation): the same data will be refused again, unlike a lost
// connection, a deadlock or a cancelled query, which are worth retrying.
func IsDataError(err error) bool {
	var pe *pq.Error
	if !errors.As(err, &pe) {
		return false
	}
	class := pe.Code.Class()
	return class == "22" || class == "23"
}

// IsUniqueViolation reports whether err is a duplicate of constraint.
func IsUniqueViolation(err error, constraint string) bool {
	var ce *constraintError
	return errors.As(err, &ce) && ce.kind == derrors.AlreadyExists && ce.constraint == constraint
}

func oneRow(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return derrors.NotFound
	}
	return nil
}

// prefixed qualifies each column of a comma-separated list with p.
func prefixed(p, columns string) string {
	parts := strings.Split(columns, ",")
	for i, c := range parts {
		parts[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

func jsonOrEmpty(b []byte) []byte {
	if len(b) == 0 {
		return []byte("{}")
	}
	return b
}
