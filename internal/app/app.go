// Package app wires Backstop together in a fixed order — configuration,
// database (a private cluster when DATABASE_URL is unset), migrations, the
// store, River, the web server — and takes it apart in the reverse order.
// Commands and end-to-end tests boot the whole program through it.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"time"

	"backstop/internal/config"
	"backstop/internal/inbound"
	"backstop/internal/pgcluster"
	"backstop/internal/secret"
	"backstop/internal/store"
	"backstop/internal/tenant"
	"backstop/internal/virtuous"
	"backstop/migrations"
)

// App is an opened Backstop: a database connection and what sits on it.
type App struct {
	Cfg   config.Config
	Log   *slog.Logger
	Store *store.Store
	Box   *secret.Box
	// Now is the clock every component reads. Tests replace it.
	Now func() time.Time
	// Tune adjusts each Virtuous client the web server opens for live
	// lookups (tests shorten its timeouts).
	Tune func(*virtuous.Config)
	// DailyReport runs after each tenant's daily sequence of passes.
	DailyReport func(ctx context.Context, t *tenant.Tenant, now time.Time) error

	cluster *pgcluster.Cluster
	ingest  *inbound.Ingester
	alerts  lazyInserter
}

// OpenOptions tune Open.
type OpenOptions struct {
	// Migrate applies pending migrations; without it a stale schema is an
	// error (a binary never runs against a schema it does not know).
	Migrate bool
	// NoSecretKey skips loading the secret key (commands that never touch
	// sealed secrets, like migrate).
	NoSecretKey bool
}

// Open connects to the configured database, starting the private cluster
// when DATABASE_URL is unset, and checks (or applies) migrations.
func Open(ctx context.Context, cfg config.Config, log *slog.Logger, o OpenOptions) (_ *App, err error) {
	a := &App{Cfg: cfg, Log: log, Now: func() time.Time { return time.Now().UTC() }}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	if !o.NoSecretKey {
		if err := a.Cfg.EnsureSecretKey(); err != nil {
			return nil, err
		}
		if a.Box, err = secret.NewBox(a.Cfg.SecretKey); err != nil {
			return nil, err
		}
	}
	dbURL := cfg.DatabaseURL
	if dbURL == "" {
		if dbURL, err = a.startPrivate(ctx); err != nil {
			return nil, err
		}
		o.Migrate = true // a private cluster is ours to keep current
	}
	if a.Store, err = store.Open(ctx, dbURL); err != nil {
		return nil, err
	}
	if o.Migrate {
		if err := migrations.Up(ctx, a.Store.DB().DB); err != nil {
			return nil, err
		}
	} else if err := a.checkSchema(ctx); err != nil {
		return nil, err
	}
	a.alerts.a = a
	a.DailyReport = func(ctx context.Context, t *tenant.Tenant, now time.Time) error {
		return a.Reports(a.AlertJobs()).Daily(ctx, t, now)
	}
	return a, nil
}

// startPrivate starts (or attaches to) the cluster under DataDir/postgres
// and makes sure its backstop database exists.
func (a *App) startPrivate(ctx context.Context) (string, error) {
	dir := filepath.Join(a.Cfg.DataDir, "postgres")
	c, err := pgcluster.StartOrAttach(ctx, dir, pgcluster.Options{Log: func(f string, args ...any) {
		a.Log.Info(fmt.Sprintf(f, args...))
	}})
	if err != nil {
		return "", fmt.Errorf("private PostgreSQL (set DATABASE_URL to use your own): %w", err)
	}
	a.cluster = c
	if err := store.CreateDatabaseIfMissing(ctx, c.URL("postgres"), "backstop"); err != nil {
		return "", fmt.Errorf("private PostgreSQL: %w", err)
	}
	return c.URL("backstop"), nil
}

// ErrStaleSchema means the database needs `backstop migrate`.
var ErrStaleSchema = errors.New("database schema is not current: run `backstop migrate` (or pass --migrate)")

func (a *App) checkSchema(ctx context.Context) error {
	st, err := migrations.Check(ctx, a.Store.DB().DB)
	if err != nil {
		return err
	}
	if !st.Current() {
		return fmt.Errorf("%w (schema %d of %d, %d River migrations pending)", ErrStaleSchema, st.SchemaVersion, st.SchemaLatest, st.RiverPending)
	}
	return nil
}

// Ready reports whether the database answers and the schema is current.
func (a *App) Ready(ctx context.Context) error {
	if err := a.Store.Ping(ctx); err != nil {
		return fmt.Errorf("database unreachable")
	}
	return a.checkSchema(ctx)
}

// DatabaseURL is the URL in use, with any password removed (for messages).
func (a *App) DatabaseURL() string {
	u := a.Cfg.DatabaseURL
	if a.cluster != nil {
		u = a.cluster.URL("backstop")
	}
	if p, err := url.Parse(u); err == nil {
		p.User = url.User(p.User.Username())
		return p.String()
	}
	return "(unparseable)"
}

// Close releases the database and stops a private cluster this process started.
func (a *App) Close() error {
	if a.ingest != nil {
		a.ingest.Close()
	}
	if a.Store != nil {
		a.Store.Close()
	}
	if a.cluster != nil {
		return a.cluster.Stop()
	}
	return nil
}
