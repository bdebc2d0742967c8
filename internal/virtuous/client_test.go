package virtuous

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"backstop/internal/derrors"
)

func TestEndpoints(t *testing.T) {
	t.Parallel()
	giftJSON := string(fixture(t, "gift.json"))
	contactJSON := string(fixture(t, "contact.json"))
	q := Query{Groups: []Group{{Conditions: []Condition{
		ModifiedOnOrAfter(time.Date(2024, 6, 1, 15, 4, 5, 0, time.UTC)),
		{Parameter: "Transaction Source", Operator: "Is", Value: "PartnerX-Stripe"},
	}}}, SortBy: "Gift Date"}
	qBody := `{"groups":[{"conditions":[{"parameter":"Last Modified Date","operator":"OnOrAfter","value":"2024-06-01"},
		{"parameter":"Transaction Source","operator":"Is","value":"PartnerX-Stripe"}]}],"sortBy":"Gift Date","descending":false}`
	tests := []struct {
		name       string
		call       func(ctx context.Context, c *Client) (any, error)
		respBody   string
		wantMethod string
		wantURI    string
		wantBody   string // JSON; "" for no body
		check      func(t *testing.T, got any)
	}{
		{
			name: "SubmitGift",
			call: func(ctx context.Context, c *Client) (any, error) {
				// The submit path sends the stored, canonical body unchanged.
				return nil, c.SubmitGift(ctx, json.RawMessage(`{"transactionSource":"PartnerX-Stripe","transactionId":"pi_3Nx",
				"contact":{"referenceId":"cus_9","type":"Household","firstname":"Ada","middlename":"King","lastname":"Lovelace",
				  "emailType":"Home Email","email":"ada@example.org","address":{"address1":"1 St James's Square","city":"London","country":"GB"}},
				"giftDate":"2024-06-01","giftType":"Credit","amount":"500.00","currencyCode":"USD","notes":"ch_1 & <pi_3Nx>",
				"isTaxDeductible":true,"designations":[{"code":"GEN","amountDesignated":"500.00"}],"customFields":{"Campaign":"Spring"}}`))
			},
			respBody:   "",
			wantMethod: "POST", wantURI: "/api/v2/Gift/Transaction",
			wantBody: `{"transactionSource":"PartnerX-Stripe","transactionId":"pi_3Nx",
				"contact":{"referenceId":"cus_9","type":"Household","firstname":"Ada","middlename":"King","lastname":"Lovelace",
				  "emailType":"Home Email","email":"ada@example.org","address":{"address1":"1 St James's Square","city":"London","country":"GB"}},
				"giftDate":"2024-06-01","giftType":"Credit","amount":"500.00","currencyCode":"USD","notes":"ch_1 & <pi_3Nx>",
				"isTaxDeductible":true,"designations":[{"code":"GEN","amountDesignated":"500.00"}],"customFields":{"Campaign":"Spring"}}`,
		},
		{
			name: "SubmitGiftAcceptsAnyBody",
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.SubmitGift(ctx, map[string]string{"transactionId": "x"})
			},
			respBody:   giftJSON,
			wantMethod: "POST", wantURI: "/api/v2/Gift/Transaction", wantBody: `{"transactionId":"x"}`,
		},
		{
			name: "SubmitContact",
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.SubmitContact(ctx, json.RawMessage(`{"referenceSource":"Backstop Stripe","referenceId":"cus_9","contactType":"Household","firstName":"Ada",
				"lastName":"Lovelace","emailType":"Home Email","email":"ada@example.org","address1":"1 St James's Square",
				"postal":"SW1Y 4JH","tags":"donor;2024"}`))
			},
			respBody:   "{}",
			wantMethod: "POST", wantURI: "/api/Contact/Transaction",
			wantBody: `{"referenceSource":"Backstop Stripe","referenceId":"cus_9","contactType":"Household","firstName":"Ada",
				"lastName":"Lovelace","emailType":"Home Email","email":"ada@example.org","address1":"1 St James's Square",
				"postal":"SW1Y 4JH","tags":"donor;2024"}`,
		},
		{
			name: "GiftByTransaction",
			call: func(ctx context.Context, c *Client) (any, error) {
				g, ok, err := c.GiftByTransaction(ctx, "Face to Face 012025", "pi_1")
				return [2]any{g, ok}, err
			},
			respBody:   giftJSON,
			wantMethod: "GET", wantURI: "/api/Gift/Face%20to%20Face%20012025/pi_1",
			check: wantFound[Gift](1),
		},
		{
			name: "ContactByReference",
			call: func(ctx context.Context, c *Client) (any, error) {
				g, ok, err := c.ContactByReference(ctx, "Backstop Stripe", "cus_9")
				return [2]any{g, ok}, err
			},
			respBody:   contactJSON,
			wantMethod: "GET", wantURI: "/api/Contact/Backstop%20Stripe/cus_9",
			check: wantFound[Contact](1),
		},
		{
			name: "Gift",
			call: func(ctx context.Context, c *Client) (any, error) {
				g, ok, err := c.Gift(ctx, 42)
				return [2]any{g, ok}, err
			},
			respBody:   giftJSON,
			wantMethod: "GET", wantURI: "/api/Gift/42",
			check: wantFound[Gift](1),
		},
		{
			name: "Contact",
			call: func(ctx context.Context, c *Client) (any, error) {
				g, ok, err := c.Contact(ctx, 7)
				return [2]any{g, ok}, err
			},
			respBody:   contactJSON,
			wantMethod: "GET", wantURI: "/api/Contact/7",
			check: wantFound[Contact](1),
		},
		{
			name: "UpdateGift",
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.UpdateGift(ctx, 42, map[string]any{"notes": "fixed", "amount": "12.00"})
			},
			respBody:   giftJSON,
			wantMethod: "PUT", wantURI: "/api/Gift/42", wantBody: `{"notes":"fixed","amount":"12.00"}`,
		},
		{
			name: "UpdateContact",
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.UpdateContact(ctx, 7, json.RawMessage(`{"name":"The Lovelaces"}`))
			},
			wantMethod: "PUT", wantURI: "/api/Contact/7", wantBody: `{"name":"The Lovelaces"}`,
		},
		{
			name:       "QueryGifts",
			call:       func(ctx context.Context, c *Client) (any, error) { return c.QueryGifts(ctx, q, 2000, 1000) },
			respBody:   `{"list":[` + giftJSON + `],"total":2001}`,
			wantMethod: "POST", wantURI: "/api/Gift/Query/FullGift?skip=2000&take=1000", wantBody: qBody,
			check: func(t *testing.T, got any) {
				p := got.(*Page[Gift])
				if p.Total != 2001 || len(p.List) != 1 || p.List[0].ID != 1 {
					t.Errorf("got total %d with %d gifts, want 2001 with gift 1", p.Total, len(p.List))
				}
			},
		},
		{
			name:       "QueryContacts",
			call:       func(ctx context.Context, c *Client) (any, error) { return c.QueryContacts(ctx, Query{}, 0, 10) },
			respBody:   `{"list":[` + contactJSON + `],"total":1}`,
			wantMethod: "POST", wantURI: "/api/Contact/Query/FullContact?skip=0&take=10",
			wantBody: `{"groups":[],"descending":false}`,
		},
		{
			name:       "GiftQueryOptions",
			call:       func(ctx context.Context, c *Client) (any, error) { return c.GiftQueryOptions(ctx) },
			respBody:   string(fixture(t, "query_options.json")),
			wantMethod: "GET", wantURI: "/api/Gift/QueryOptions",
		},
		{
			name:       "ContactQueryOptions",
			call:       func(ctx context.Context, c *Client) (any, error) { return c.ContactQueryOptions(ctx) },
			respBody:   `{"options":[]}`,
			wantMethod: "GET", wantURI: "/api/Contact/QueryOptions",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, rec := serve(t, respond(200, tt.respBody))
			// A base URL with a path prefix and a trailing slash: both kept/trimmed.
			c := newClient(t, srv.URL+"/virtuous/")
			got, err := tt.call(testCtx(t), c)
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			reqs := rec.requests()
			if len(reqs) != 1 {
				t.Fatalf("got %d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.Method != tt.wantMethod || r.URI != "/virtuous"+tt.wantURI {
				t.Errorf("got %s %s, want %s /virtuous%s", r.Method, r.URI, tt.wantMethod, tt.wantURI)
			}
			if r.Auth != "Bearer "+testKey || r.Accept != "application/json" {
				t.Errorf("got Authorization %q Accept %q, want the bearer key and application/json", r.Auth, r.Accept)
			}
			if tt.wantBody == "" && len(r.Body) != 0 {
				t.Errorf("got body %s, want none", r.Body)
			}
			if tt.wantBody != "" {
				if r.ContentType != "application/json" {
					t.Errorf("got Content-Type %q, want application/json", r.ContentType)
				}
				if d := jsonDiff(t, r.Body, []byte(tt.wantBody)); d != "" {
					t.Errorf("body mismatch (-want +got):\n%s", d)
				}
			}
			if tt.check != nil {
				tt.check(t, got)
			}
			if c.Calls() != 1 {
				t.Errorf("got Calls() = %d, want 1", c.Calls())
			}
		})
	}
}

