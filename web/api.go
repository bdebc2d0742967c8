package web

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"backstop/internal/derrors"
	"backstop/internal/intake"
	"backstop/internal/record"
	"backstop/internal/secret"
	"backstop/internal/store"
	"backstop/internal/tenant"
)

// maxBody bounds every JSON body the API and webhook receiver accept.
const maxBody = 1 << 20

// preallocBody is the largest declared body read into a buffer allocated
// before it arrives (a delivery is a few kilobytes).
const preallocBody = 64 << 10

func (s *Server) apiRoutes() {
	g := s.e.Group("/api/v1", s.intakeAuth)
	g.PUT("/records/:kind/:platformID", s.putRecord)
	g.GET("/records/:kind/:platformID", s.getRecord)
	g.GET("/changes", s.getChanges)
}

const ctxTenant = "tenant"

// intakeAuth resolves the Bearer intake token to its tenant.
func (s *Server) intakeAuth(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Request().Header.Get("Authorization")
		token, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || strings.TrimSpace(token) == "" {
			return apiError(http.StatusUnauthorized, "missing Authorization: Bearer <intake token>")
		}
		t, err := s.deps.Store.TenantByIntakeToken(c.Request().Context(), secret.HashToken(strings.TrimSpace(token)))
		if errors.Is(err, derrors.NotFound) {
			return apiError(http.StatusUnauthorized, "the intake token is not valid")
		}
		if err != nil {
			return err
		}
		c.Set(ctxTenant, t)
		return next(c)
	}
}

// apiError is an error with a status and a message for the client.
func apiError(status int, msg string) error {
	return echo.NewHTTPError(status, msg)
}

// readBody reads at most maxBody bytes; more is a 413.
func readBody(c echo.Context) ([]byte, error) {
	if n := c.Request().ContentLength; n > 0 && n <= preallocBody {
		// A declared length is read into one buffer of that size, where
		// io.ReadAll grew one by doubling; net/http's reader ends the body
		// there (and a shorter one is an error either way). Only a small
		// one: a client declaring a megabyte it never sends must not make
		// every connection of its hold one.
		b := make([]byte, n)
		if _, err := io.ReadFull(c.Request().Body, b); err != nil {
			return nil, err
		}
		return b, nil
	}
	b, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, maxBody))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, apiError(http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than %d bytes", maxBody))
	}
	return b, err
}

func (s *Server) putRecord(c echo.Context) error {
	t := c.Get(ctxTenant).(*tenant.Tenant)
	body, err := readBody(c)
	if err != nil {
		return err
	}
	rec, out, err := s.deps.Intake.Put(c.Request().Context(), t, record.Kind(c.Param("kind")), c.Param("platformID"), body)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if out == intake.Created {
		status = http.StatusCreated
	}
	return c.JSON(status, recordJSON(rec, string(out)))
}

