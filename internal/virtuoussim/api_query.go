package virtuoussim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// pageParams reads skip and take from the query string: take defaults to 10
// and may not exceed 1000.
func pageParams(o *Org, w http.ResponseWriter, r *http.Request) (skip, take int, ok bool) {
	skip, take = 0, 10
	if s := queryParam(r, "skip"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			o.writeError(w, http.StatusBadRequest, styleLegacy, "The request is invalid.",
				fieldErr{"skip", "INVALID", fmt.Sprintf("The value '%s' is not valid for skip.", s)})
			return 0, 0, false
		}
		skip = n
	}
	if s := queryParam(r, "take"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			o.writeError(w, http.StatusBadRequest, styleLegacy, "The request is invalid.",
				fieldErr{"take", "INVALID", fmt.Sprintf("The value '%s' is not valid for take.", s)})
			return 0, 0, false
		}
		if n > 1000 {
			o.writeError(w, http.StatusBadRequest, styleVaried, "Take cannot be greater than 1000.",
				fieldErr{"take", "OUT_OF_RANGE", "Take cannot be greater than 1000."})
			return 0, 0, false
		}
		take = n
	}
	return skip, take, true
}

func pageOf[T any](list []T, skip, take int) []T {
	if skip >= len(list) {
		return nil
	}
	return list[skip:min(len(list), skip+take)]
}

// readQueryBody decodes a query body; an empty body means "everything".
func readQueryBody(o *Org, w http.ResponseWriter, r *http.Request) (*queryBody, bool) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		o.writeError(w, http.StatusBadRequest, styleLegacy, "The request body could not be read.")
		return nil, false
	}
	var q queryBody
	if len(bytes.TrimSpace(b)) == 0 {
		return &q, true
	}
	if err := json.Unmarshal(b, &q); err != nil {
		o.writeError(w, http.StatusBadRequest, styleLegacy, "The request is invalid.",
			fieldErr{"query", "INVALID", "Could not parse the query: " + err.Error()})
		return nil, false
	}
	return &q, true
}

func (o *Org) renderGiftPage(page []*gift, total int, full bool) []byte {
	per := 160
	if full {
		per = 2000
	}
	b := make([]byte, 0, 32+per*len(page))
	b = append(b, `{"list":[`...)
	for i, g := range page {
		if i > 0 {
			b = append(b, ',')
		}
		if full {
			b = o.appendGift(b, g, false)
		} else {
			b = o.appendGiftAbbrev(b, g)
		}
	}
	b = append(b, `],"total":`...)
	b = strconv.AppendInt(b, int64(total), 10)
	return append(b, '}')
}

// queryGifts serves POST /api/Gift/Query/FullGift (full) and
// POST /api/Gift/Query (abbreviated). Gifts are kept in id order, so the
// default sort needs no sorting: one pass counts the matches and keeps the
// requested page.
func (s *Sim) queryGifts(full bool) apiHandler {
	return func(o *Org, w http.ResponseWriter, r *http.Request) {
		skip, take, ok := pageParams(o, w, r)
		if !ok {
			return
		}
		q, ok := readQueryBody(o, w, r)
		if !ok {
			return
		}
		key, ok := giftSortKey(string(q.SortBy))
		if !ok {
			o.writeError(w, http.StatusBadRequest, styleVaried, fmt.Sprintf("'%s' is not a valid sortBy for gifts.", q.SortBy))
			return
		}
		desc := q.Descending.or(false)
		o.mu.RLock()
		defer o.mu.RUnlock()
		match, err := compile(o.giftFieldsWithOrg(), q, o.now())
		if err != nil {
			o.writeError(w, http.StatusBadRequest, styleVaried, err.Error())
			return
		}
		var page []*gift
		total := 0
		if key == sortID {
			n := len(o.gifts)
			page = make([]*gift, 0, min(take, 1000))
			for i := range n {
				g := o.gifts[i]
				if desc {
					g = o.gifts[n-1-i]
				}
				if g.deleted || !match(g) {
					continue
				}
				if total >= skip && total < skip+take {
					page = append(page, g)
				}
				total++
			}
		} else {
			var all []*gift
			for _, g := range o.gifts {
				if !g.deleted && match(g) {
					all = append(all, g)
				}
			}
			sortGifts(all, key, desc)
			total = len(all)
			page = pageOf(all, skip, take)
		}
		writeJSON(w, http.StatusOK, o.renderGiftPage(page, total, full))
	}
}