func wantFound[T Gift | Contact](id int64) func(*testing.T, any) {
	return func(t *testing.T, got any) {
		pair := got.([2]any)
		v, ok := pair[0].(*T), pair[1].(bool)
		if !ok || v == nil {
			t.Fatalf("got found=%v %v, want found", ok, v)
		}
		var gotID int64
		switch x := any(v).(type) {
		case *Gift:
			gotID = x.ID
		case *Contact:
			gotID = x.ID
		}
		if gotID != id {
			t.Errorf("got id %d, want %d", gotID, id)
		}
	}
}

func TestSubmitRawJSONPassesThroughUnchanged(t *testing.T) {
	t.Parallel()
	srv, rec := serve(t, respond(200, ""))
	c := newClient(t, srv.URL)
	raw := json.RawMessage("{ \"transactionSource\" : \"S\",\n \"amount\": 10.50, \"notes\": \"<&>\" }")
	if err := c.SubmitGift(testCtx(t), raw); err != nil {
		t.Fatal(err)
	}
	if got := string(rec.requests()[0].Body); got != string(raw) {
		t.Errorf("got body %q, want it byte for byte: %q", got, raw)
	}
}

func TestSubmitRefusesBadBodiesWithoutSending(t *testing.T) {
	t.Parallel()
	srv, rec := serve(t, respond(200, ""))
	c := newClient(t, srv.URL)
	for _, body := range []any{nil, json.RawMessage(`{"a":`), []byte("not json"), make(chan int)} {
		err := c.SubmitGift(testCtx(t), body)
		if err == nil {
			t.Errorf("body %T: got success, want an error", body)
		}
	}
	if rec.count() != 0 {
		t.Errorf("got %d requests, want none", rec.count())
	}
}

