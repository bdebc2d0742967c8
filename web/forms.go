package web

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
)

// maxFormBody bounds a browser form's body. The largest form Backstop
// serves, a bulk action on 100 rows, is about 3 KiB; 64 KiB leaves room for
// long reasons and addresses and still keeps a post from costing more than
// a page.
const maxFormBody = 64 << 10

const formType = "application/x-www-form-urlencoded"

// formBody reads a state-changing browser request's form before anything
// else looks at it: at most maxFormBody bytes (413 past that), urlencoded
// (415 otherwise, for a non-empty body), and whole — a body cut short or
// badly escaped is a 400, where Go's FormValue would quietly answer "" and
// let a handler act on part of a form. A NUL byte or text that is not UTF-8
// is refused as well: no browser sends it, and PostgreSQL would refuse it
// later with a 500. Each refusal changes nothing and says so.
func (s *Server) formBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			return next(c)
		}
		if ct, _, _ := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType)); ct != formType && r.ContentLength != 0 {
			return echo.NewHTTPError(http.StatusUnsupportedMediaType, "Refused: Backstop's forms are sent as "+formType+". Nothing was changed.")
		}
		r.Body = http.MaxBytesReader(c.Response(), r.Body, maxFormBody)
		if err := r.ParseForm(); err != nil {
			if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
				return echo.NewHTTPError(http.StatusRequestEntityTooLarge,
					fmt.Sprintf("Refused: the form is larger than Backstop accepts (%d KiB). Nothing was changed.", maxFormBody>>10))
			}
			return echo.NewHTTPError(http.StatusBadRequest, "Refused: the form arrived incomplete or garbled. Nothing was changed; reload the page and try again.")
		}
		for k, vs := range r.PostForm {
			if !storable(k) || !allStorable(vs) {
				return echo.NewHTTPError(http.StatusBadRequest, "Refused: the form holds characters Backstop cannot store (a NUL byte, or text that is not UTF-8). Nothing was changed.")
			}
		}
		return next(c)
	}
}

func storable(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

func allStorable(vs []string) bool {
	for _, v := range vs {
		if !storable(v) {
			return false
		}
	}
	return true
}
