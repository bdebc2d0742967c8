package virtuoussim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Webhook subscription endpoints: POST /api/Webhook, GET/PUT/DELETE
// /api/Webhook/{id}, PUT /api/Webhook/{id}/Active?active=. PUT replaces the
// whole subscription (omitted toggles become false), as documented.

func (s *Sim) writeSubscription(w http.ResponseWriter, sub *subscription) {
	b, _ := json.Marshal(sub)
	writeJSON(w, http.StatusOK, b)
}

// postWebhook creates a subscription. Omitted event toggles are false, but
// an omitted "active" is true: a subscription nobody switched off is on.
func (s *Sim) postWebhook(o *Org, w http.ResponseWriter, r *http.Request) {
	var body struct {
		subscription
		Active *bool `json:"active"`
	}
	if !readJSON(o, w, r, &body) {
		return
	}
	sub := body.subscription
	sub.Active = body.Active == nil || *body.Active
	if !strings.HasPrefix(sub.PayloadURL, "http://") && !strings.HasPrefix(sub.PayloadURL, "https://") {
		o.writeError(w, http.StatusBadRequest, styleVaried, "PayloadUrl must be an absolute http(s) URL.",
			fieldErr{"payloadUrl", "INVALID", "PayloadUrl must be an absolute http(s) URL."})
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.addSubscription(&sub)
	s.writeSubscription(w, &sub)
}

func (s *Sim) webhookByID(o *Org, w http.ResponseWriter, r *http.Request) *subscription {
	id, _ := pathID(r, "id")
	sub := o.webhooks[id]
	if sub == nil {
		o.writeError(w, http.StatusNotFound, styleVaried, fmt.Sprintf("Webhook with id %s could not be found", r.PathValue("id")))
	}
	return sub
}

func (s *Sim) getWebhook(o *Org, w http.ResponseWriter, r *http.Request) {
	o.mu.RLock()
	defer o.mu.RUnlock()
	if sub := s.webhookByID(o, w, r); sub != nil {
		s.writeSubscription(w, sub)
	}
}

func (s *Sim) putWebhook(o *Org, w http.ResponseWriter, r *http.Request) {
	var next subscription
	if !readJSON(o, w, r, &next) {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	sub := s.webhookByID(o, w, r)
	if sub == nil {
		return
	}
	next.ID, next.SignatureHeader = sub.ID, sub.SignatureHeader
	*sub = next
	s.writeSubscription(w, sub)
}

func (s *Sim) deleteWebhook(o *Org, w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if sub := s.webhookByID(o, w, r); sub != nil {
		delete(o.webhooks, sub.ID)
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
	}
}

func (s *Sim) putWebhookActive(o *Org, w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	defer o.mu.Unlock()
	sub := s.webhookByID(o, w, r)
	if sub == nil {
		return
	}
	switch strings.ToLower(queryParam(r, "active")) {
	case "true":
		sub.Active = true
	case "false":
		sub.Active = false
	default:
		o.writeError(w, http.StatusBadRequest, styleLegacy, "The request is invalid.",
			fieldErr{"active", "INVALID", "active must be true or false."})
		return
	}
	s.writeSubscription(w, sub)
}