func TestLookupEscapesPathSegments(t *testing.T) {
	t.Parallel()
	tests := []struct{ source, id, wantPath string }{
		{"Face to Face 012025", "973030087", "/api/Gift/Face%20to%20Face%20012025/973030087"},
		{"PartnerX-Stripe", "a/b", "/api/Gift/PartnerX-Stripe/a%2Fb"},
		{"S", "100%", "/api/Gift/S/100%25"},
		{"S", "q?x=1#frag", "/api/Gift/S/q%3Fx=1%23frag"},
		{"S", "a+b", "/api/Gift/S/a+b"},
		{"Ünïcode", "ëvent", "/api/Gift/%C3%9Cn%C3%AFcode/%C3%ABvent"},
		{"S", "...", "/api/Gift/S/..."},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			t.Parallel()
			var gotSegs []string
			srv, rec := serve(t, func(w http.ResponseWriter, r *http.Request, _ int) {
				for _, s := range strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/api/Gift/"), "/") {
					u, _ := url.PathUnescape(s)
					gotSegs = append(gotSegs, u)
				}
				w.WriteHeader(404)
			})
			c := newClient(t, srv.URL)
			_, _, err := c.GiftByTransaction(testCtx(t), tt.source, tt.id)
			if err != nil {
				t.Fatal(err)
			}
			if got := rec.requests()[0].URI; got != tt.wantPath {
				t.Errorf("got request URI %s, want %s", got, tt.wantPath)
			}
			if len(gotSegs) != 2 || gotSegs[0] != tt.source || gotSegs[1] != tt.id {
				t.Errorf("server decoded segments %q, want [%q %q]", gotSegs, tt.source, tt.id)
			}
		})
	}
}

func TestLookupRefusesUnusableReferences(t *testing.T) {
	t.Parallel()
	srv, rec := serve(t, respond(200, "{}"))
	c := newClient(t, srv.URL)
	ctx := testCtx(t)
	for _, ref := range [][2]string{{"", "1"}, {"S", ""}, {"S", " "}, {"S", ".."}, {".", "1"}} {
		if _, _, err := c.GiftByTransaction(ctx, ref[0], ref[1]); !errors.Is(err, derrors.InvalidArgument) {
			t.Errorf("GiftByTransaction(%q, %q): got %v, want InvalidArgument", ref[0], ref[1], err)
		}
		if _, _, err := c.ContactByReference(ctx, ref[0], ref[1]); !errors.Is(err, derrors.InvalidArgument) {
			t.Errorf("ContactByReference(%q, %q): got %v, want InvalidArgument", ref[0], ref[1], err)
		}
	}
	if _, _, err := c.Gift(ctx, 0); !errors.Is(err, derrors.InvalidArgument) {
		t.Errorf("Gift(0): got %v, want InvalidArgument", err)
	}
	if err := c.UpdateContact(ctx, -1, map[string]string{}); !errors.Is(err, derrors.InvalidArgument) {
		t.Errorf("UpdateContact(-1): got %v, want InvalidArgument", err)
	}
	if rec.count() != 0 {
		t.Errorf("got %d requests, want none", rec.count())
	}
}

