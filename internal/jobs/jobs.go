// Package jobs builds the River client every background job runs on:
// submission, webhook application, the reconciliation passes, reports and
// alerts. River keeps its queue in the same PostgreSQL (through the lib/pq
// pool, riverdatabasesql), so any number of `backstop worker` processes
// share the work, and jobs are enqueued in the same transaction as the rows
// that need them.
package jobs

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/rivertype"
)

// Client is the River client over database/sql transactions.
type Client = river.Client[*sql.Tx]

// Queues.
const (
	// QueueDefault: short jobs (submission, webhook application, alerts).
	QueueDefault = river.QueueDefault
	// QueuePasses: long reconciliation passes and reports, kept apart so a
	// pass over 100,000 gifts never starves submission.
	QueuePasses = "passes"
)

// Inserter enqueues jobs inside a caller's transaction. *Client satisfies it;
// domain packages depend on this, not on the client.
type Inserter interface {
	InsertTx(ctx context.Context, tx *sql.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// Options configure a client.
type Options struct {
	Log *slog.Logger
	// Workers, when non-nil, makes this a working client; nil makes an
	// insert-only client (the web server enqueues but does not work).
	Workers  *river.Workers
	Periodic []*river.PeriodicJob
	// PollInterval is how often an idle worker looks for jobs. lib/pq gives
	// River no LISTEN/NOTIFY, so it polls; 250ms keeps submission prompt.
	PollInterval time.Duration
	// MaxWorkers for the default queue (passes get a quarter of it).
	MaxWorkers int
	// JobTimeout bounds a job that does not set its own (default 5m), and
	// RescueAfter is when a job whose worker died is run again (default
	// JobTimeout + 1m). Fault tests shorten both.
	JobTimeout, RescueAfter time.Duration
}

// New builds a River client on db.
func New(db *sql.DB, o Options) (*Client, error) {
	cfg := &river.Config{
		Logger:                      quiet(o.Log),
		FetchCooldown:               100 * time.Millisecond,
		FetchPollInterval:           max(o.PollInterval, 100*time.Millisecond),
		JobTimeout:                  cmpOr(o.JobTimeout, 5*time.Minute),
		RescueStuckJobsAfter:        cmpOr(o.RescueAfter, cmpOr(o.JobTimeout, 5*time.Minute)+time.Minute),
		CompletedJobRetentionPeriod: 24 * time.Hour,
		PeriodicJobs:                o.Periodic,
	}
	if o.PollInterval == 0 {
		cfg.FetchPollInterval = 250 * time.Millisecond
	}
	if o.Workers != nil {
		n := o.MaxWorkers
		if n <= 0 {
			n = 20
		}
		cfg.Workers = o.Workers
		cfg.Queues = map[string]river.QueueConfig{
			QueueDefault: {MaxWorkers: n},
			QueuePasses:  {MaxWorkers: max(2, n/4)},
		}
	}
	c, err := river.NewClient(riverdatabasesql.New(db), cfg)
	if err != nil {
		return nil, fmt.Errorf("river client: %w", err)
	}
	return c, nil
}

func cmpOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// quiet passes on only warnings and errors.
func quiet(l *slog.Logger) *slog.Logger {
	if l == nil {
		return nil
	}
	return slog.New(minLevel{l.Handler(), slog.LevelWarn})
}

type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(as), h.min}
}
func (h minLevel) WithGroup(n string) slog.Handler { return minLevel{h.Handler.WithGroup(n), h.min} }