// queryContacts serves POST /api/Contact/Query/FullContact and
// POST /api/Contact/Query.
func (s *Sim) queryContacts(full bool) apiHandler {
	return func(o *Org, w http.ResponseWriter, r *http.Request) {
		skip, take, ok := pageParams(o, w, r)
		if !ok {
			return
		}
		q, ok := readQueryBody(o, w, r)
		if !ok {
			return
		}
		key, ok := contactSortKey(string(q.SortBy))
		if !ok {
			o.writeError(w, http.StatusBadRequest, styleVaried, fmt.Sprintf("'%s' is not a valid sortBy for contacts.", q.SortBy))
			return
		}
		o.mu.RLock()
		defer o.mu.RUnlock()
		match, err := compile(contactFields, q, o.now())
		if err != nil {
			o.writeError(w, http.StatusBadRequest, styleVaried, err.Error())
			return
		}
		var all []*contact
		for _, c := range o.contacts {
			if match(c) {
				all = append(all, c)
			}
		}
		sortContacts(all, key, q.Descending.or(false))
		page := pageOf(all, skip, take)
		b := make([]byte, 0, 64+len(page)*3000)
		b = append(b, `{"list":[`...)
		for i, c := range page {
			if i > 0 {
				b = append(b, ',')
			}
			if full {
				b = o.appendContact(b, c, false)
			} else {
				b = o.appendContactAbbrev(b, c)
			}
		}
		b = append(b, `],"total":`...)
		b = strconv.AppendInt(b, int64(len(all)), 10)
		b = append(b, '}')
		writeJSON(w, http.StatusOK, b)
	}
}

func appendOptions[T any](b []byte, fields []field[T]) []byte {
	op := func(b []byte, name string) []byte {
		o := openObj(&b)
		o.str("operator", name)
		o.bool("multipleValuesAllowed", multiOps[name])
		o.bool("valueRequired", !noValueOps[name])
		o.close()
		return b
	}
	b = append(b, `{"options":[`...)
	for i, f := range fields {
		if i > 0 {
			b = append(b, ',')
		}
		ob := openObj(&b)
		ob.str("parameter", f.name)
		ob.str("type", kindNames[f.kind])
		ob.key("operatorOptions")
		b = append(b, '[')
		for j, name := range operatorsFor[f.kind] {
			if j > 0 {
				b = append(b, ',')
			}
			b = op(b, name)
		}
		b = append(b, ']')
		ob.key("valueOptions")
		b = append(b, '[')
		var vo []string
		switch {
		case f.kind == kindDate || f.kind == kindDateTime:
			vo = relativeDates
		case f.name == "Gift Type":
			vo = []string{"Cash", "Check", "Credit", "Cryptocoin", "Electronic Funds Transfer", "Non-Cash", "Other",
				"Qualified Charitable Distribution", "Reversing Transaction", "Stock"}
		case f.name == "Contact Type":
			vo = []string{"Household", "Organization", "Foundation"}
		}
		for j, v := range vo {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, v)
		}
		b = append(b, ']')
		ob.close()
	}
	b = append(b, `],"operatorOptions":[`...)
	for i, name := range allOperators {
		if i > 0 {
			b = append(b, ',')
		}
		b = op(b, name)
	}
	return append(b, ']', '}')
}

func (s *Sim) giftQueryOptions(o *Org, w http.ResponseWriter, r *http.Request) {
	o.mu.RLock()
	b := appendOptions(nil, o.giftFieldsWithOrg())
	o.mu.RUnlock()
	writeJSON(w, http.StatusOK, b)
}

func (s *Sim) contactQueryOptions(o *Org, w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, appendOptions(nil, contactFields))
}