func TestLookupNotFound(t *testing.T) {
	t.Parallel()
	bodies := []string{
		`{"error":"NotFound","error_description":"Gift could not be found"}`,
		`{"error":{"code":"NOT_FOUND","message":"Gift not found"}}`,
		"",
	}
	for i, body := range bodies {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			t.Parallel()
			srv, rec := serve(t, respond(404, body))
			c := newClient(t, srv.URL)
			ctx := testCtx(t)
			calls := []func() (bool, bool, error){
				func() (bool, bool, error) { g, ok, err := c.GiftByTransaction(ctx, "S", "1"); return g == nil, ok, err },
				func() (bool, bool, error) {
					g, ok, err := c.ContactByReference(ctx, "S", "1")
					return g == nil, ok, err
				},
				func() (bool, bool, error) { g, ok, err := c.Gift(ctx, 1); return g == nil, ok, err },
				func() (bool, bool, error) { g, ok, err := c.Contact(ctx, 1); return g == nil, ok, err },
			}
			for j, call := range calls {
				isNil, ok, err := call()
				if !isNil || ok || err != nil {
					t.Errorf("lookup %d: got nil=%v found=%v err=%v, want (nil, false, nil)", j, isNil, ok, err)
				}
			}
			if rec.count() != len(calls) {
				t.Errorf("got %d requests, want %d (a 404 is not retried)", rec.count(), len(calls))
			}
		})
	}
}

func TestLookupEmptySuccessIsAnError(t *testing.T) {
	t.Parallel()
	for _, body := range []string{"", "null", "  \n", "<html>"} {
		srv, _ := serve(t, respond(200, body))
		c := newClient(t, srv.URL)
		g, ok, err := c.Gift(testCtx(t), 1)
		if err == nil || ok || g != nil {
			t.Errorf("200 with %q: got %v %v %v, want an error", body, g, ok, err)
		}
	}
}

func TestSubmitNotFoundIsAnError(t *testing.T) {
	t.Parallel()
	srv, _ := serve(t, respond(404, ""))
	c := newClient(t, srv.URL)
	err := c.SubmitGift(testCtx(t), map[string]string{})
	if !errors.Is(err, derrors.NotFound) {
		t.Errorf("got %v, want an error that is NotFound", err)
	}
}

func TestRetriesServerErrorsThenSucceeds(t *testing.T) {
	t.Parallel()
	for _, status := range []int{500, 502, 503, 504, 520} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			t.Parallel()
			srv, rec := serve(t, func(w http.ResponseWriter, _ *http.Request, n int) {
				if n < 3 {
					w.WriteHeader(status)
					return
				}
				io.WriteString(w, `{"id":5}`)
			})
			c := newClient(t, srv.URL)
			g, ok, err := c.Gift(testCtx(t), 5)
			if err != nil || !ok || g.ID != 5 {
				t.Fatalf("got %v %v %v, want gift 5", g, ok, err)
			}
			if rec.count() != 3 || c.Calls() != 3 {
				t.Errorf("got %d requests (Calls %d), want 3", rec.count(), c.Calls())
			}
		})
	}
}

func TestServerErrorsExhaustAttempts(t *testing.T) {
	t.Parallel()
	srv, rec := serve(t, respond(503, `{"error":{"code":"UNAVAILABLE","message":"try later"}}`))
	c := newClient(t, srv.URL, func(c *Config) { c.MaxAttempts = 4 })
	err := c.SubmitGift(testCtx(t), map[string]string{"transactionId": "1"})
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 503 || ae.Code != "UNAVAILABLE" {
		t.Fatalf("got %v, want a 503 APIError", err)
	}
	if rec.count() != 4 {
		t.Errorf("got %d requests, want MaxAttempts = 4", rec.count())
	}
}

func TestClientErrorsAreNotRetried(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status int
		is     error
	}{
		{400, derrors.InvalidArgument},
		{401, derrors.Unauthenticated},
		{403, nil},
		{409, nil},
		{422, nil},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.status), func(t *testing.T) {
			t.Parallel()
			srv, rec := serve(t, respond(tt.status, `{"error":"Bad","error_description":"nope"}`))
			c := newClient(t, srv.URL)
			err := c.SubmitGift(testCtx(t), map[string]string{"transactionId": "1"})
			var ae *APIError
			if !errors.As(err, &ae) || ae.Status != tt.status || ae.Retryable() {
				t.Fatalf("got %v, want a non-retryable %d APIError", err, tt.status)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("got %v, want it to be %v", err, tt.is)
			}
			if rec.count() != 1 {
				t.Errorf("got %d requests, want exactly 1", rec.count())
			}
		})
	}
}

