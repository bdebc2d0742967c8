package web

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"backstop/internal/derrors"
	"backstop/internal/secret"
	"backstop/internal/store"
	"backstop/internal/tenant"
	"backstop/internal/virtuous"
)

func (s *Server) webhookRoutes() {
	s.e.POST("/webhooks/virtuous/:tenant/:token", s.receiveWebhook)
}

// receiveWebhook stores a Virtuous delivery and enqueues its application in
// one transaction before answering 2xx, so an acknowledged event is never
// lost; when the database cannot store it, the answer is 503 and Virtuous
// retries.
func (s *Server) receiveWebhook(c echo.Context) error {
	ctx := c.Request().Context()
	h, err := s.hooks.get(ctx, c.Param("tenant"))
	if errors.Is(err, derrors.NotFound) {
		return apiError(http.StatusNotFound, "no such webhook")
	}
	if err != nil {
		return unavailable(err)
	}
	if !secret.Equal(h.token, c.Param("token")) {
		return apiError(http.StatusNotFound, "no such webhook")
	}
	t := h.t
	body, err := readBody(c)
	if err != nil {
		return err
	}
	if h.secret != "" && !h.key.Verify(body, c.Request().Header.Get(t.SignatureHeader)) {
		return apiError(http.StatusUnauthorized, "bad or missing signature in "+t.SignatureHeader)
	}
	// The whole object is decoded now, not only its id and version: a
	// delivery acknowledged and stored but impossible to apply would be
	// lost in silence, where a 400 says what is wrong.
	full, err := virtuous.ParseWebhook(body)
	if err != nil {
		return apiError(http.StatusBadRequest, err.Error())
	}
	ev := full.Header()
	if ev.Kind() == "" {
		// An event type Backstop does not subscribe to: acknowledge so
		// Virtuous does not retry it, and keep nothing.
		return c.JSON(http.StatusOK, map[string]any{"ignored": ev.Name})
	}
	row := &store.InboundEvent{TenantID: t.ID, DedupeKey: ev.DedupeKey(), Event: ev.Name, ObjectKind: ev.Kind(), Body: body, ReceivedAt: s.now()}
	row.VirtuousID, row.ModifiedAt = &ev.ObjectID, timePtr(ev.ModifiedAt.Time)
	created, err := s.deps.Ingester.Save(ctx, row)
	if err != nil {
		return unavailable(err)
	}
	// The answers are written as bytes, not encoded from a map: encoding
	// one cost 4% of the receiver's CPU under load.
	if !created {
		return c.JSONBlob(http.StatusOK, duplicateAnswer)
	}
	return c.JSONBlob(http.StatusAccepted, append(strconv.AppendInt([]byte(`{"accepted":`), row.ID, 10), '}'))
}

var duplicateAnswer = []byte(`{"duplicate":true}`)

// unavailable turns a storage failure into a 503 so the sender retries.
func unavailable(err error) error {
	return &echo.HTTPError{Code: http.StatusServiceUnavailable, Message: "temporarily unable to store the event; retry later", Internal: err}
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// hookCache keeps each tenant's webhook credentials, opened, for a few
// seconds: a delivery then costs no tenant lookup and no decryption, and a
// changed secret takes effect within hookTTL.
type hookCache struct {
	store *store.Store
	box   *secret.Box
	mu    sync.Mutex
	m     map[string]hookEntry
}

type hookEntry struct {
	t             *tenant.Tenant
	token, secret string
	key           *virtuous.Key // secret's, for verifying signatures
	until         time.Time
}

const hookTTL = 10 * time.Second

func (c *hookCache) get(ctx context.Context, slug string) (hookEntry, error) {
	c.mu.Lock()
	e, ok := c.m[slug]
	c.mu.Unlock()
	if ok && time.Now().Before(e.until) {
		return e, nil
	}
	t, err := c.store.TenantBySlug(ctx, slug)
	if err != nil {
		return hookEntry{}, err
	}
	e = hookEntry{t: t, until: time.Now().Add(hookTTL)}
	if e.token, err = c.box.Open(t.WebhookTokenEnc); err != nil {
		return hookEntry{}, err
	}
	if len(t.WebhookSecretEnc) > 0 {
		if e.secret, err = c.box.Open(t.WebhookSecretEnc); err != nil {
			return hookEntry{}, err
		}
		e.key = virtuous.NewKey(e.secret)
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]hookEntry{}
	}
	c.m[slug] = e
	c.mu.Unlock()
	return e, nil
}
