//go:build faults

package faults_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"backstop/internal/apptest"
	"backstop/internal/virtuous"
)

// bodyRoute is a route that takes a body: a valid body for it, how to send
// one, and which JSON paths may legitimately take another type than the one
// in the valid body.
type bodyRoute struct {
	name         string
	method, path string // as routed, e.g. /api/v1/records/:kind/:platformID
	url          string // a concrete URL
	valid        string
	send         func(req *http.Request, body []byte)
	// tolerated maps a path (keys joined by ".", array elements as "[]")
	// to the JSON kinds it also accepts.
	tolerated map[string][]string
	// nulIn is a free-text value of the valid body that a NUL (\u0000)
	// is put into, which must be refused; "" for a route that keeps such a
	// string as it came (the webhook receiver).
	nulIn string
}

// Every route that takes a body gets oversized, truncated and wrongly-typed
// bodies. Each is refused with a clear 4xx — a JSON error with a message
// from the JSON API and the webhook receiver, a page that says why from the
// browser's forms (badforms_test.go) — and writes nothing to any table. A
// route missing from the tables fails the test, so that a new endpoint
// cannot skip this.
func TestBadBodiesOnEveryEndpoint(t *testing.T) {
	t.Parallel()
	e := apptest.New(t, apptest.Options{WebhookSecret: hookSecret})
	hookURL := webhookURL(t, e)
	routes := []bodyRoute{
		{
			name:   "PutGift",
			method: http.MethodPut, path: "/api/v1/records/:kind/:platformID", url: e.Web.URL + "/api/v1/records/gift/order-1",
			valid: `{"source":"stripe","source_ref":"pi_3MtwBwLkdIwHu7ix","livemode":false,"transaction":{"contact":{"firstName":"Ada",` +
				`"lastname":"Lovelace","email":"ada@example.org","address":{"city":"Oslo"}},"giftDate":"2026-11-01","giftType":"Credit",` +
				`"amount":"50.00","currencyCode":"USD","designations":[{"code":"FOOD","amountDesignated":"30"},{"code":"SHELTER","amountDesignated":"20.00"}]}}`,
			send:  func(req *http.Request, _ []byte) { req.Header.Set("Authorization", "Bearer "+e.Token) },
			nulIn: "Lovelace",
			tolerated: map[string][]string{
				"transaction.amount":                          {"number"},
				"transaction.designations[].amountDesignated": {"number"},
			},
		},
		{
			name:   "PutContact",
			method: http.MethodPut, path: "/api/v1/records/:kind/:platformID", url: e.Web.URL + "/api/v1/records/contact/member-1",
			valid: `{"source":"other","source_ref":"crm-1","transaction":{"firstName":"Member","lastName":"One",` +
				`"email":"m1@example.org","phone":"555-0100","city":"Oslo","postal":"0150"}}`,
			send:  func(req *http.Request, _ []byte) { req.Header.Set("Authorization", "Bearer "+e.Token) },
			nulIn: "Member",
		},
		{
			name:   "Webhook",
			method: http.MethodPost, path: "/webhooks/virtuous/:tenant/:token", url: hookURL,
			valid: `{"event":"GiftCreate","gift":{"id":42,"transactionSource":"Backstop-Stripe","transactionId":"pi_1","contactId":7,` +
				`"giftType":"Credit","giftDate":"2026-11-01T00:00:00","amount":25.5,"currencyCode":"USD",` +
				`"modifiedDateTimeUtc":"2026-11-02T10:00:00.123","giftDesignations":[{"projectId":3,"amountDesignated":25.5}]}}`,
			send: func(req *http.Request, body []byte) {
				req.Header.Set(virtuous.DefaultSignatureHeader, virtuous.Sign(hookSecret, body))
			},
			tolerated: map[string][]string{
				// Amounts arrive as numbers or strings (virtuous-api.md).
				"gift.amount": {"string"}, "gift.giftDesignations[].amountDesignated": {"string"},
			},
		},
	}

	for _, r := range routes {
		t.Run(r.name, func(t *testing.T) {
			if status, msg := post(t, r, []byte(r.valid)); status >= 300 {
				t.Fatalf("the valid body is refused (%d %s): the cases below would prove nothing", status, msg)
			}
			before := rowCounts(t, e)
			refuse := func(what string, body []byte, want int) {
				t.Helper()
				status, msg := post(t, r, body)
				if status < 400 || status >= 500 || (want != 0 && status != want) || msg == "" {
					t.Errorf("%s: got %d %q, want a 4xx JSON error with a message", what, status, msg)
				}
				if after := rowCounts(t, e); after != before {
					t.Errorf("%s: rows changed from %s to %s", what, before, after)
					before = after
				}
			}
			refuse("oversized", oversize(r.valid), http.StatusRequestEntityTooLarge)
			if r.nulIn != "" {
				// PostgreSQL's jsonb refuses \u0000: this was a 500.
				refuse("a name with a NUL character", []byte(strings.Replace(r.valid, r.nulIn, r.nulIn[:2]+`\u0000`+r.nulIn[2:], 1)), http.StatusBadRequest)
			}
			for n := range len(r.valid) {
				refuse(fmt.Sprintf("truncated to %d bytes", n), []byte(r.valid[:n]), http.StatusBadRequest)
			}
			cases := 0
			for _, m := range mutations(t, r.valid) {
				if slices.Contains(r.tolerated[m.path], m.kind) {
					// A tolerated type is accepted, or the list is stale.
					if m.same == nil {
						t.Fatalf("%s as %s: no same-value form to check the tolerance with", m.path, m.kind)
					}
					if status, msg := post(t, r, m.same); status >= 300 {
						t.Errorf("%s as %s is listed as tolerated but refused: %d %s", m.path, m.kind, status, msg)
					}
					before = rowCounts(t, e)
					continue
				}
				cases++
				refuse(fmt.Sprintf("%s as %s", m.path, m.kind), m.body, http.StatusBadRequest)
			}
			t.Logf("%s %s: oversized, %d truncations, %d wrongly-typed fields refused", r.method, r.path, len(r.valid), cases)
		})
	}
	var forms []formRoute
	t.Run("Forms", func(t *testing.T) { forms = testBadForms(t, e) })

	// Every body-taking route is covered.
	var missing []string
	for _, r := range e.Web.Config.Handler.(*echo.Echo).Routes() {
		if r.Method != http.MethodPost && r.Method != http.MethodPut && r.Method != http.MethodPatch && r.Method != http.MethodDelete {
			continue
		}
		if !slices.ContainsFunc(routes, func(b bodyRoute) bool { return b.method == r.Method && b.path == r.Path }) &&
			!slices.ContainsFunc(forms, func(f formRoute) bool { return f.method == r.Method && f.path == r.Path }) {
			missing = append(missing, r.Method+" "+r.Path)
		}
	}
	if len(missing) > 0 {
		t.Errorf("routes with no bad-body cases (add them to this test): %v", missing)
	}
}