func TestRateLimitedWaitsRetryAfter(t *testing.T) {
	t.Parallel()
	srv, rec := serve(t, func(w http.ResponseWriter, _ *http.Request, n int) {
		if n == 1 {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(429)
			return
		}
		io.WriteString(w, "{}")
	})
	// Backoff alone would wait milliseconds; only Retry-After asks for 7s.
	c := newClient(t, srv.URL)
	w := recordWaits(c)
	if err := c.SubmitContact(testCtx(t), json.RawMessage(`{"referenceId":"1"}`)); err != nil {
		t.Fatal(err)
	}
	if got := w.got(); len(got) != 1 || got[0] != 7*time.Second {
		t.Errorf("waited %v, want once for the 7s Retry-After", got)
	}
	if rec.count() != 2 {
		t.Errorf("got %d requests, want 2", rec.count())
	}
}

func TestRateLimitedWaitsUntilReset(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	srv, rec := serve(t, func(w http.ResponseWriter, _ *http.Request, n int) {
		if n == 1 {
			// No Retry-After: the window's reset, as Unix seconds, 45s away.
			w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(now.Add(45*time.Second).Unix(), 10))
			w.WriteHeader(429)
			return
		}
		io.WriteString(w, "{}")
	})
	c := newClient(t, srv.URL)
	c.now = func() time.Time { return now }
	w := recordWaits(c)
	if err := c.SubmitGift(testCtx(t), map[string]string{}); err != nil {
		t.Fatal(err)
	}
	if got := w.got(); len(got) != 1 || got[0] != 45*time.Second {
		t.Errorf("waited %v, want once until the reset 45s away", got)
	}
	if rec.count() != 2 {
		t.Errorf("got %d requests, want 2", rec.count())
	}
}

func TestRateLimitedTooLongReturnsAtOnce(t *testing.T) {
	t.Parallel()
	srv, rec := serve(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		w.Header().Set("Retry-After", "3600")
		w.WriteHeader(429)
	})
	c := newClient(t, srv.URL, func(c *Config) { c.MaxRetryAfter = 2 * time.Second })
	w := recordWaits(c)
	err := c.SubmitGift(testCtx(t), map[string]string{})
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 429 || ae.RetryAfter != time.Hour {
		t.Fatalf("got %v, want a 429 APIError with RetryAfter 1h", err)
	}
	if got := w.got(); len(got) != 0 || rec.count() != 1 {
		t.Errorf("waited %v and sent %d requests, want an immediate return after 1", got, rec.count())
	}
}

func TestTimeoutsAreRetried(t *testing.T) {
	t.Parallel()
	srv, rec := serve(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			<-r.Context().Done() // never answers; the client's timeout ends it
			return
		}
		io.WriteString(w, `{"id":9}`)
	})
	c := newClient(t, srv.URL, func(c *Config) { c.Timeout = 100 * time.Millisecond })
	w := recordWaits(c)
	g, ok, err := c.Gift(testCtx(t), 9)
	if err != nil || !ok || g.ID != 9 {
		t.Fatalf("got %v %v %v, want gift 9 after a retry", g, ok, err)
	}
	if got := w.got(); len(got) != 1 || got[0] > time.Millisecond {
		t.Errorf("waited %v, want one backoff of at most the 1ms base", got)
	}
	if rec.count() != 2 {
		t.Errorf("got %d requests, want 2", rec.count())
	}
}

func TestTimeoutsExhaustAttempts(t *testing.T) {
	t.Parallel()
	srv, rec := serve(t, func(w http.ResponseWriter, r *http.Request, _ int) { <-r.Context().Done() })
	c := newClient(t, srv.URL, func(c *Config) { c.QueryTimeout = 50 * time.Millisecond; c.MaxAttempts = 3 })
	_, err := c.QueryGifts(testCtx(t), Query{}, 0, 10)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no response within 50ms") {
		t.Errorf("got %v, want a per-attempt timeout", err)
	}
	if rec.count() != 3 {
		t.Errorf("got %d requests, want 3", rec.count())
	}
}

