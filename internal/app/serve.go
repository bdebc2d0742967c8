package app

import (
	"context"
	"net/http"
	"time"

	"backstop/internal/inbound"

	"backstop/internal/intake"
	"backstop/internal/jobs"
	"backstop/internal/review"
	"backstop/internal/virtuous"
	"backstop/web"
)

// Serve runs the web server until ctx is done. It enqueues jobs (submission,
// webhook application) but works none: that is `backstop worker`'s job, or
// the worker half of `backstop all`.
func (a *App) Serve(ctx context.Context, ready func(addr string)) error {
	rc, err := jobs.New(a.Store.DB().DB, jobs.Options{Log: a.Log})
	if err != nil {
		return err
	}
	return a.newWeb(rc).Serve(ctx, a.Cfg.Addr, ready)
}

func (a *App) newWeb(ins jobs.Inserter) *web.Server {
	in := &intake.Service{Store: a.Store, Jobs: ins, Now: a.Now}
	return web.New(web.Deps{
		Store:      a.Store,
		Box:        a.Box,
		Jobs:       ins,
		Now:        a.Now,
		Intake:     in,
		Review:     &review.Service{Store: a.Store, Engine: a.Engine(ins, a.webTune), Intake: in, Now: a.Now},
		Ingester:   a.ingester(),
		Log:        a.Log,
		BaseURL:    a.Cfg.BaseURL,
		TrustProxy: a.Cfg.TrustProxy,
		Ready:      a.Ready,
	})
}

// NewInserter builds an insert-only River client (for one-shot commands
// that enqueue follow-up jobs for the workers).
func (a *App) NewInserter() (*jobs.Client, error) {
	return jobs.New(a.Store.DB().DB, jobs.Options{Log: a.Log})
}

// Handler is the web app as an http.Handler enqueueing through ins (tests
// serve it with httptest).
func (a *App) Handler(ins jobs.Inserter) http.Handler { return a.newWeb(ins).Handler() }

// ingester is the process's one webhook ingester (closed by Close).
func (a *App) ingester() *inbound.Ingester {
	if a.ingest == nil {
		a.ingest = &inbound.Ingester{Store: a.Store}
	}
	return a.ingest
}

// webTune keeps a person's live lookup short: two attempts of ten seconds,
// and no sitting out a long 429, then whatever a.Tune adds.
func (a *App) webTune(c *virtuous.Config) {
	c.MaxAttempts, c.Timeout, c.MaxRetryAfter = 2, 10*time.Second, 5*time.Second
	if a.Tune != nil {
		a.Tune(c)
	}
}