// webhookURL is the tenant's webhook URL, read back from the subscription
// apptest made for the simulator.
func webhookURL(t *testing.T, e *apptest.Env) string {
	t.Helper()
	tok, err := e.App.Box.Open(e.Tenant.WebhookTokenEnc)
	if err != nil {
		t.Fatal(err)
	}
	return e.Web.URL + "/webhooks/virtuous/" + e.Tenant.Slug + "/" + tok
}

func post(t *testing.T, r bodyRoute, body []byte) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(r.method, r.url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	r.send(req, body)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var e struct {
		Error struct{ Message string }
	}
	json.Unmarshal(b, &e)
	return resp.StatusCode, e.Error.Message
}

// oversize pads the valid body's first string value past the 1 MiB limit.
func oversize(valid string) []byte {
	i := strings.Index(valid, `":"`) + 3
	return []byte(valid[:i] + strings.Repeat("x", 1<<20) + valid[i:])
}

type mutation struct {
	path, kind string
	body       []byte
	// same is the body with the value written as kind without changing
	// it ("30" as 30, 25.5 as "25.5"), where that is possible.
	same []byte
}

// replacements are values of each JSON kind; null is left out, since it
// reads as an absent field, which the required-field checks cover.
var replacements = map[string]any{"number": 12345, "string": "x", "bool": true, "array": []any{}, "object": map[string]any{}}

// mutations replaces each value of valid, one at a time, with a value of
// every other JSON kind.
func mutations(t *testing.T, valid string) []mutation {
	t.Helper()
	var root any
	if err := json.Unmarshal([]byte(valid), &root); err != nil {
		t.Fatal(err)
	}
	var out []mutation
	var walk func(v any, path string, set func(any))
	walk = func(v any, path string, set func(any)) {
		if path != "" {
			kinds := make([]string, 0, len(replacements))
			for k := range replacements {
				kinds = append(kinds, k)
			}
			sort.Strings(kinds)
			for _, k := range kinds {
				if k == kindOf(v) {
					continue
				}
				m := mutation{path: path, kind: k}
				set(replacements[k])
				m.body, _ = json.Marshal(root)
				if conv, ok := convert(v, k); ok {
					set(conv)
					m.same, _ = json.Marshal(root)
				}
				set(v)
				out = append(out, m)
			}
		}
		join := func(p, k string) string {
			if p == "" {
				return k
			}
			return p + "." + k
		}
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				walk(c, join(path, k), func(n any) { x[k] = n })
			}
		case []any:
			for i, c := range x {
				walk(c, path+"[]", func(n any) { x[i] = n })
			}
		}
	}
	walk(root, "", nil)
	return out
}

// convert writes v as kind without changing its value, where it can.
func convert(v any, kind string) (any, bool) {
	switch x := v.(type) {
	case float64:
		if kind == "string" {
			return strconv.FormatFloat(x, 'f', -1, 64), true
		}
	case string:
		if f, err := strconv.ParseFloat(x, 64); err == nil && kind == "number" {
			return f, true
		}
	}
	return nil, false
}

func kindOf(v any) string {
	switch v.(type) {
	case float64:
		return "number"
	case string:
		return "string"
	case bool:
		return "bool"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "null"
}

// rowCounts is the row count of every table, as one string to compare.
func rowCounts(t *testing.T, e *apptest.Env) string {
	t.Helper()
	var tables []string
	if err := e.App.Store.DB().Select(&tables, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`); err != nil {
		t.Fatal(err)
	}
	parts := make([]string, len(tables))
	for i, tb := range tables {
		parts[i] = fmt.Sprintf(`'%s=' || (SELECT count(*) FROM %q)`, tb, tb)
	}
	var s string
	if err := e.App.Store.DB().Get(&s, `SELECT `+strings.Join(parts, ` || ' ' || `)); err != nil {
		t.Fatal(err)
	}
	return s
}
