package jobs

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"backstop/internal/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

type noopArgs struct{}

func (noopArgs) Kind() string { return "noop" }

type noopWorker struct{ river.WorkerDefaults[noopArgs] }

func (noopWorker) Work(context.Context, *river.Job[noopArgs]) error { return nil }

// syncBuffer is a log sink River's goroutines can write to while the test
// reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// River logs at INFO on start and every five seconds per queue ("producer:
// Producer job counts"), which buries Backstop's own lines in the demo; the
// client gets only its warnings and errors.
func TestClientLogsOnlyWarnings(t *testing.T) {
	t.Parallel()
	s := dbtest.Store(t)
	var buf syncBuffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	workers := river.NewWorkers()
	river.AddWorker(workers, noopWorker{})
	c, err := New(s.DB().DB, Options{Log: log, Workers: workers})
	if err != nil {
		t.Fatal(err)
	}
	ctx := dbtest.Ctx(t)
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := c.Stop(sctx); err != nil {
		t.Fatal(err)
	}
	if out := buf.String(); strings.Contains(out, "level=INFO") || strings.Contains(out, "level=DEBUG") {
		t.Errorf("River logged below WARN:\n%s", out)
	}

	// The same logger still passes River's warnings on.
	quiet(log).Warn("a warning")
	quiet(log).Info("chatter")
	if out := buf.String(); !strings.Contains(out, "a warning") || strings.Contains(out, "chatter") {
		t.Errorf("quiet logger: got\n%s\nwant the warning and not the info line", out)
	}
}
