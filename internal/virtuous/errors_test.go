package virtuous

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"backstop/internal/derrors"
)

func TestErrorBodies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		status      int
		body        string
		wantCode    string
		wantMessage string
		wantDetails []ErrorDetail
		wantText    string // Error()
	}{
		{
			name: "Target", status: 400,
			body: `{"error":{"code":"VALIDATION_ERROR","message":"The request is invalid.",
				"details":[{"field":"amount","code":"REQUIRED","message":"Amount is required"},
				           {"field":"designations","code":"SUM","message":"Designations must sum to amount"}]}}`,
			wantCode: "VALIDATION_ERROR", wantMessage: "The request is invalid.",
			wantDetails: []ErrorDetail{
				{Field: "amount", Code: "REQUIRED", Message: "Amount is required"},
				{Field: "designations", Code: "SUM", Message: "Designations must sum to amount"},
			},
			wantText: "virtuous: POST /api/v2/Gift/Transaction: 400 VALIDATION_ERROR: The request is invalid. " +
				"(amount: Amount is required; designations: Designations must sum to amount)",
		},
		{
			name: "TargetNotFound", status: 404, body: `{"error":{"code":"NOT_FOUND","message":"Gift not found","details":[]}}`,
			wantCode: "NOT_FOUND", wantMessage: "Gift not found",
			wantText: "virtuous: POST /api/v2/Gift/Transaction: 404 NOT_FOUND: Gift not found",
		},
		{
			name: "Legacy", status: 404,
			body:     `{"error":"NotFound","error_description":"Contact with id 99999 could not be found"}`,
			wantCode: "NotFound", wantMessage: "Contact with id 99999 could not be found",
		},
		{
			name: "LegacyWithErrors", status: 400,
			body:     `{"error":"BadRequest","message":"Validation failed","errors":{"giftDate":["is required","must be a date"],"amount":["must be positive"]}}`,
			wantCode: "BadRequest", wantMessage: "Validation failed",
			wantDetails: []ErrorDetail{
				{Field: "amount", Message: "must be positive"},
				{Field: "giftDate", Message: "is required"},
				{Field: "giftDate", Message: "must be a date"},
			},
		},
		{
			name: "LegacyMessageOnly", status: 409, body: `{"error":"Conflict","message":"Already imported"}`,
			wantCode: "Conflict", wantMessage: "Already imported",
		},
		{
			name: "ASPNET", status: 401, body: `{"Message":"Authorization has been denied for this request."}`,
			wantCode: "UNAUTHENTICATED", wantMessage: "Authorization has been denied for this request.",
		},
		{
			name: "ModelState", status: 400,
			body:     `{"message":"The request is invalid.","modelState":{"transaction.amount":["Invalid amount"]}}`,
			wantCode: "BAD_REQUEST", wantMessage: "The request is invalid.",
			wantDetails: []ErrorDetail{{Field: "transaction.amount", Message: "Invalid amount"}},
		},
		{
			name: "PlainText401", status: 401, body: "Authorization has been denied for this request.",
			wantCode: "UNAUTHENTICATED", wantMessage: "Authorization has been denied for this request.",
			wantText: "virtuous: POST /api/v2/Gift/Transaction: 401 UNAUTHENTICATED: Authorization has been denied for this request.",
		},
		{
			name: "Empty404", status: 404, body: "",
			wantCode: "NOT_FOUND", wantMessage: "Not Found",
			wantText: "virtuous: POST /api/v2/Gift/Transaction: 404 NOT_FOUND: Not Found",
		},
		{
			name: "Empty500", status: 500, body: "  \n",
			wantCode: "", wantMessage: "Internal Server Error",
		},
		{
			name: "CloudflareHTML520", status: 520, body: "<!DOCTYPE html>\n<html><title>520: Web server is returning an unknown error</title></html>",
			wantMessage: "",
		},
		{
			name: "JSONString", status: 400, body: `"Amount is required"`,
			wantCode: "BAD_REQUEST", wantMessage: "Amount is required",
		},
		{
			name: "BrokenJSON", status: 500, body: `{"error":`,
			wantMessage: `{"error":`,
		},
		{
			name: "OddTypes", status: 400,
			body:     `{"error":{"code":400,"message":"Invalid","details":[{"field":"amount","code":7,"message":null}]},"error_description":5}`,
			wantCode: "400", wantMessage: "Invalid",
			wantDetails: []ErrorDetail{{Field: "amount", Code: "7"}},
		},
		{
			name: "ErrorsArray", status: 400, body: `{"errors":["first","second"]}`,
			wantCode: "BAD_REQUEST", wantMessage: "Bad Request",
			wantDetails: []ErrorDetail{{Message: "first"}, {Message: "second"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, _ := serve(t, respond(tt.status, tt.body))
			c := newClient(t, srv.URL, func(c *Config) { c.MaxAttempts = 1 })
			err := c.SubmitGift(testCtx(t), map[string]string{})
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("got %v, want an *APIError", err)
			}
			if ae.Status != tt.status || ae.Code != tt.wantCode {
				t.Errorf("got status %d code %q, want %d %q", ae.Status, ae.Code, tt.status, tt.wantCode)
			}
			if tt.wantMessage != "" && ae.Message != tt.wantMessage {
				t.Errorf("got message %q, want %q", ae.Message, tt.wantMessage)
			}
			if tt.name == "CloudflareHTML520" && ae.Message != "520" && strings.Contains(ae.Message, "<") {
				t.Errorf("got message %q, want no HTML", ae.Message)
			}
			if d := cmp.Diff(tt.wantDetails, ae.Details); d != "" {
				t.Errorf("details mismatch (-want +got):\n%s", d)
			}
			if tt.wantText != "" && ae.Error() != tt.wantText {
				t.Errorf("got Error() %q,\nwant %q", ae.Error(), tt.wantText)
			}
			if ae.Method != "POST" || ae.Path != "/api/v2/Gift/Transaction" {
				t.Errorf("got %s %s, want POST /api/v2/Gift/Transaction", ae.Method, ae.Path)
			}
		})
	}
}

