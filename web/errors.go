package web

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"backstop/internal/derrors"
	"backstop/views"
)

// handleError is the one place a failed request becomes a response. It maps
// derrors kinds to statuses, logs only server faults (with the request id),
// and shows the user a public message, never err.Error() of an internal fault.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status, msg := http.StatusInternalServerError, "Something went wrong"
	var he *echo.HTTPError
	switch {
	case errors.As(err, &he):
		status = he.Code
		if m, ok := he.Message.(string); ok {
			msg = m
		} else {
			msg = http.StatusText(status)
		}
	case errors.Is(err, derrors.NotFound):
		status, msg = http.StatusNotFound, "Not found"
	case errors.Is(err, derrors.InvalidArgument):
		status, msg = http.StatusBadRequest, derrors.Public(err)
	case errors.Is(err, derrors.WrongState):
		status, msg = http.StatusConflict, derrors.Public(err)
	case errors.Is(err, derrors.AlreadyExists):
		status, msg = http.StatusConflict, derrors.Public(err)
	case errors.Is(err, derrors.Unauthenticated):
		status, msg = http.StatusUnauthorized, "Sign in required"
	}
	reqID := c.Response().Header().Get(echo.HeaderXRequestID)
	if status >= 500 {
		s.deps.Log.Error("request failed", slog.Any("error", err), slog.String("path", c.Path()),
			slog.String("request_id", reqID))
	}
	if wantsJSON(c) {
		body := map[string]any{"status": status, "message": msg, "request_id": reqID}
		var fe *derrors.FieldError
		if errors.As(err, &fe) && fe.Field != "" {
			body["field"] = fe.Field
		}
		c.JSON(status, map[string]any{"error": body})
		return
	}
	chrome := s.chrome(c, http.StatusText(status), "")
	if err := render(c, status, views.ErrorPage(chrome, status, msg, reqID)); err != nil {
		c.String(status, msg)
	}
}

func wantsJSON(c echo.Context) bool {
	p := c.Request().URL.Path
	return strings.HasPrefix(p, "/api/") || strings.HasPrefix(p, "/webhooks/") ||
		strings.Contains(c.Request().Header.Get("Accept"), "application/json")
}