func TestConnectionErrorsAreRetried(t *testing.T) {
	t.Parallel()
	srv, rec := serve(t, func(w http.ResponseWriter, _ *http.Request, n int) {
		if n == 1 {
			// Drop the connection without an answer.
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		io.WriteString(w, "{}")
	})
	c := newClient(t, srv.URL)
	if err := c.SubmitGift(testCtx(t), map[string]string{}); err != nil {
		t.Fatalf("got %v, want success after a dropped connection", err)
	}
	if rec.count() != 2 {
		t.Errorf("got %d requests, want 2", rec.count())
	}
}

func TestConnectionRefusedExhaustsAttempts(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens here now
	c := newClient(t, "http://"+addr, func(c *Config) { c.MaxAttempts = 3 })
	_, _, err = c.Gift(testCtx(t), 1)
	if err == nil || !strings.Contains(err.Error(), "GET /api/Gift/1") {
		t.Errorf("got %v, want a connection error naming the call", err)
	}
	if c.Calls() != 3 {
		t.Errorf("got %d attempts, want 3", c.Calls())
	}
}

// A cancel stops the client where it is: while it waits to retry (the
// wait is an hour, so a wait that ignored the cancel would hang the test)
// and during a request; nothing is sent after it.
func TestCancelStops(t *testing.T) {
	t.Parallel()
	// cancelThenWait cancels ctx as the client starts to wait, then waits
	// the way the client does.
	cancelThenWait := func(c *Client, cancel context.CancelFunc) *waits {
		w := &waits{then: func(ctx context.Context, d time.Duration) error {
			cancel()
			return sleep(ctx, d)
		}}
		c.sleep = w.sleep
		return w
	}
	t.Run("DuringBackoff", func(t *testing.T) {
		t.Parallel()
		srv, rec := serve(t, respond(503, ""))
		c := newClient(t, srv.URL, func(c *Config) { c.BaseBackoff, c.MaxBackoff = time.Hour, time.Hour })
		ctx, cancel := context.WithCancel(context.Background())
		w := cancelThenWait(c, cancel)
		err := c.SubmitGift(ctx, map[string]string{})
		var ae *APIError
		if !errors.Is(err, context.Canceled) || !errors.As(err, &ae) || ae.Status != 503 {
			t.Errorf("got %v, want the cancellation and the 503 it cut short", err)
		}
		if len(w.got()) != 1 || rec.count() != 1 {
			t.Errorf("waited %v and sent %d requests, want one wait and no retry", w.got(), rec.count())
		}
	})
	t.Run("DuringRetryAfter", func(t *testing.T) {
		t.Parallel()
		srv, rec := serve(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
			w.Header().Set("Retry-After", "50")
			w.WriteHeader(429)
		})
		c := newClient(t, srv.URL)
		ctx, cancel := context.WithCancel(context.Background())
		w := cancelThenWait(c, cancel)
		err := c.SubmitGift(ctx, map[string]string{})
		var ae *APIError
		if !errors.Is(err, context.Canceled) || !errors.As(err, &ae) || ae.Status != 429 {
			t.Errorf("got %v, want the cancellation and the 429 it cut short", err)
		}
		if got := w.got(); len(got) != 1 || got[0] != 50*time.Second || rec.count() != 1 {
			t.Errorf("waited %v and sent %d requests, want the 50s Retry-After cut short and no retry", got, rec.count())
		}
	})
	t.Run("DuringRequest", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		srv, _ := serve(t, func(w http.ResponseWriter, r *http.Request, _ int) {
			cancel() // the request has arrived: cancel it mid-way
			<-r.Context().Done()
		})
		c := newClient(t, srv.URL)
		_, _, err := c.Gift(ctx, 1)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
		if c.Calls() != 1 {
			t.Errorf("got %d attempts, want 1 (no retry after cancel)", c.Calls())
		}
	})
}

// sleep waits the full time, or returns at once with the cause when ctx is
// done; an hour's wait under a cancelled context must not block.
func TestSleep(t *testing.T) {
	t.Parallel()
	if err := sleep(context.Background(), time.Microsecond); err != nil {
		t.Errorf("a full wait: got %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled wait: got %v, want context.Canceled", err)
	}
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	t.Parallel()
	srv, rec := serve(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	})
	c := newClient(t, srv.URL)
	err := c.SubmitGift(testCtx(t), map[string]string{})
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 302 {
		t.Errorf("got %v, want a 302 APIError", err)
	}
	if rec.count() != 1 {
		t.Errorf("got %d requests, want 1", rec.count())
	}
}

// fakeBudget records the client's use of a Budget.
type fakeBudget struct {
	mu       sync.Mutex
	reserves int
	seen     []RateInfo
	refuse   error
}

func (b *fakeBudget) Reserve(context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.reserves++
	return b.refuse
}

func (b *fakeBudget) Observe(_ context.Context, r RateInfo) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seen = append(b.seen, r)
}