func TestAPIErrorKinds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status    int
		retryable bool
		is        error
	}{
		{400, false, derrors.InvalidArgument},
		{401, false, derrors.Unauthenticated},
		{403, false, nil},
		{404, false, derrors.NotFound},
		{409, false, nil},
		{429, true, nil},
		{500, true, nil},
		{501, false, nil},
		{502, true, nil},
		{503, true, nil},
		{504, true, nil},
		{520, true, nil},
	}
	kinds := []error{derrors.NotFound, derrors.InvalidArgument, derrors.Unauthenticated, derrors.WrongState}
	for _, tt := range tests {
		e := &APIError{Status: tt.status}
		if e.Retryable() != tt.retryable {
			t.Errorf("%d: got Retryable %v, want %v", tt.status, e.Retryable(), tt.retryable)
		}
		for _, k := range kinds {
			if got, want := errors.Is(fmt.Errorf("wrapped: %w", e), k), k == tt.is; got != want {
				t.Errorf("%d: got errors.Is(%v) = %v, want %v", tt.status, k, got, want)
			}
		}
	}
}

func TestKeyRedactedBeforeTruncation(t *testing.T) {
	t.Parallel()
	// The key straddles every cut: the message's 500 bytes and the body's 2048.
	for _, at := range []int{490, 495, 499, 2040, 2045} {
		body := strings.Repeat("a", at) + testKey + strings.Repeat("b", 3000)
		e := newAPIError("GET", "/api/Gift/1", 500, []byte(body), testKey)
		for _, part := range []string{testKey[:8], testKey[len(testKey)-8:]} {
			if strings.Contains(e.Message, part) || strings.Contains(e.Body, part) || strings.Contains(e.Error(), part) {
				t.Errorf("key at %d: a piece of it (%q) survived truncation", at, part)
			}
		}
	}
	escaped := `{"error":"Bad","error_description":"token vk_live_S3CRET\u002d7f1c9a2b"}`
	if e := newAPIError("GET", "/x", 400, []byte(escaped), testKey); strings.Contains(e.Error(), testKey) {
		t.Errorf("a JSON-escaped key survived: %s", e.Error())
	}
}

