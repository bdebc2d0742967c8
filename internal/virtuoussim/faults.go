package virtuoussim

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"time"
)

// withFaults runs next with the org's configured misbehaviour around it:
// added latency, slow responses, hangs, 5xx answers and cut-off bodies.
// One random draw per request picks at most one of the hard faults, so the
// rates add up the way a reader of OrgConfig expects.
func (s *Sim) withFaults(o *Org, w http.ResponseWriter, r *http.Request, next http.HandlerFunc) {
	cfg := o.config()
	o.cmu.Lock()
	roll, slowRoll, pick, afterWrite := o.frng.Float64(), o.frng.Float64(), o.frng.IntN(5), o.frng.IntN(2) == 0
	o.cmu.Unlock()
	write := r.Method != http.MethodGet

	if cfg.Latency > 0 && !s.sleep(r.Context(), cfg.Latency) {
		return
	}
	if slowRoll < cfg.SlowRate && cfg.SlowBy > 0 {
		o.count(func(c *Counters) { c.Slow++ })
		if !s.sleep(r.Context(), cfg.SlowBy) {
			return
		}
	}
	switch {
	case roll < cfg.TimeoutRate:
		o.count(func(c *Counters) { c.Timeouts++ })
		if write && afterWrite {
			next(newRecorder(), r)
		}
		// Hang until the client gives up; if it never does, answer as a
		// gateway would.
		if s.sleep(r.Context(), cfg.TimeoutHang) {
			writeGatewayError(w, http.StatusGatewayTimeout)
		}
	case roll < cfg.TimeoutRate+cfg.ServerErrorRate:
		o.count(func(c *Counters) { c.ServerErrors++ })
		if write && afterWrite {
			next(newRecorder(), r)
			o.count(func(c *Counters) { c.ServerErrorsAfterWrite++ })
		}
		writeGatewayError(w, []int{500, 502, 503, 504, 520}[pick])
	case roll < cfg.TimeoutRate+cfg.ServerErrorRate+cfg.MalformedRate:
		rec := newRecorder()
		next(rec, r)
		body := rec.body.Bytes()
		if rec.status == http.StatusOK && len(body) > 2 && bytes.Contains([]byte(rec.h.Get("Content-Type")), []byte("json")) {
			o.count(func(c *Counters) { c.Malformed++ })
			body = body[:len(body)/2]
			rec.h.Set("Content-Length", strconv.Itoa(len(body)))
		}
		rec.body.Truncate(len(body))
		rec.flushTo(w)
	default:
		next(w, r)
	}
}

// sleep waits d, or less if the request or the simulator ends first; it
// reports whether the full time passed. A test's hook, when set, is asked
// instead, so the waits can be seen without being sat out.
func (s *Sim) sleep(ctx context.Context, d time.Duration) bool {
	if hook := s.sleepHook.Load(); hook != nil {
		return (*hook)(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.done:
		return false
	}
}

// writeGatewayError answers like the layer that failed: ASP.NET for 500,
// nginx for 502/504, a maintenance page for 503, Cloudflare for 520.
func writeGatewayError(w http.ResponseWriter, status int) {
	var ct, body string
	switch status {
	case 500:
		ct, body = "application/json; charset=utf-8", `{"message":"An error has occurred."}`
	case 502:
		ct, body = "text/html", "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
	case 503:
		ct, body = "text/html; charset=us-ascii", "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\"><HTML><HEAD><TITLE>Service Unavailable</TITLE></HEAD><BODY><h2>Service Unavailable</h2><hr><p>HTTP Error 503. The service is unavailable.</p></BODY></HTML>"
	case 504:
		ct, body = "text/html", "<html>\r\n<head><title>504 Gateway Time-out</title></head>\r\n<body>\r\n<center><h1>504 Gateway Time-out</h1></center>\r\n</body>\r\n</html>\r\n"
	default:
		ct, body = "text/plain; charset=UTF-8", "error code: "+strconv.Itoa(status)
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write([]byte(body))
}

// recorder captures a response so a fault can replace or damage it.
type recorder struct {
	h      http.Header
	status int
	body   bytes.Buffer
}

func newRecorder() *recorder { return &recorder{h: http.Header{}, status: http.StatusOK} }

func (r *recorder) Header() http.Header         { return r.h }
func (r *recorder) WriteHeader(status int)      { r.status = status }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }

// flushTo sends the recorded response to w.
func (r *recorder) flushTo(w http.ResponseWriter) {
	h := w.Header()
	for k, v := range r.h {
		h[k] = v
	}
	w.WriteHeader(r.status)
	w.Write(r.body.Bytes())
}
