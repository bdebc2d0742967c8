package web

import (
	"net/http"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"
)

// render writes a templ component. It renders into a buffer first, so a
// component that fails becomes a clean 500 instead of half a page. A page
// rendered as the answer to a refused form takes the refusal's status.
func render(c echo.Context, status int, comp templ.Component) error {
	status = refusedStatus(c, status)
	buf := templ.GetBuffer()
	defer templ.ReleaseBuffer(buf)
	if err := comp.Render(c.Request().Context(), buf); err != nil {
		return err
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// isHTMX reports whether htmx made the request (and wants a fragment).
func isHTMX(c echo.Context) bool {
	return c.Request().Header.Get("HX-Request") == "true"
}

var _ = http.StatusOK