func TestBudgetIsAskedAndTold(t *testing.T) {
	t.Parallel()
	reset := time.Now().Add(30 * time.Minute).Truncate(time.Second)
	srv, _ := serve(t, func(w http.ResponseWriter, _ *http.Request, n int) {
		switch n {
		case 1: // a 429 without rate headers
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(429)
		case 2: // a 5xx without headers: nothing to observe
			w.WriteHeader(500)
		default:
			w.Header().Set("X-RateLimit-Limit", "5000")
			w.Header().Set("X-RateLimit-Remaining", "4321")
			w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
			io.WriteString(w, "{}")
		}
	})
	b := &fakeBudget{}
	c := newClient(t, srv.URL, func(c *Config) { c.Budget = b })
	if err := c.SubmitGift(testCtx(t), map[string]string{}); err != nil {
		t.Fatal(err)
	}
	if b.reserves != 3 {
		t.Errorf("got %d reservations, want one per attempt (3)", b.reserves)
	}
	want := []RateInfo{
		{Status: 429},
		{Status: 200, Limit: 5000, Remaining: 4321, Reset: reset, HasHeaders: true},
	}
	if len(b.seen) != len(want) {
		t.Fatalf("got observations %+v, want %+v", b.seen, want)
	}
	for i := range want {
		g, w := b.seen[i], want[i]
		if g.Status != w.Status || g.Limit != w.Limit || g.Remaining != w.Remaining || !g.Reset.Equal(w.Reset) || g.HasHeaders != w.HasHeaders {
			t.Errorf("observation %d: got %+v, want %+v", i, g, w)
		}
	}
}

func TestBudgetRefusalSendsNothing(t *testing.T) {
	t.Parallel()
	srv, rec := serve(t, respond(200, "{}"))
	b := &fakeBudget{refuse: fmt.Errorf("%w: resets at 12:00", derrors.BudgetExhausted)}
	c := newClient(t, srv.URL, func(c *Config) { c.Budget = b })
	err := c.SubmitGift(testCtx(t), map[string]string{})
	if !errors.Is(err, derrors.BudgetExhausted) || !strings.Contains(err.Error(), "resets at 12:00") {
		t.Errorf("got %v, want BudgetExhausted with its reset time", err)
	}
	if rec.count() != 0 || c.Calls() != 0 || b.reserves != 1 {
		t.Errorf("got %d requests, %d calls, %d reservations; want 0, 0, 1 (no retry)", rec.count(), c.Calls(), b.reserves)
	}
}

