package app

import (
	"context"
	"database/sql"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"backstop/internal/escalate"
	"backstop/internal/jobs"
	"backstop/internal/report"
)

// Reports builds the daily report generator; escalation alerts are
// enqueued through ins.
func (a *App) Reports(ins jobs.Inserter) *report.Generator {
	// a.Now is read at each call: tests replace it after Open.
	return &report.Generator{Store: a.Store, Escalate: a.raiser(ins), Now: func() time.Time { return a.Now() }}
}

// raiser raises escalations, enqueueing their alerts through ins.
func (a *App) raiser(ins jobs.Inserter) *escalate.Raiser {
	return &escalate.Raiser{Store: a.Store, Jobs: ins, AlertURL: a.Cfg.AlertWebhookURL}
}

// lazyInserter is an insert-only River client made the first time a job
// is enqueued through it: DailyReport is set when the app opens, but only
// an escalation with an alert URL configured ever enqueues.
type lazyInserter struct {
	a    *App
	once sync.Once
	c    *jobs.Client
	err  error
}

func (l *lazyInserter) client() (*jobs.Client, error) {
	l.once.Do(func() { l.c, l.err = l.a.NewInserter() })
	return l.c, l.err
}

func (l *lazyInserter) InsertTx(ctx context.Context, tx *sql.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	c, err := l.client()
	if err != nil {
		return nil, err
	}
	return c.InsertTx(ctx, tx, args, opts)
}

func (l *lazyInserter) Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	c, err := l.client()
	if err != nil {
		return nil, err
	}
	return c.Insert(ctx, args, opts)
}

// AlertJobs is the inserter one-shot commands enqueue escalation alerts
// through (an insert-only client, made when first needed).
func (a *App) AlertJobs() jobs.Inserter { return &a.alerts }
