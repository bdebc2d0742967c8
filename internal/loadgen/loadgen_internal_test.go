package loadgen

import (
	"bufio"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	"backstop/internal/virtuous"
)

// TestEventKeysAreTheReceiversKeys: Result.Acked holds the dedupe keys the
// load generator expects the receiver to store, and the benchmark and the
// outage test count lost events by them, so each must be the key the
// receiver derives from the body.
func TestEventKeysAreTheReceiversKeys(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	updates := 0
	for n := int64(1); n <= 2000; n++ {
		s := makeEvent(n, rng)
		e, err := virtuous.ParseWebhook(s.body)
		if err != nil {
			t.Fatalf("event %d: %v\n%s", n, err, s.body)
		}
		if e.DedupeKey() != s.key {
			t.Fatalf("event %d: the receiver's key is %q, the load generator's %q", n, e.DedupeKey(), s.key)
		}
		if e.Name == "GiftUpdate" {
			updates++
		}
	}
	if updates < 400 || updates > 600 {
		t.Errorf("%d GiftUpdates in 2,000 events, want about a quarter", updates)
	}
}

// TestReadResponse: the load generator's response reader agrees with
// net/http's on status, on whether the connection stays open, and on where
// the next response starts.
func TestReadResponse(t *testing.T) {
	t.Parallel()
	const next = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	for _, raw := range []string{
		"HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 15\r\nDate: x\r\n\r\n{\"accepted\":17}",
		"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 3\r\nConnection: close\r\n\r\nabc",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nTrailer: t\r\n\r\n",
		"HTTP/1.1 204 No Content\r\nX: y\r\n\r\n",
		"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx",
		"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\nx",
		"HTTP/1.1 200 OK\r\nConnection: upgrade, close\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",
	} {
		want, err := http.ReadResponse(bufio.NewReader(strings.NewReader(raw+next)), nil)
		if err != nil {
			t.Fatalf("%q: net/http: %v", raw, err)
		}
		br := bufio.NewReader(strings.NewReader(raw + next))
		status, closed, err := readResponse(br)
		if err != nil || status != want.StatusCode || closed != want.Close {
			t.Errorf("%q: got %d closed=%t (%v), net/http %d closed=%t", raw, status, closed, err, want.StatusCode, want.Close)
			continue
		}
		if status, _, err := readResponse(br); err != nil || status != 200 {
			t.Errorf("%q: the next response: got %d (%v), want 200: the body was not read to its end", raw, status, err)
		}
	}
	// An answer without a length ends with the connection.
	br := bufio.NewReader(strings.NewReader("HTTP/1.1 200 OK\r\n\r\nall of it"))
	if status, closed, err := readResponse(br); err != nil || status != 200 || !closed {
		t.Errorf("unframed body: got %d closed=%t (%v), want 200 closed", status, closed, err)
	}
	// Interim answers are skipped.
	br = bufio.NewReader(strings.NewReader("HTTP/1.1 100 Continue\r\n\r\n" + next))
	if status, _, err := readResponse(br); err != nil || status != 200 {
		t.Errorf("after a 100: got %d (%v), want 200", status, err)
	}
	for _, bad := range []string{"", "HTTP/1.1 2", "HTTP/1.1 abc OK\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
		"HTTP/1.1 200 OK\r\nno colon\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"} {
		if _, _, err := readResponse(bufio.NewReader(strings.NewReader(bad))); err == nil {
			t.Errorf("%q: got no error", bad)
		}
	}
}
