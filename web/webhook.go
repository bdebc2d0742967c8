package web

import (
	"errors"
	"net/http"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/labstack/echo/v4"

	"backstop/internal/derrors"
	"backstop/internal/inbound"
	"backstop/internal/secret"
	"backstop/internal/store"
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
	t, err := s.deps.Store.TenantBySlug(ctx, c.Param("tenant"))
	if errors.Is(err, derrors.NotFound) {
		return apiError(http.StatusNotFound, "no such webhook")
	}
	if err != nil {
		return unavailable(err)
	}
	want, err := s.deps.Box.Open(t.WebhookTokenEnc)
	if err != nil || !secret.Equal(want, c.Param("token")) {
		return apiError(http.StatusNotFound, "no such webhook")
	}
	body, err := readBody(c)
	if err != nil {
		return err
	}
	if len(t.WebhookSecretEnc) > 0 {
		sec, err := s.deps.Box.Open(t.WebhookSecretEnc)
		if err != nil {
			return err
		}
		if !virtuous.VerifySignature(sec, body, c.Request().Header.Get(t.SignatureHeader)) {
			return apiError(http.StatusUnauthorized, "bad or missing signature in "+t.SignatureHeader)
		}
	}
	ev, err := virtuous.ParseWebhook(body)
	if err != nil {
		return apiError(http.StatusBadRequest, err.Error())
	}
	if ev.Kind() == "" {
		// An event type Backstop does not subscribe to: acknowledge so
		// Virtuous does not retry it, and keep nothing.
		return c.JSON(http.StatusOK, map[string]any{"ignored": ev.Name})
	}
	row := &store.InboundEvent{TenantID: t.ID, DedupeKey: ev.DedupeKey(), Event: ev.Name, ObjectKind: ev.Kind(), Body: body, ReceivedAt: s.now()}
	if ev.Gift != nil {
		row.VirtuousID, row.ModifiedAt = &ev.Gift.ID, timePtr(ev.Gift.ModifiedDateTimeUTC.Time)
	} else if ev.Contact != nil {
		row.VirtuousID, row.ModifiedAt = &ev.Contact.ID, timePtr(ev.Contact.ModifiedDateTimeUTC.Time)
	}
	var created bool
	err = s.deps.Store.InTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		if created, err = s.deps.Store.InsertInboundEvent(ctx, tx, row); err != nil || !created {
			return err
		}
		_, err = s.deps.Jobs.InsertTx(ctx, tx.Tx, inbound.ApplyArgs{EventID: row.ID}, inbound.ApplyOpts())
		return err
	})
	if err != nil {
		return unavailable(err)
	}
	if !created {
		return c.JSON(http.StatusOK, map[string]any{"duplicate": true})
	}
	return c.JSON(http.StatusAccepted, map[string]any{"accepted": row.ID})
}

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