func TestParseRateInfo(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		h    map[string]string
		want RateInfo
	}{
		{"None", nil, RateInfo{Status: 200}},
		{"All", map[string]string{"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "12", "X-RateLimit-Reset": "1772370000"},
			RateInfo{Status: 200, Limit: 5000, Remaining: 12, Reset: time.Unix(1772370000, 0), HasHeaders: true}},
		{"ResetAsDelta", map[string]string{"X-RateLimit-Reset": "90"},
			RateInfo{Status: 200, Reset: now.Add(90 * time.Second)}},
		{"LimitOnlyIsNotZeroRemaining", map[string]string{"X-RateLimit-Limit": "1500"}, RateInfo{Status: 200, Limit: 1500}},
		{"NegativeRemaining", map[string]string{"X-RateLimit-Remaining": "-3"}, RateInfo{Status: 200, HasHeaders: true}},
		{"Garbage", map[string]string{"X-RateLimit-Limit": "lots", "Retry-After": "soon"}, RateInfo{Status: 200}},
		{"RetryAfterSeconds", map[string]string{"Retry-After": "7"}, RateInfo{Status: 200, RetryAfter: 7 * time.Second}},
		{"RetryAfterDate", map[string]string{"Retry-After": now.Add(time.Minute).Format(http.TimeFormat)},
			RateInfo{Status: 200, RetryAfter: time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tt.h {
				h.Set(k, v)
			}
			got := parseRateInfo(h, 200, now)
			if got.Limit != tt.want.Limit || got.Remaining != tt.want.Remaining || !got.Reset.Equal(tt.want.Reset) ||
				got.RetryAfter != tt.want.RetryAfter || got.HasHeaders != tt.want.HasHeaders {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestBackoffIsBoundedFullJitter(t *testing.T) {
	t.Parallel()
	c := newClient(t, "https://api.virtuoussoftware.com", func(c *Config) {
		c.BaseBackoff, c.MaxBackoff = 500*time.Millisecond, 30*time.Second
	})
	for n := 1; n <= 80; n++ {
		ceiling := min(30*time.Second, 500*time.Millisecond<<min(n-1, 20))
		for range 50 {
			if d := c.backoff(n); d < 0 || d > ceiling {
				t.Fatalf("attempt %d: got wait %v, want within [0, %v]", n, d, ceiling)
			}
		}
	}
}

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	tests := []Config{
		{BaseURL: "", APIKey: testKey},
		{BaseURL: "ftp://x", APIKey: testKey},
		{BaseURL: "https://", APIKey: testKey},
		{BaseURL: "https://api.virtuoussoftware.com?key=" + testKey, APIKey: testKey},
		{BaseURL: "https://api.virtuoussoftware.com", APIKey: ""},
		{BaseURL: "https://api.virtuoussoftware.com", APIKey: "two words"},
		{BaseURL: "https://api.virtuoussoftware.com", APIKey: "line\nbreak"},
		{BaseURL: "https://api.virtuoussoftware.com", APIKey: testKey, MaxAttempts: -1},
		{BaseURL: "https://api.virtuoussoftware.com", APIKey: testKey, Timeout: -time.Second},
	}
	for _, cfg := range tests {
		_, err := New(cfg)
		if !errors.Is(err, derrors.InvalidArgument) {
			t.Errorf("New(%v): got %v, want InvalidArgument", cfg, err)
		}
		if err != nil && strings.Contains(err.Error(), testKey) {
			t.Errorf("New(%v): error %q shows the key", cfg, err)
		}
	}
	c, err := New(Config{BaseURL: "https://api.virtuoussoftware.com/", APIKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	if c.maxAttempts != 5 || c.timeout != 30*time.Second || c.queryTimeout != 600*time.Second ||
		c.baseBackoff != 500*time.Millisecond || c.maxBackoff != 30*time.Second || c.base != "https://api.virtuoussoftware.com" {
		t.Errorf("got defaults %d %v %v %v %v %q, want 5 30s 600s 500ms 30s and no trailing slash",
			c.maxAttempts, c.timeout, c.queryTimeout, c.baseBackoff, c.maxBackoff, c.base)
	}
}

// A lookup or Query answered 200 with JSON cut short on the way is asked
// again, like a dropped connection; a write's body is never read, so a
// submission is not repeated for it.
func TestCutShortBodiesAreRetried(t *testing.T) {
	t.Parallel()
	srv, rec := serve(t, func(w http.ResponseWriter, req *http.Request, n int) {
		if n < 3 || !strings.HasPrefix(req.URL.Path, "/api/Gift/5") {
			io.WriteString(w, `{"id":5,"amou`)
			return
		}
		io.WriteString(w, `{"id":5}`)
	})
	c := newClient(t, srv.URL)
	g, ok, err := c.Gift(testCtx(t), 5)
	if err != nil || !ok || g.ID != 5 || rec.count() != 3 {
		t.Fatalf("got %v %v %v after %d requests, want gift 5 after 3", g, ok, err, rec.count())
	}
	if _, err := c.QueryGifts(testCtx(t), Query{}, 0, 10); err == nil || rec.count() != 3+5 {
		t.Errorf("query answered cut-short JSON every time: got %v after %d more requests, want an error after MaxAttempts (5)", err, rec.count()-3)
	}
	if err := c.SubmitGift(testCtx(t), map[string]string{"transactionId": "1"}); err != nil || rec.count() != 3+5+1 {
		t.Errorf("submit: got %v after %d requests, want success after 1", err, rec.count()-8)
	}
}

// resumeRefusal is a budget refusal that says when room comes back.
type resumeRefusal struct{ at time.Time }

func (r resumeRefusal) Error() string       { return "budget exhausted until " + r.at.String() }
func (r resumeRefusal) Unwrap() error       { return derrors.BudgetExhausted }
func (r resumeRefusal) ResumeAt() time.Time { return r.at }

// refuseOnce refuses its first reservation with a resumeRefusal.
type refuseOnce struct {
	fakeBudget
	at time.Time
}

func (b *refuseOnce) Reserve(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.reserves++
	if b.reserves == 1 {
		return resumeRefusal{b.at}
	}
	return nil
}

// A refusal that lifts within MaxRetryAfter (another call's 429) is waited
// out; one that lifts later is returned at once.
func TestBudgetShortRefusalIsWaitedOut(t *testing.T) {
	t.Parallel()
	srv, rec := serve(t, respond(200, "{}"))
	start := time.Now()
	b := &refuseOnce{at: start.Add(300 * time.Millisecond)}
	c := newClient(t, srv.URL, func(c *Config) { c.Budget = b; c.MaxRetryAfter = time.Second })
	if err := c.SubmitGift(testCtx(t), map[string]string{}); err != nil {
		t.Fatalf("got %v, want the call made once the budget allows it", err)
	}
	if rec.count() != 1 || b.reserves != 2 || time.Since(start) < 300*time.Millisecond {
		t.Errorf("got %d requests, %d reservations after %v; want 1 request, 2 reservations, after ≥ 300ms", rec.count(), b.reserves, time.Since(start))
	}
	long := &refuseOnce{at: time.Now().Add(time.Hour)}
	c = newClient(t, srv.URL, func(c *Config) { c.Budget = long; c.MaxRetryAfter = time.Second })
	if err := c.SubmitGift(testCtx(t), map[string]string{}); !errors.Is(err, derrors.BudgetExhausted) || rec.count() != 1 {
		t.Errorf("an hour-long refusal: got %v after %d more requests, want BudgetExhausted at once", err, rec.count()-1)
	}
}
