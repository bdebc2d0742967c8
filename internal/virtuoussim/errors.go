package virtuoussim

import (
	"net/http"
	"strconv"
)

// Virtuous is migrating between two error body shapes, and clients see both:
//
//	legacy: {"error":"NotFound","error_description":"…"} (sometimes with
//	        "errors":{field:[msgs]} or a "message")
//	target: {"error":{"code":"NOT_FOUND","message":"…","details":[…]}}
//
// and 401 as plain text. The simulator answers each error in one of them so
// that the client's tolerance is exercised.

type errStyle int

const (
	styleLegacy errStyle = iota
	styleLegacyMessage
	styleTarget
	styleVaried // pick one of the above per response
)

type fieldErr struct{ field, code, message string }

var statusCodes = map[int][2]string{
	400: {"BadRequest", "BAD_REQUEST"},
	401: {"Unauthorized", "UNAUTHENTICATED"},
	403: {"Forbidden", "FORBIDDEN"},
	404: {"NotFound", "NOT_FOUND"},
	409: {"Conflict", "CONFLICT"},
}

const unauthorizedText = "Authorization has been denied for this request."

func writeUnauthorized(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusUnauthorized)
	w.Write([]byte(unauthorizedText))
}

// writeError writes an error body in the given style; o may be nil (no org
// resolved yet), which forces the legacy shape.
func (o *Org) writeError(w http.ResponseWriter, status int, st errStyle, msg string, fields ...fieldErr) {
	if st == styleVaried {
		st = styleLegacy
		if o != nil {
			o.cmu.Lock()
			st = errStyle(o.frng.IntN(3))
			o.cmu.Unlock()
		}
	}
	codes, ok := statusCodes[status]
	if !ok {
		codes = [2]string{http.StatusText(status), "ERROR"}
	}
	b := make([]byte, 0, 256)
	ob := openObj(&b)
	switch st {
	case styleTarget:
		ob.key("error")
		in := openObj(&b)
		in.str("code", codes[1])
		in.str("message", msg)
		if len(fields) > 0 {
			in.key("details")
			b = append(b, '[')
			for i, f := range fields {
				if i > 0 {
					b = append(b, ',')
				}
				d := openObj(&b)
				d.str("field", f.field)
				d.str("code", f.code)
				d.str("message", f.message)
				d.close()
			}
			b = append(b, ']')
		}
		in.close()
	case styleLegacyMessage:
		ob.str("message", msg)
		if len(fields) > 0 {
			writeFieldMap(&ob, &b, fields)
		}
	default:
		ob.str("error", codes[0])
		ob.str("error_description", msg)
		if len(fields) > 0 {
			writeFieldMap(&ob, &b, fields)
		}
	}
	ob.close()
	writeJSON(w, status, b)
}

// writeFieldMap writes "errors":{field:[msg,…]}, grouping by field in order.
func writeFieldMap(ob *jobj, b *[]byte, fields []fieldErr) {
	ob.key("errors")
	m := openObj(b)
	seen := map[string]bool{}
	for _, f := range fields {
		if seen[f.field] {
			continue
		}
		seen[f.field] = true
		m.key(f.field)
		*b = append(*b, '[')
		n := 0
		for _, g := range fields {
			if g.field == f.field {
				if n > 0 {
					*b = append(*b, ',')
				}
				*b = appendJSONString(*b, g.message)
				n++
			}
		}
		*b = append(*b, ']')
	}
	m.close()
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

// writeEmptyOK is the answer to an accepted transaction: 200 and no body.
func writeEmptyOK(w http.ResponseWriter) {
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}
