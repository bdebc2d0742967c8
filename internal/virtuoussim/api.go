package virtuoussim

import (
	"net/http"
	"net/url"
	"strings"
)

// apiHandler is an API endpoint, called with the caller's org resolved.
type apiHandler func(o *Org, w http.ResponseWriter, r *http.Request)

// routes builds the mux. Virtuous's routing (ASP.NET) ignores the case of
// path literals, so the mux is fronted by canonicalPath.
func (s *Sim) routes() http.Handler {
	mux := http.NewServeMux()
	api := func(pattern string, h apiHandler) { mux.Handle(pattern, s.api(pattern, h)) }

	api("POST /api/v2/Gift/Transaction", s.postGiftTransaction)
	api("POST /api/v2/Gift/Transactions", s.postGiftTransactions)
	api("POST /api/Contact/Transaction", s.postContactTransaction)
	api("GET /api/Gift/{id}", s.getGift)
	api("GET /api/Gift/{transactionSource}/{transactionId}", s.getGiftByTransaction)
	api("PUT /api/Gift/{id}", s.putGift)
	api("GET /api/Gift/ByContact/{contactId}", s.getGiftsByContact)
	api("GET /api/Contact/{id}", s.getContact)
	api("GET /api/Contact/{referenceSource}/{referenceId}", s.getContactByReference)
	api("GET /api/Contact/Find", s.findContact)
	api("GET /api/Contact/ByReference/{referenceId}", s.getContactByReferenceID)
	api("PUT /api/Contact/{id}", s.putContact)
	api("POST /api/Gift/Query/FullGift", s.queryGifts(true))
	api("POST /api/Gift/Query", s.queryGifts(false))
	api("POST /api/Contact/Query/FullContact", s.queryContacts(true))
	api("POST /api/Contact/Query", s.queryContacts(false))
	api("GET /api/Gift/QueryOptions", s.giftQueryOptions)
	api("GET /api/Contact/QueryOptions", s.contactQueryOptions)
	api("GET /api/Organization/Current", s.getOrganization)
	api("GET /api/Organization", s.getOrganization)
	api("POST /api/Webhook", s.postWebhook)
	api("GET /api/Webhook/{id}", s.getWebhook)
	api("PUT /api/Webhook/{id}", s.putWebhook)
	api("DELETE /api/Webhook/{id}", s.deleteWebhook)
	api("PUT /api/Webhook/{id}/Active", s.putWebhookActive)
	// Unknown routes still need a key and spend the budget, as in ASP.NET
	// where authorization runs before routing fails.
	api("/api/", func(o *Org, w http.ResponseWriter, r *http.Request) {
		o.writeError(w, http.StatusNotFound, styleLegacyMessage, "No HTTP resource was found that matches the request URI '"+r.URL.Path+"'.")
	})

	s.controlRoutes(mux)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		canonicalPath(r)
		mux.ServeHTTP(w, r)
	})
}

// api wraps an endpoint with what every Virtuous request goes through, in
// order: bearer auth (401 plain text), the per-endpoint counter, injected
// 429 bursts, the per-org rate limit (429), then the configured faults.
func (s *Sim) api(pattern string, h apiHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			// The scheme is case-insensitive in practice.
			if a := r.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
				tok, ok = a[7:], true
			}
		}
		var o *Org
		if ok {
			o = s.orgByKey(strings.TrimSpace(tok))
		}
		if o == nil {
			writeUnauthorized(w)
			return
		}
		o.count(func(c *Counters) { c.Requests[pattern]++ })
		if o.throttled(w) {
			o.writeError(w, http.StatusTooManyRequests, styleLegacyMessage, "API calls quota exceeded! Retry after "+
				w.Header().Get("Retry-After")+" seconds.")
			return
		}
		if !o.admit(w, o.rateLimit()) {
			o.writeError(w, http.StatusTooManyRequests, styleLegacyMessage, "API calls quota exceeded! maximum admitted "+
				w.Header().Get("X-RateLimit-Limit")+" per hour.")
			return
		}
		s.withFaults(o, w, r, func(w http.ResponseWriter, r *http.Request) {
			// Handlers render while holding the org's lock; buffering the
			// response and writing it after they return keeps a slow
			// client from holding that lock while its socket drains.
			rec := newRecorder()
			h(o, rec, r)
			rec.flushTo(w)
		})
	})
}

// canonical spellings of the API's path literals, by lower case.
var pathLiterals = func() map[string]string {
	m := map[string]string{}
	for _, l := range []string{"api", "v2", "Gift", "Contact", "Transaction", "Query", "FullGift", "FullContact",
		"QueryOptions", "Organization", "Current", "Webhook", "Active", "ByContact", "ByReference", "Find", "Transactions"} {
		m[strings.ToLower(l)] = l
	}
	return m
}()

// canonicalPath rewrites the case of the literal segments of /api/ paths
// (the first three, and "Query/FullGift"-style tails) so that
// /api/gift/query/fullgift routes like /api/Gift/Query/FullGift. Segments
// holding values (transaction sources and ids) are left alone.
func canonicalPath(r *http.Request) {
	esc := r.URL.EscapedPath()
	if len(esc) < 5 || !strings.EqualFold(esc[:5], "/api/") {
		return
	}
	segs := strings.Split(esc[1:], "/")
	changed := false
	fix := func(i int) {
		if i < len(segs) {
			if c, ok := pathLiterals[strings.ToLower(segs[i])]; ok && c != segs[i] {
				segs[i] = c
				changed = true
			}
		}
	}
	fix(0)
	fix(1)
	if len(segs) > 1 && segs[1] == "v2" {
		fix(2)
		fix(3)
	}
	// Third segments that could also be a transaction or reference source
	// are only rewritten where the shape of the request rules that out.
	if len(segs) > 2 {
		switch strings.ToLower(segs[2]) {
		case "query":
			if r.Method == http.MethodPost {
				fix(2)
				fix(3)
			}
		case "queryoptions", "current", "find", "transaction":
			if len(segs) == 3 {
				fix(2)
			}
		case "bycontact", "byreference":
			fix(2)
		}
	}
	if len(segs) == 4 && strings.EqualFold(segs[1], "webhook") {
		fix(3)
	}
	if !changed {
		return
	}
	p := "/" + strings.Join(segs, "/")
	if u, err := url.PathUnescape(p); err == nil {
		r.URL.Path = u
		r.URL.RawPath = p
	}
}
