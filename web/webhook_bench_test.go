package web_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"backstop/internal/virtuous"
)

// BenchmarkReceiveWebhook: the receiver's own work per delivery (routing,
// middleware, signature, decoding, the group-commit INSERT), in process and
// without the network, with its allocations; four senders at once, so that
// deliveries share commits as they do under load. The webhook-ingest
// benchmark (internal/loadgen) measures the whole server over loopback.
func BenchmarkReceiveWebhook(b *testing.B) {
	e := newEnv(b)
	_, _, hook := e.addTenant("signed", "s3cret")
	h := e.srv.Config.Handler
	u, err := url.Parse(hook)
	if err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(4) // × GOMAXPROCS senders
	cpu0 := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		w := &discard{h: http.Header{}}
		var body []byte
		for pb.Next() {
			body = benchGift(body[:0], next.Add(1))
			req := (&http.Request{
				Method: "POST", URL: u, RequestURI: hook, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
				Header: http.Header{
					"Content-Type":         {"application/json"},
					"X-Virtuous-Signature": {virtuous.Sign("s3cret", body)},
				},
				Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)), Host: "backstop.test",
			}).WithContext(context.Background())
			clear(w.h)
			w.status = 0
			h.ServeHTTP(w, req)
			if w.status != http.StatusAccepted {
				b.Fatalf("got %d", w.status)
			}
		}
	})
	// The process's CPU (the receiver's, and the little the senders here
	// spend), which wall time per delivery does not show on a shared machine.
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchGift appends a GiftCreate for gift id as the load generator sends it.
func benchGift(b []byte, id int64) []byte {
	b = append(b, `{"event":"GiftCreate","gift":{"id":`...)
	b = strconv.AppendInt(b, id, 10)
	b = append(b, `,"transactionSource":"Load","transactionId":"load-12345","contactId":102345,`+
		`"contactName":"Load Donor 2345","giftType":"Credit","giftDate":"2026-11-01T00:00:00","giftDateFormatted":"11/1/2026",`+
		`"amount":350.45,"currencyCode":"USD","exchangeRate":1.0,"createDateTimeUtc":"2026-11-01T03:25:45.000","modifiedDateTimeUtc":"2026-11-01T03:25:45.000",`+
		`"giftDesignations":[],"customFields":{"Receipt Status":"Pending"},"giftUrl":"/api/Gift/12345"}}`...)
	return b
}

type discard struct {
	h      http.Header
	status int
}

func (d *discard) Header() http.Header { return d.h }

func (d *discard) Write(p []byte) (int, error) {
	if d.status == 0 {
		d.status = http.StatusOK
	}
	return len(p), nil
}

func (d *discard) WriteHeader(status int) { d.status = status }
