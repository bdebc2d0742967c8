package web

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"backstop/internal/derrors"
	"backstop/internal/review"
	"backstop/views"
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
// is refused as well, in the form and in any page's query string: no
// browser sends it, and PostgreSQL would refuse it later with a 500. Each
// refusal changes nothing and says so.
func (s *Server) formBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		for k, vs := range r.URL.Query() {
			if !storable(k) || !allStorable(vs) {
				return echo.NewHTTPError(http.StatusBadRequest, "Refused: the address holds characters Backstop cannot store (a NUL byte, or text that is not UTF-8).")
			}
		}
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

// ctxRefusal carries a refused form's status and words to the page that
// answers it (see refuse).
const ctxRefusal = "refusal"

type refusal struct {
	status int
	msg    string
}

// refuse answers a form that changed nothing: page — the page the person
// acted from, rendered afresh — with msg on top and status (4xx, or 503
// when Virtuous could not be asked) instead of its 200. A 303 to that page
// with a flash would read as success to anything but a person; this way
// the person sees the same page, and the status says what happened.
func (s *Server) refuse(c echo.Context, status int, msg string, page echo.HandlerFunc) error {
	c.Set(ctxRefusal, refusal{status, msg})
	if isHTMX(c) {
		// A boosted form would push the form's URL; the page shown is the
		// one the person was on.
		c.Response().Header().Set("HX-Push-Url", "false")
	}
	return page(c)
}

// refuseErr refuses with the status and words of an action's expected
// failure (review.Describe); anything else is a fault, returned as is.
func (s *Server) refuseErr(c echo.Context, err error, page echo.HandlerFunc) error {
	status, msg, ok := refusalOf(err)
	if !ok {
		return err
	}
	return s.refuse(c, status, msg, page)
}

// refusalOf maps an action's expected failure to its status: someone else
// moved the record first 409, Virtuous unavailable 503, a wrong input 400.
func refusalOf(err error) (int, string, bool) {
	msg, ok := review.Describe(err)
	var ue *review.UnavailableError
	switch {
	case !ok:
		return 0, "", false
	case errors.As(err, &ue):
		return http.StatusServiceUnavailable, msg, true
	case errors.Is(err, derrors.WrongState):
		return http.StatusConflict, msg, true
	}
	return http.StatusBadRequest, msg, true
}

// refusedStatus is the status a page renders with: a refusal's, when the
// page answers one.
func refusedStatus(c echo.Context, status int) int {
	if rf, ok := c.Get(ctxRefusal).(refusal); ok && status < 300 {
		return rf.status
	}
	return status
}

// refusalFlash is the refusal's message as the page shows it, if any.
func refusalFlash(c echo.Context) []views.Flash {
	if rf, ok := c.Get(ctxRefusal).(refusal); ok {
		return []views.Flash{{Kind: "error", Text: capitalize(rf.msg)}}
	}
	return nil
}

// truncate cuts s to at most n bytes without splitting a character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	return strings.ToUpper(string(r)) + s[n:]
}
