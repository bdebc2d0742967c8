package virtuoussim

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"
)

// The control API lets another process (the demo, fault tests, a person
// with curl) drive the simulator as the Go API does: it plays the Virtuous
// user and the operator. It needs no key and is not rate limited or
// fault-injected; the simulator is meant to listen on loopback only, so
// anyone who can reach it may steer it.
//
//	GET  /_sim/healthz
//	GET  /_sim/clock                          {"now","manual"}
//	POST /_sim/clock/advance                  {"duration":"6h"}   (manual clock only)
//	POST /_sim/clock/set                      {"time":"2024-06-01T00:00:00Z"}
//	POST /_sim/wait-idle?timeout=10s          wait for webhook deliveries to settle
//	GET  /_sim/orgs                           [{"id","name"}]
//	POST /_sim/orgs                           {"name","apiKey"}
//	POST /_sim/orgs/{org}/batch               → BatchResult
//	POST /_sim/orgs/{org}/clock/advance       {"duration":"6h"}
//	GET  /_sim/orgs/{org}/config              PUT overlays the fields given
//	POST /_sim/orgs/{org}/webhooks            {"url","secret","header"} → {"id"}
//	GET  /_sim/orgs/{org}/bucket              GET …/pending lists the holding state
//	POST /_sim/orgs/{org}/bucket/resolve      {"transactionSource","transactionId","contactId"}
//	POST /_sim/orgs/{org}/bucket/discard      {"transactionSource","transactionId"}
//	GET  /_sim/orgs/{org}/gifts               ?transactionSource=&transactionId= for one
//	POST /_sim/orgs/{org}/gifts               DirectGift → GiftSnapshot
//	POST /_sim/orgs/{org}/gifts/bulk          {"n":100000, …BulkGifts} → {"first","last","count"}
//	POST /_sim/orgs/{org}/gifts/bulk-modify   {"ids":[…]} or {"first","last"}, plus "edit":GiftEdit
//	POST /_sim/orgs/{org}/gifts/{id}/edit     GiftEdit
//	POST /_sim/orgs/{org}/gifts/{id}/delete
//	GET  /_sim/orgs/{org}/contacts
//	POST /_sim/orgs/{org}/contacts/{id}/edit  ContactEdit
//	POST /_sim/orgs/{org}/contacts/merge      {"from","into"}
//	GET  /_sim/orgs/{org}/counters            POST …/counters/reset zeroes them
func (s *Sim) controlRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /_sim/healthz", func(w http.ResponseWriter, r *http.Request) {
		ctlJSON(w, http.StatusOK, map[string]any{"ok": true})
	})
	mux.HandleFunc("GET /_sim/clock", func(w http.ResponseWriter, r *http.Request) {
		_, manual := s.clock.(*ManualClock)
		ctlJSON(w, http.StatusOK, map[string]any{"now": s.Now(), "manual": manual})
	})
	mux.HandleFunc("POST /_sim/clock/advance", s.ctlAdvance)
	mux.HandleFunc("POST /_sim/orgs/{org}/clock/advance", s.ctlAdvance)
	mux.HandleFunc("POST /_sim/clock/set", func(w http.ResponseWriter, r *http.Request) {
		mc, ok := s.clock.(*ManualClock)
		var body struct {
			Time time.Time `json:"time"`
		}
		if !ok {
			ctlError(w, http.StatusConflict, "the simulator runs on the real clock")
			return
		}
		if !ctlRead(w, r, &body) {
			return
		}
		mc.Set(body.Time)
		ctlJSON(w, http.StatusOK, map[string]any{"now": s.Now()})
	})
	mux.HandleFunc("POST /_sim/wait-idle", func(w http.ResponseWriter, r *http.Request) {
		d := 10 * time.Second
		if t := r.URL.Query().Get("timeout"); t != "" {
			if v, err := time.ParseDuration(t); err == nil {
				d = v
			}
		}
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		if err := s.WaitIdle(ctx); err != nil {
			ctlError(w, http.StatusRequestTimeout, "webhook deliveries still pending")
			return
		}
		ctlJSON(w, http.StatusOK, map[string]any{"idle": true})
	})
	mux.HandleFunc("GET /_sim/orgs", func(w http.ResponseWriter, r *http.Request) {
		type orgView struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
		}
		out := []orgView{}
		for _, o := range s.allOrgs() {
			out = append(out, orgView{o.id, o.name})
		}
		ctlJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("POST /_sim/orgs", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Name   string `json:"name"`
			APIKey string `json:"apiKey"`
		}
		if !ctlRead(w, r, &body) {
			return
		}
		if body.Name == "" || body.APIKey == "" {
			ctlError(w, http.StatusBadRequest, "name and apiKey are required")
			return
		}
		o := s.AddOrg(body.Name, body.APIKey)
		ctlJSON(w, http.StatusOK, map[string]any{"id": o.id, "name": o.name})
	})

	org := func(pattern string, h func(o *Org, w http.ResponseWriter, r *http.Request)) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			o := s.Org(r.PathValue("org"))
			if o == nil {
				ctlError(w, http.StatusNotFound, "no org "+strconv.Quote(r.PathValue("org")))
				return
			}
			h(o, w, r)
		})
	}
	org("POST /_sim/orgs/{org}/batch", func(o *Org, w http.ResponseWriter, r *http.Request) {
		ctlJSON(w, http.StatusOK, o.RunBatch())
	})
	org("GET /_sim/orgs/{org}/config", func(o *Org, w http.ResponseWriter, r *http.Request) {
		ctlJSON(w, http.StatusOK, o.Config())
	})
	org("PUT /_sim/orgs/{org}/config", func(o *Org, w http.ResponseWriter, r *http.Request) {
		c := o.Config()
		if !ctlRead(w, r, &c) {
			return
		}
		o.SetConfig(c)
		ctlJSON(w, http.StatusOK, o.Config())
	})
	org("POST /_sim/orgs/{org}/webhooks", func(o *Org, w http.ResponseWriter, r *http.Request) {
		var body struct {
			URL    string `json:"url"`
			Secret string `json:"secret"`
			Header string `json:"header"`
		}
		if !ctlRead(w, r, &body) {
			return
		}
		if body.URL == "" {
			ctlError(w, http.StatusBadRequest, "url is required")
			return
		}
		ctlJSON(w, http.StatusOK, map[string]any{"id": o.Subscribe(body.URL, body.Secret, body.Header)})
	})
	org("GET /_sim/orgs/{org}/bucket", func(o *Org, w http.ResponseWriter, r *http.Request) {
		ctlJSON(w, http.StatusOK, o.Bucket())
	})
	org("GET /_sim/orgs/{org}/pending", func(o *Org, w http.ResponseWriter, r *http.Request) {
		ctlJSON(w, http.StatusOK, o.PendingTransactions())
	})
	org("POST /_sim/orgs/{org}/bucket/resolve", func(o *Org, w http.ResponseWriter, r *http.Request) {
		var body struct {
			TransactionSource string `json:"transactionSource"`
			TransactionID     string `json:"transactionId"`
			ContactID         int64  `json:"contactId"`
		}
		if ctlRead(w, r, &body) {
			ctlResult(w, o.Resolve(body.TransactionSource, body.TransactionID, body.ContactID), nil)
		}
	})
	org("POST /_sim/orgs/{org}/bucket/discard", func(o *Org, w http.ResponseWriter, r *http.Request) {
		var body struct {
			TransactionSource string `json:"transactionSource"`
			TransactionID     string `json:"transactionId"`
		}
		if ctlRead(w, r, &body) {
			ctlResult(w, o.Discard(body.TransactionSource, body.TransactionID), nil)
		}
	})
	org("GET /_sim/orgs/{org}/gifts", func(o *Org, w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if src, id := q.Get("transactionSource"), q.Get("transactionId"); src != "" || id != "" {
			g, ok := o.GiftByTransaction(src, id)
			if !ok {
				ctlError(w, http.StatusNotFound, "no gift for that transaction")
				return
			}
			ctlJSON(w, http.StatusOK, g)
			return
		}
		ctlJSON(w, http.StatusOK, o.Gifts())
	})
	org("POST /_sim/orgs/{org}/gifts", func(o *Org, w http.ResponseWriter, r *http.Request) {
		var d DirectGift
		if ctlRead(w, r, &d) {
			g, err := o.CreateGiftDirect(d)
			ctlResult(w, err, g)
		}
	})
	org("POST /_sim/orgs/{org}/gifts/bulk", func(o *Org, w http.ResponseWriter, r *http.Request) {
		var body struct {
			N int `json:"n"`
			BulkGifts
		}
		if !ctlRead(w, r, &body) {
			return
		}
		ids, err := o.BulkLoadGifts(body.N, body.BulkGifts)
		if err != nil || len(ids) == 0 {
			ctlResult(w, err, map[string]any{"count": 0})
			return
		}
		ctlJSON(w, http.StatusOK, map[string]any{"count": len(ids), "first": ids[0], "last": ids[len(ids)-1]})
	})
	org("POST /_sim/orgs/{org}/gifts/bulk-modify", func(o *Org, w http.ResponseWriter, r *http.Request) {
		var body struct {
			IDs   []int64  `json:"ids"`
			First int64    `json:"first"`
			Last  int64    `json:"last"`
			Edit  GiftEdit `json:"edit"`
		}
		if !ctlRead(w, r, &body) {
			return
		}
		ids := body.IDs
		for id := body.First; body.First > 0 && id <= body.Last; id++ {
			ids = append(ids, id)
		}
		n, err := o.BulkModify(ids, body.Edit)
		ctlResult(w, err, map[string]any{"modified": n})
	})
	org("POST /_sim/orgs/{org}/gifts/{id}/edit", func(o *Org, w http.ResponseWriter, r *http.Request) {
		id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
		var e GiftEdit
		if ctlRead(w, r, &e) {
			err := o.EditGift(id, e)
			g, _ := o.Gift(id)
			ctlResult(w, err, g)
		}
	})
	org("POST /_sim/orgs/{org}/gifts/{id}/delete", func(o *Org, w http.ResponseWriter, r *http.Request) {
		id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
		ctlResult(w, o.DeleteGift(id), nil)
	})
	org("GET /_sim/orgs/{org}/contacts", func(o *Org, w http.ResponseWriter, r *http.Request) {
		ctlJSON(w, http.StatusOK, o.Contacts())
	})
	org("POST /_sim/orgs/{org}/contacts/{id}/edit", func(o *Org, w http.ResponseWriter, r *http.Request) {
		id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
		var e ContactEdit
		if ctlRead(w, r, &e) {
			err := o.EditContact(id, e)
			c, _ := o.Contact(id)
			ctlResult(w, err, c)
		}
	})
	org("POST /_sim/orgs/{org}/contacts/merge", func(o *Org, w http.ResponseWriter, r *http.Request) {
		var body struct {
			From int64 `json:"from"`
			Into int64 `json:"into"`
		}
		if ctlRead(w, r, &body) {
			ctlResult(w, o.MergeContacts(body.From, body.Into), nil)
		}
	})
	org("GET /_sim/orgs/{org}/counters", func(o *Org, w http.ResponseWriter, r *http.Request) {
		ctlJSON(w, http.StatusOK, o.Counters())
	})
	org("POST /_sim/orgs/{org}/counters/reset", func(o *Org, w http.ResponseWriter, r *http.Request) {
		o.ResetCounters()
		ctlJSON(w, http.StatusOK, map[string]any{"ok": true})
	})
	mux.HandleFunc("/_sim/", func(w http.ResponseWriter, r *http.Request) {
		ctlError(w, http.StatusNotFound, "no control endpoint "+r.Method+" "+r.URL.Path)
	})
}

