package virtuoussim

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// postContactTransaction is POST /api/Contact/Transaction: a flat contact
// held for the batch, which creates the contact or merges it into the one
// it matches. 200 with an empty body.
func (s *Sim) postContactTransaction(o *Org, w http.ResponseWriter, r *http.Request) {
	var body contactTxBody
	if !readJSON(o, w, r, &body) {
		o.count(func(c *Counters) { c.Rejected++ })
		return
	}
	if src, id := strings.TrimSpace(string(body.ReferenceSource)), strings.TrimSpace(string(body.ReferenceID)); src != "" && id != "" {
		o.count(func(c *Counters) { c.ContactTransactionPosts[txKey{src, id}.String()]++ })
	}
	ct, ierr := o.validateContactTx(&body, o.config())
	if ierr != nil {
		o.count(func(c *Counters) { c.Rejected++ })
		o.writeError(w, http.StatusBadRequest, ierr.style, ierr.msg, ierr.fields...)
		return
	}
	o.submitContact(ct)
	writeEmptyOK(w)
}

func (s *Sim) writeContact(o *Org, w http.ResponseWriter, c *contact) {
	writeJSON(w, http.StatusOK, o.appendContact(make([]byte, 0, 4096), c, false))
}

// getContact is GET /api/Contact/{id}. A merged contact is still returned,
// with mergedIntoContactId set, so clients can follow the merge.
func (s *Sim) getContact(o *Org, w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "id")
	o.mu.RLock()
	defer o.mu.RUnlock()
	c := o.contactByID[id]
	if !ok || c == nil {
		o.writeError(w, http.StatusNotFound, styleVaried, fmt.Sprintf("Contact with id %s could not be found", r.PathValue("id")))
		return
	}
	s.writeContact(o, w, c)
}

// getContactByReference is GET /api/Contact/{referenceSource}/{referenceId}:
// 404 while the contact transaction is held.
func (s *Sim) getContactByReference(o *Org, w http.ResponseWriter, r *http.Request) {
	src, id := r.PathValue("referenceSource"), r.PathValue("referenceId")
	o.mu.RLock()
	defer o.mu.RUnlock()
	c := o.contactByRef[refKey{src, id}]
	if c == nil {
		o.writeError(w, http.StatusNotFound, styleVaried,
			fmt.Sprintf("Contact with reference source '%s' and reference id '%s' could not be found", src, id))
		return
	}
	s.writeContact(o, w, o.liveContact(c.id))
}

// getContactByReferenceID is GET /api/Contact/ByReference/{referenceId}:
// the first contact holding that reference id under any source.
func (s *Sim) getContactByReferenceID(o *Org, w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("referenceId")
	o.mu.RLock()
	defer o.mu.RUnlock()
	var found *contact
	for _, c := range o.contacts {
		for _, ref := range c.references {
			if ref.id == id && (found == nil || c.id < found.id) {
				found = c
			}
		}
	}
	if found == nil {
		o.writeError(w, http.StatusNotFound, styleVaried, fmt.Sprintf("Contact with reference id '%s' could not be found", id))
		return
	}
	s.writeContact(o, w, o.liveContact(found.id))
}

// findContact is GET /api/Contact/Find?email= or
// ?referenceSource=&referenceId= (exact matches only).
func (s *Sim) findContact(o *Org, w http.ResponseWriter, r *http.Request) {
	o.mu.RLock()
	defer o.mu.RUnlock()
	var c *contact
	if e := queryParam(r, "email"); e != "" {
		c = o.contactByEmail[normEmail(e)]
	} else if src, id := queryParam(r, "referenceSource"), queryParam(r, "referenceId"); src != "" && id != "" {
		c = o.contactByRef[refKey{src, id}]
	}
	if c == nil {
		o.writeError(w, http.StatusNotFound, styleVaried, "Contact could not be found")
		return
	}
	s.writeContact(o, w, o.liveContact(c.id))
}

// putContact is PUT /api/Contact/{id}.
func (s *Sim) putContact(o *Org, w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "id")
	var body struct {
		Name        *flexString `json:"name"`
		ContactType *flexString `json:"contactType"`
		IsPrivate   flexBool    `json:"isPrivate"`
		FirstName   *flexString `json:"firstName"`
		LastName    *flexString `json:"lastName"`
		Email       *flexString `json:"email"`
		Phone       *flexString `json:"phone"`
		Address     *Address    `json:"address"`
	}
	if !readJSON(o, w, r, &body) {
		return
	}
	str := func(f *flexString) *string {
		if f == nil {
			return nil
		}
		v := string(*f)
		return &v
	}
	e := ContactEdit{Name: str(body.Name), FirstName: str(body.FirstName), LastName: str(body.LastName),
		Email: str(body.Email), Phone: str(body.Phone), Address: body.Address}
	o.mu.Lock()
	defer o.mu.Unlock()
	c := o.contactByID[id]
	if !ok || c == nil {
		o.writeError(w, http.StatusNotFound, styleVaried, fmt.Sprintf("Contact with id %s could not be found", r.PathValue("id")))
		return
	}
	if err := o.applyContactEdit(c, e); err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, ErrNotFound) {
			status = http.StatusNotFound
		}
		o.writeError(w, status, styleVaried, err.Error())
		return
	}
	if body.ContactType != nil && *body.ContactType != "" {
		c.contactType = string(*body.ContactType)
	}
	c.isPrivate = body.IsPrivate.or(c.isPrivate)
	o.touchContact(c, o.now(), userAPI)
	o.emitContact(EventContactUpdate, c)
	s.writeContact(o, w, c)
}

// getOrganization is GET /api/Organization/Current: {id, name}.
func (s *Sim) getOrganization(o *Org, w http.ResponseWriter, r *http.Request) {
	b, _ := json.Marshal(struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	}{o.id, o.name})
	writeJSON(w, http.StatusOK, b)
}

// queryParam reads a query-string parameter ignoring the case of its name,
// as ASP.NET binding does.
func queryParam(r *http.Request, name string) string {
	for k, v := range r.URL.Query() {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}
