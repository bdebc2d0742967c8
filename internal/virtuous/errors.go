package virtuous

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"backstop/internal/derrors"
)

// APIError is a non-2xx answer from Virtuous. Its text never contains the
// API key (the key travels only in a header, and any echo of it in a body is
// redacted) and its Path has no query string.
type APIError struct {
	Status       int
	Method, Path string
	// Code and Message come from whichever error shape the body had (see
	// parseErrorBody); Code falls back to the documented code for the status
	// (NOT_FOUND, UNAUTHENTICATED, …) and Message to the status text.
	Code, Message string
	Details       []ErrorDetail
	// RetryAfter is what a 429 asked for, so that a caller handed the error
	// can reschedule instead of retrying at once.
	RetryAfter time.Duration
	// Body is the start of the raw body (at most maxErrorBody bytes).
	Body string
}

// ErrorDetail is one field-level problem of a validation error.
type ErrorDetail struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

const maxErrorBody = 2048

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "virtuous: %s %s: %d", e.Method, e.Path, e.Status)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	for i, d := range e.Details {
		if i == 0 {
			b.WriteString(" (")
		} else {
			b.WriteString("; ")
		}
		if d.Field != "" {
			b.WriteString(d.Field + ": ")
		}
		b.WriteString(cmp.Or(d.Message, d.Code))
		if i == len(e.Details)-1 {
			b.WriteString(")")
		}
	}
	return b.String()
}

// Retryable reports whether the same request may succeed later: rate
// limiting (429) and server or gateway failures (500, 502, 503, 504, and
// Cloudflare's 520, which the Ruby gem also handles). Other 4xx mean the
// request itself is wrong and are never retried.
func (e *APIError) Retryable() bool {
	switch e.Status {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout, 520:
		return true
	}
	return false
}

// Is maps statuses onto Backstop's error kinds: 404 is derrors.NotFound, 401
// derrors.Unauthenticated, 400 derrors.InvalidArgument.
func (e *APIError) Is(target error) bool {
	switch e.Status {
	case http.StatusNotFound:
		return target == derrors.NotFound
	case http.StatusUnauthorized:
		return target == derrors.Unauthenticated
	case http.StatusBadRequest:
		return target == derrors.InvalidArgument
	}
	return false
}

// statusCodes is the status → code mapping the error-handling guide gives.
var statusCodes = map[int]string{
	400: "BAD_REQUEST", 401: "UNAUTHENTICATED", 403: "FORBIDDEN", 404: "NOT_FOUND", 409: "CONFLICT",
	429: "TOO_MANY_REQUESTS",
}

// newAPIError builds the error for a response. The secret is redacted from
// the raw body and again from the fields parsed out of it (JSON escapes
// could hide it from the first pass), before anything is truncated, so that
// no cut can leave part of it behind.
func newAPIError(method, path string, status int, body []byte, secret string) *APIError {
	redact := func(s string) string { return s }
	if secret != "" {
		body = bytes.ReplaceAll(body, []byte(secret), []byte("[redacted]"))
		redact = strings.NewReplacer(secret, "[redacted]").Replace
	}
	code, message, details := parseErrorBody(body)
	for i, d := range details {
		details[i] = ErrorDetail{Field: redact(d.Field), Code: redact(d.Code), Message: redact(d.Message)}
	}
	return &APIError{
		Status: status, Method: method, Path: path,
		Code:    cmp.Or(truncate(redact(code), 100), statusCodes[status]),
		Message: cmp.Or(truncate(redact(message), 500), http.StatusText(status)),
		Details: details,
		Body:    truncate(string(body), maxErrorBody),
	}
}

// parseErrorBody reads every error shape Virtuous is known to send:
//
//	{"error":{"code":"NOT_FOUND","message":"…","details":[{"field","code","message"}]}}  (target)
//	{"error":"NotFound","error_description":"…","errors":{"field":["msg"]},"message":"…"}  (legacy)
//	{"message":"…","modelState":{"field":["msg"]}}                                       (ASP.NET)
//	Authorization has been denied for this request.                                      (plain text)
//
// and an empty body, which yields nothing.
func parseErrorBody(body []byte) (code, message string, details []ErrorDetail) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return "", "", nil
	}
	var env struct {
		Error            json.RawMessage `json:"error"`
		ErrorDescription json.RawMessage `json:"error_description"`
		Message          json.RawMessage `json:"message"`
		Errors           json.RawMessage `json:"errors"`
		ModelState       json.RawMessage `json:"modelState"`
	}
	if body[0] != '{' || json.Unmarshal(body, &env) != nil {
		return "", plainMessage(body), nil
	}
	message = cmp.Or(jsonText(env.ErrorDescription), jsonText(env.Message))
	var target struct {
		Code    json.RawMessage `json:"code"`
		Message json.RawMessage `json:"message"`
		Details []struct {
			Field, Code, Message looseString
		} `json:"details"`
	}
	if e := bytes.TrimSpace(env.Error); len(e) > 0 && e[0] == '{' {
		json.Unmarshal(e, &target) // a part that does not fit stays empty
		code, message = jsonText(target.Code), cmp.Or(jsonText(target.Message), message)
		for _, d := range target.Details {
			details = append(details, ErrorDetail{Field: string(d.Field), Code: string(d.Code), Message: string(d.Message)})
		}
	} else {
		code = jsonText(env.Error)
	}
	details = append(details, fieldErrors(env.Errors)...)
	details = append(details, fieldErrors(env.ModelState)...)
	return code, message, capDetails(details)
}

// maxDetails bounds the field errors kept, so that one 400 about a huge
// batch cannot make an error message of unbounded length.
const maxDetails = 50

func capDetails(ds []ErrorDetail) []ErrorDetail {
	if len(ds) == 0 {
		return nil
	}
	ds = ds[:min(len(ds), maxDetails)]
	for i, d := range ds {
		ds[i] = ErrorDetail{Field: truncate(d.Field, 100), Code: truncate(d.Code, 100), Message: truncate(d.Message, 300)}
	}
	return ds
}

// fieldErrors reads {field: [msgs]} (or {field: msg}, or [msgs]) as details,
// in field order so that the error text is stable.
func fieldErrors(raw json.RawMessage) []ErrorDetail {
	raw = bytes.TrimSpace(raw)
	var out []ErrorDetail
	if len(raw) > 0 && raw[0] == '[' {
		var msgs []json.RawMessage
		json.Unmarshal(raw, &msgs)
		for _, m := range msgs {
			out = append(out, ErrorDetail{Message: jsonText(m)})
		}
		return out
	}
	var byField map[string]json.RawMessage
	if json.Unmarshal(raw, &byField) != nil {
		return nil
	}
	fields := make([]string, 0, len(byField))
	for f := range byField {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	for _, f := range fields {
		var msgs []json.RawMessage
		if json.Unmarshal(byField[f], &msgs) != nil {
			msgs = []json.RawMessage{byField[f]}
		}
		for _, m := range msgs {
			out = append(out, ErrorDetail{Field: f, Message: jsonText(m)})
		}
	}
	return out
}

// plainMessage is the first line of a text body. An HTML page (a gateway's
// error page) says nothing useful in one line, so it yields nothing and the
// status text stands in.
func plainMessage(body []byte) string {
	if body[0] == '<' {
		return ""
	}
	if body[0] == '"' {
		return jsonText(body)
	}
	line, _, _ := strings.Cut(string(body), "\n")
	return strings.TrimSpace(line)
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
