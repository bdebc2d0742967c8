package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"backstop/internal/dbtest"
	"backstop/internal/inbound"
	"backstop/internal/intake"
	"backstop/internal/jobs"
	"backstop/internal/secret"
	"backstop/internal/store"
	"backstop/internal/tenant"
	"backstop/web"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// env is one test's Backstop web server on its own database.
type env struct {
	t      testing.TB
	store  *store.Store
	srv    *httptest.Server
	box    *secret.Box
	now    time.Time
	tenant *tenant.Tenant
	token  string // tenant's intake token
	hook   string // tenant's webhook URL path
}

func newEnv(t testing.TB, opts ...func(*web.Deps)) *env {
	t.Helper()
	s := dbtest.Store(t)
	box, err := secret.NewBox("test secret key 0123456789")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := jobs.New(s.DB().DB, jobs.Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, store: s, box: box, now: time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)}
	now := func() time.Time { return e.now }
	d := web.Deps{
		Store: s, Box: box, Jobs: rc, Now: now, Ingester: &inbound.Ingester{Store: s}, Intake: &intake.Service{Store: s, Jobs: rc, Now: now},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), BaseURL: "http://backstop.test",
		Ready: func(ctx context.Context) error { return s.Ping(ctx) },
	}
	for _, o := range opts {
		o(&d)
	}
	srv := web.New(d)
	e.srv = httptest.NewServer(srv.Handler())
	t.Cleanup(e.srv.Close)
	e.tenant, e.token, e.hook = e.addTenant("acme", "")
	return e
}

func (e *env) addTenant(slug, webhookSecret string) (*tenant.Tenant, string, string) {
	e.t.Helper()
	n := tenant.NewTenant{Slug: slug, Name: strings.ToUpper(slug), VirtuousBaseURL: "http://127.0.0.1:9", VirtuousKey: "vk-" + slug, WebhookSecret: webhookSecret}
	tn, intakeToken, hook := n.Build(e.box)
	id, err := e.store.CreateTenant(context.Background(), tn)
	if err != nil {
		e.t.Fatal(err)
	}
	tn, err = e.store.TenantByID(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return tn, intakeToken, "/webhooks/virtuous/" + slug + "/" + hook
}

func (e *env) do(method, path, token, body string) (*http.Response, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// count returns the rows of a table, for "nothing was written" checks.
func (e *env) count(table string) int {
	e.t.Helper()
	var n int
	if err := e.store.DB().Get(&n, `SELECT count(*) FROM `+table); err != nil {
		e.t.Fatal(err)
	}
	return n
}
