package virtuous

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testKey is the API key every test client uses; no error or log may show it.
const testKey = "vk_live_S3CRET-7f1c9a2b"

// seen is one request as a test server received it.
type seen struct {
	Method, URI, Auth, ContentType, Accept string
	Body                                   []byte
}

// recorder is a test server that records requests and answers with handle.
type recorder struct {
	mu   sync.Mutex
	reqs []seen
}

func (r *recorder) requests() []seen {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]seen(nil), r.reqs...)
}

func (r *recorder) count() int { return len(r.requests()) }

// serve starts a server that records each request and then calls handle
// with the request's number (1-based).
func serve(t *testing.T, handle func(w http.ResponseWriter, req *http.Request, n int)) (*httptest.Server, *recorder) {
	t.Helper()
	rec := &recorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, seen{
			Method: req.Method, URI: req.RequestURI, Auth: req.Header.Get("Authorization"),
			ContentType: req.Header.Get("Content-Type"), Accept: req.Header.Get("Accept"), Body: body,
		})
		n := len(rec.reqs)
		rec.mu.Unlock()
		handle(w, req, n)
	}))
	t.Cleanup(srv.Close)
	return srv, rec
}

// respond answers every request with status and body.
func respond(status int, body string) func(http.ResponseWriter, *http.Request, int) {
	return func(w http.ResponseWriter, _ *http.Request, _ int) {
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// newClient makes a client for base with fast backoff; edit adjusts cfg.
func newClient(t *testing.T, base string, edit ...func(*Config)) *Client {
	t.Helper()
	cfg := Config{
		BaseURL: base, APIKey: testKey, BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond,
		Timeout: 5 * time.Second, QueryTimeout: 5 * time.Second,
	}
	for _, e := range edit {
		e(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// jsonDiff compares two JSON texts as values ("" when equal).
func jsonDiff(t *testing.T, got, want []byte) string {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		return "got invalid JSON " + string(got) + ": " + err.Error()
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("want is invalid JSON %s: %v", want, err)
	}
	return cmp.Diff(w, g)
}

// waits records a client's waits between attempts instead of sitting them
// out (or hands them to then).
type waits struct {
	mu   sync.Mutex
	ds   []time.Duration
	then func(context.Context, time.Duration) error
}

func (w *waits) sleep(ctx context.Context, d time.Duration) error {
	w.mu.Lock()
	w.ds = append(w.ds, d)
	w.mu.Unlock()
	if w.then != nil {
		return w.then(ctx, d)
	}
	return ctx.Err()
}

func (w *waits) got() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Duration(nil), w.ds...)
}

// recordWaits makes c record its waits instead of sitting them out.
func recordWaits(c *Client) *waits {
	w := &waits{}
	c.sleep = w.sleep
	return w
}

// timeEq lets cmp compare Time values by instant.
var timeEq = cmp.Comparer(func(a, b Time) bool { return a.Equal(b.Time) })
