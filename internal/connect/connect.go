// Package connect opens a tenant's connection to its Virtuous organization:
// a client with the tenant's base URL and unsealed API key, drawing on the
// organization's rate budget shared through PostgreSQL.
package connect

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"backstop/internal/ratebudget"
	"backstop/internal/secret"
	"backstop/internal/store"
	"backstop/internal/tenant"
	"backstop/internal/virtuous"
)

// Factory makes clients.
type Factory struct {
	Store *store.Store
	Box   *secret.Box
	HTTP  *http.Client // nil: the client's default
	Log   *slog.Logger
	// Tune adjusts each client's configuration (tests shorten timeouts).
	Tune func(*virtuous.Config)
}

// Client returns a new client for t. Each pass takes its own, so its call
// count is the pass's.
func (f *Factory) Client(ctx context.Context, t *tenant.Tenant) (*virtuous.Client, error) {
	key, err := f.Box.Open(t.VirtuousKeyEnc)
	if err != nil {
		return nil, fmt.Errorf("tenant %s: Virtuous API key: %w", t.Slug, err)
	}
	cfg := virtuous.Config{
		BaseURL:    t.VirtuousBaseURL,
		APIKey:     key,
		HTTPClient: f.HTTP,
		Budget:     ratebudget.New(f.Store, t.ID, ratebudget.WithLogger(f.Log)),
		Logger:     f.Log,
	}
	if f.Tune != nil {
		f.Tune(&cfg)
	}
	return virtuous.New(cfg)
}