func (s *Sim) ctlAdvance(w http.ResponseWriter, r *http.Request) {
	mc, ok := s.clock.(*ManualClock)
	if !ok {
		ctlError(w, http.StatusConflict, "the simulator runs on the real clock; start it with a manual clock to advance time")
		return
	}
	var body struct {
		Duration duration `json:"duration"`
	}
	if !ctlRead(w, r, &body) {
		return
	}
	if body.Duration <= 0 {
		ctlError(w, http.StatusBadRequest, "duration must be positive")
		return
	}
	mc.Advance(time.Duration(body.Duration))
	ctlJSON(w, http.StatusOK, map[string]any{"now": s.Now()})
}

func ctlJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		ctlError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, status, b)
}

func ctlError(w http.ResponseWriter, status int, msg string) {
	ctlJSON(w, status, map[string]string{"error": msg})
}

func ctlRead(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody)).Decode(v); err != nil {
		ctlError(w, http.StatusBadRequest, "bad body: "+err.Error())
		return false
	}
	return true
}

// ctlResult maps the Org errors to statuses.
func ctlResult(w http.ResponseWriter, err error, ok any) {
	switch {
	case err == nil:
		if ok == nil {
			ok = map[string]any{"ok": true}
		}
		ctlJSON(w, http.StatusOK, ok)
	case errors.Is(err, ErrNotFound):
		ctlError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, ErrConflict):
		ctlError(w, http.StatusConflict, err.Error())
	default:
		ctlError(w, http.StatusBadRequest, err.Error())
	}
}