func TestErrorDetailsAreBounded(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString(`{"errors":{`)
	for i := range 500 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"f%03d":["%s"]`, i, strings.Repeat("x", 1000))
	}
	b.WriteString(`}}`)
	e := newAPIError("POST", "/api/v2/Gift/Transactions", 400, []byte(b.String()), testKey)
	if len(e.Details) != maxDetails || len(e.Error()) > 20000 {
		t.Errorf("got %d details and an error of %d bytes, want %d and a bounded text", len(e.Details), len(e.Error()), maxDetails)
	}
}

func TestErrorBodyIsTruncated(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 5000)
	e := newAPIError("GET", "/api/Gift/1", 500, []byte(long), testKey)
	if len(e.Body) > maxErrorBody+len("…") || !strings.HasSuffix(e.Body, "…") || len(e.Message) > 510 {
		t.Errorf("got body of %d bytes and message of %d, want both truncated", len(e.Body), len(e.Message))
	}
}

// TestAPIKeyNeverLeaks drives every failure path with a debug logger and
// looks for the key in each error and in the log.
func TestAPIKeyNeverLeaks(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	var mu syncWriter
	mu.w = &logs
	logger := slog.New(slog.NewTextHandler(&mu, &slog.HandlerOptions{Level: slog.LevelDebug}))
	// A server that echoes the Authorization header back in every way it can.
	srv, _ := serve(t, func(w http.ResponseWriter, r *http.Request, n int) {
		auth := r.Header.Get("Authorization")
		switch r.URL.Path {
		case "/api/Gift/1":
			w.WriteHeader(500)
			fmt.Fprintf(w, `{"error":{"code":"E","message":"bad token %s","details":[{"field":"k","message":"%s"}]}}`, auth, auth)
		case "/api/Gift/2":
			w.WriteHeader(401)
			fmt.Fprintf(w, "Authorization %s has been denied for this request.", auth)
		case "/api/Gift/3":
			fmt.Fprintf(w, `{"id": "%s"}`, auth) // undecodable success
		case "/api/Gift/4":
			<-r.Context().Done()
		case "/api/Gift/5":
			w.Header().Set("Retry-After", "99999")
			w.WriteHeader(429)
			fmt.Fprintf(w, `{"error":"TooMany","error_description":"%s"}`, auth)
		default:
			w.WriteHeader(400)
			fmt.Fprintf(w, `{"error":"Bad","errors":{"%s":["%s"]}}`, auth, auth)
		}
	})
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + ln.Addr().String()
	ln.Close()

	var errs []error
	c := newClient(t, srv.URL, func(c *Config) {
		c.Logger, c.MaxAttempts, c.Timeout, c.MaxRetryAfter = logger, 2, 100*time.Millisecond, time.Second
	})
	ctx := testCtx(t)
	for id := int64(1); id <= 5; id++ {
		_, _, err := c.Gift(ctx, id)
		errs = append(errs, err)
	}
	errs = append(errs, c.SubmitGift(ctx, map[string]string{}))
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	errs = append(errs, c.SubmitGift(cancelled, map[string]string{}))
	d := newClient(t, dead, func(c *Config) { c.Logger, c.MaxAttempts = logger, 2 })
	_, _, err := d.Gift(ctx, 1)
	errs = append(errs, err)
	_, err = New(Config{BaseURL: "https://api.virtuoussoftware.com", APIKey: testKey + " x"})
	errs = append(errs, err)

	for i, err := range errs {
		if err == nil {
			t.Errorf("case %d: got no error, want one", i)
			continue
		}
		for _, text := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
			if strings.Contains(text, testKey) {
				t.Errorf("case %d: error shows the API key: %s", i, text)
			}
		}
	}
	cfg := Config{BaseURL: "https://api.virtuoussoftware.com", APIKey: testKey}
	logger.Info("config", "cfg", cfg)
	for _, text := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), c.String(), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c)} {
		if strings.Contains(text, testKey) {
			t.Errorf("formatting shows the API key: %s", text)
		}
	}
	out := mu.String()
	if !strings.Contains(out, "virtuous request") || !strings.Contains(out, "will be retried") {
		t.Errorf("log has no request or retry lines; the check proves nothing:\n%s", out)
	}
	if strings.Contains(out, testKey) {
		t.Errorf("log shows the API key:\n%s", out)
	}
}

// syncWriter serialises writes to a buffer shared by concurrent loggers.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.(*bytes.Buffer).String()
}

// FuzzErrorBody checks that no body, however shaped, panics the parser or
// gets the key into an error's text.
func FuzzErrorBody(f *testing.F) {
	for _, s := range []string{
		`{"error":{"code":"NOT_FOUND","message":"m","details":[{"field":"f","code":"c","message":"m"}]}}`,
		`{"error":"NotFound","error_description":"d","errors":{"f":["a","b"]},"message":"m"}`,
		`{"Message":"m","modelState":{"f":["x"]}}`, "Authorization has been denied for this request.",
		`"quoted"`, "<html>", "",
	} {
		f.Add([]byte(s), 0)
	}
	f.Fuzz(func(t *testing.T, body []byte, at int) {
		// Plant the key somewhere in the body.
		at = min(max(at, 0), len(body))
		planted := append(append(append([]byte(nil), body[:at]...), testKey...), body[at:]...)
		e := newAPIError("POST", "/api/v2/Gift/Transaction", 400, planted, testKey)
		if strings.Contains(e.Error(), testKey) {
			t.Fatalf("key in error text: %s", e.Error())
		}
	})
}