func (s *Server) getRecord(c echo.Context) error {
	t := c.Get(ctxTenant).(*tenant.Tenant)
	kind := record.Kind(c.Param("kind"))
	if !kind.Valid() {
		return derrors.Invalid("kind", "%q is not a record kind (gift or contact)", kind)
	}
	rec, err := s.deps.Store.RecordByPlatformID(c.Request().Context(), s.deps.Store.DB(), t.ID, kind, c.Param("platformID"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, recordJSON(rec, ""))
}

// apiRecord is the record as the platform sees it.
type apiRecord struct {
	ID                 int64                `json:"id"`
	Kind               record.Kind          `json:"kind"`
	PlatformID         string               `json:"platform_id"`
	Source             record.Source        `json:"source"`
	SourceRef          string               `json:"source_ref"`
	TransactionSource  string               `json:"transaction_source,omitempty"`
	TransactionID      string               `json:"transaction_id,omitempty"`
	ReferenceSource    string               `json:"reference_source,omitempty"`
	ReferenceID        string               `json:"reference_id,omitempty"`
	Status             record.Status        `json:"status"`
	Outcome            string               `json:"outcome,omitempty"`
	Version            int64                `json:"version"`
	VirtuousID         *int64               `json:"virtuous_id,omitempty"`
	VirtuousContactID  *int64               `json:"virtuous_contact_id,omitempty"`
	ConfirmedVia       *record.ConfirmedVia `json:"confirmed_via,omitempty"`
	CreatedAt          time.Time            `json:"created_at"`
	UpdatedAt          time.Time            `json:"updated_at"`
	PlatformUpdatedAt  time.Time            `json:"platform_updated_at"`
	SubmittedAt        *time.Time           `json:"submitted_at,omitempty"`
	ConfirmedAt        *time.Time           `json:"confirmed_at,omitempty"`
	LastSyncAt         *time.Time           `json:"last_sync_at,omitempty"`
	VirtuousModifiedAt *time.Time           `json:"virtuous_modified_at,omitempty"`
	VirtuousDeletedAt  *time.Time           `json:"virtuous_deleted_at,omitempty"`
	Attempts           int                  `json:"attempts"`
	LastError          string               `json:"last_error,omitempty"`
	Transaction        json.RawMessage      `json:"transaction"`
}

func recordJSON(r *record.Record, outcome string) *apiRecord {
	a := &apiRecord{
		ID: r.ID, Kind: r.Kind, PlatformID: r.PlatformID, Source: r.Source, SourceRef: r.SourceRef,
		Status: r.Status, Outcome: outcome, Version: r.Version, VirtuousID: r.VirtuousID,
		VirtuousContactID: r.VirtuousContactID, ConfirmedVia: r.ConfirmedVia, CreatedAt: r.CreatedAt,
		UpdatedAt: r.UpdatedAt, PlatformUpdatedAt: r.PlatformUpdatedAt, SubmittedAt: r.SubmittedAt,
		ConfirmedAt: r.ConfirmedAt, LastSyncAt: r.LastSyncAt, VirtuousModifiedAt: r.VirtuousModifiedAt,
		VirtuousDeletedAt: r.VirtuousDeletedAt, Attempts: r.Attempts, LastError: r.LastError,
		Transaction: r.Payload,
	}
	if r.Kind == record.Gift {
		a.TransactionSource, a.TransactionID = r.ExtSource, r.ExtID
	} else {
		a.ReferenceSource, a.ReferenceID = r.ExtSource, r.ExtID
	}
	return a
}

// getChanges pages the changes feed with an opaque cursor.
func (s *Server) getChanges(c echo.Context) error {
	t := c.Get(ctxTenant).(*tenant.Tenant)
	limit := 100
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return derrors.Invalid("limit", "must be a number from 1 to 1000")
		}
		limit = n
	}
	txid, id, err := decodeCursor(c.QueryParam("after"))
	if err != nil {
		return err
	}
	rows, err := s.deps.Store.ChangesAfter(c.Request().Context(), t.ID, txid, id, limit)
	if err != nil {
		return err
	}
	next := c.QueryParam("after")
	if len(rows) > 0 {
		last := rows[len(rows)-1]
		next = encodeCursor(last.TxID, last.ID)
	}
	if rows == nil {
		rows = []*store.Change{}
	}
	return c.JSON(http.StatusOK, map[string]any{"changes": rows, "next": next, "more": len(rows) == limit})
}

func encodeCursor(txid string, id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(txid + ":" + strconv.FormatInt(id, 10)))
}

func decodeCursor(s string) (string, int64, error) {
	if s == "" {
		return "0", 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		tx, idStr, ok := strings.Cut(string(b), ":")
		id, perr := strconv.ParseInt(idStr, 10, 64)
		if _, terr := strconv.ParseUint(tx, 10, 64); ok && perr == nil && terr == nil {
			return tx, id, nil
		}
	}
	return "", 0, derrors.Invalid("after", "not a cursor returned by this feed")
}
