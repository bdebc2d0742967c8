package virtuoussim

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Options configures a Sim.
type Options struct {
	// Clock is the simulated time (default: real UTC time). With a
	// *ManualClock the nightly batch runs whenever Advance or Set crosses a
	// UTC midnight; with the real clock it runs at each real UTC midnight.
	Clock Clock
	// RateLimit is the request budget per window per org (default 5000, as
	// documented).
	RateLimit int
	// RateWindow is the rate-limit window (default 1h), in real time.
	RateWindow time.Duration
	// Seed makes every random choice (faults, loss, duplicates, matching,
	// timestamp styles) repeatable.
	Seed int64
	// BatchEvery, if positive, also runs the nightly batch every this much
	// real time, so a demo need not wait for midnight.
	BatchEvery time.Duration
	// WebhookWorkers is the size of the webhook delivery pool (default 4).
	WebhookWorkers int
	// Logger receives a line per batch and per failed delivery (default:
	// discard).
	Logger *slog.Logger
}

// Sim is a simulated Virtuous: a set of organizations, each reached through
// its API key, plus the machinery that runs batches and delivers webhooks.
type Sim struct {
	opts  Options
	clock Clock
	log   *slog.Logger

	mu     sync.RWMutex
	orgs   map[string]*Org // by name
	byKey  map[string]*Org // by API key
	nextID int64

	hooks *deliverer
	// sleepHook replaces the fault waits in tests (see sleep).
	sleepHook atomic.Pointer[func(context.Context, time.Duration) bool]
	handler   http.Handler
	done      chan struct{}
	wg        sync.WaitGroup
	srvMu     sync.Mutex
	srv       *http.Server
	unhook    func()
	closeOne  sync.Once
}

// New builds a Sim and starts its background workers (webhook delivery and,
// when configured, the batch schedule). Close stops them.
func New(opts Options) *Sim {
	if opts.Clock == nil {
		opts.Clock = realClock{}
	}
	if opts.RateLimit <= 0 {
		opts.RateLimit = 5000
	}
	if opts.RateWindow <= 0 {
		opts.RateWindow = time.Hour
	}
	if opts.WebhookWorkers <= 0 {
		opts.WebhookWorkers = 4
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Sim{
		opts:   opts,
		clock:  opts.Clock,
		log:    opts.Logger,
		orgs:   map[string]*Org{},
		byKey:  map[string]*Org{},
		nextID: 1000,
		done:   make(chan struct{}),
	}
	s.hooks = newDeliverer(s, opts.WebhookWorkers)
	s.handler = s.routes()
	switch c := opts.Clock.(type) {
	case *ManualClock:
		s.unhook = c.addHook(s.onAdvance)
	case realClock:
		s.wg.Add(1)
		go s.midnightLoop()
	}
	if opts.BatchEvery > 0 {
		s.wg.Add(1)
		go s.batchLoop(opts.BatchEvery)
	}
	return s
}

// Handler serves the Virtuous API and, under /_sim/, the control API. When
// serving it yourself (httptest.NewServer), Close the Sim before the server:
// Close releases requests hung by TimeoutRate, which a server's Close would
// otherwise wait for.
func (s *Sim) Handler() http.Handler { return s.handler }

// Start listens on addr (for example "127.0.0.1:0") and serves Handler in the
// background. It returns the base URL to give the client. The control API
// has no authentication, so the simulator only listens on loopback: an
// address without a host (":8089") means 127.0.0.1, and any other host is
// refused.
func (s *Sim) Start(addr string) (string, error) {
	addr, err := loopbackAddr(addr)
	if err != nil {
		return "", err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("virtuoussim: listen %s: %w", addr, err)
	}
	srv := &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
	s.srvMu.Lock()
	if s.srv != nil {
		s.srvMu.Unlock()
		ln.Close()
		return "", errors.New("virtuoussim: already started")
	}
	s.srv = srv
	s.srvMu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("serve failed", slog.Any("error", err))
		}
	}()
	return "http://" + ln.Addr().String(), nil
}

// Close stops the server (if Start was called), releases hanging requests,
// stops the batch schedule and the webhook deliverers, and waits for all of
// them. Undelivered webhooks are dropped.
func (s *Sim) Close() error {
	var err error
	s.closeOne.Do(func() {
		close(s.done)
		if s.unhook != nil {
			s.unhook()
		}
		s.srvMu.Lock()
		srv := s.srv
		s.srvMu.Unlock()
		if srv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if e := srv.Shutdown(ctx); e != nil {
				err = e
				srv.Close()
			}
			cancel()
		}
		s.hooks.close()
		s.wg.Wait()
	})
	return err
}

func loopbackAddr(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("virtuoussim: address %q: %w", addr, err)
	}
	switch host {
	case "":
		host = "127.0.0.1"
	case "localhost":
	default:
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			return "", fmt.Errorf("virtuoussim: refusing to listen on %q: the control API is unauthenticated, use a loopback address", addr)
		}
	}
	return net.JoinHostPort(host, port), nil
}

// Run serves a simulator with the given orgs (name → API key) on addr until
// ctx is done. It is what `backstop sim` calls.
func Run(ctx context.Context, addr string, opts Options, orgs map[string]string) error {
	s := New(opts)
	defer s.Close()
	names := make([]string, 0, len(orgs))
	for n := range orgs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s.AddOrg(n, orgs[n])
	}
	url, err := s.Start(addr)
	if err != nil {
		return err
	}
	s.log.Info("virtuous simulator listening", slog.String("url", url), slog.Int("orgs", len(orgs)))
	<-ctx.Done()
	return s.Close()
}

// AddOrg adds an organization reached with apiKey. Adding an existing name
// returns that org (with the new key also accepted).
func (s *Sim) AddOrg(name, apiKey string) *Org {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o, ok := s.orgs[name]; ok {
		s.byKey[apiKey] = o
		return o
	}
	s.nextID++
	o := newOrg(s, s.nextID, name)
	s.orgs[name] = o
	s.byKey[apiKey] = o
	return o
}

// Org returns the organization called name, or nil.
func (s *Sim) Org(name string) *Org {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.orgs[name]
}

func (s *Sim) orgByKey(key string) *Org {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.byKey[key]
}

func (s *Sim) allOrgs() []*Org {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*Org, 0, len(s.orgs))
	for _, o := range s.orgs {
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// WaitIdle blocks until no webhook delivery is queued, in flight or waiting
// for a retry, or ctx is done. Tests call it before asserting on counters.
func (s *Sim) WaitIdle(ctx context.Context) error { return s.hooks.waitIdle(ctx) }

// Now is the simulator clock's time.
func (s *Sim) Now() time.Time { return s.clock.Now().UTC() }

// onAdvance runs the nightly batch of every org once per UTC midnight the
// manual clock crossed, stamped at that midnight.
func (s *Sim) onAdvance(from, to time.Time) {
	select {
	case <-s.done:
		return
	default:
	}
	for _, m := range midnightsBetween(from, to) {
		for _, o := range s.allOrgs() {
			o.runBatchAt(m)
		}
	}
}

func (s *Sim) midnightLoop() {
	defer s.wg.Done()
	for {
		now := time.Now().UTC()
		next := now.Truncate(24 * time.Hour).Add(24 * time.Hour)
		t := time.NewTimer(next.Sub(now))
		select {
		case <-s.done:
			t.Stop()
			return
		case <-t.C:
			for _, o := range s.allOrgs() {
				o.RunBatch()
			}
		}
	}
}

func (s *Sim) batchLoop(every time.Duration) {
	defer s.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
			for _, o := range s.allOrgs() {
				o.RunBatch()
			}
		}
	}
}

// hash64 mixes the seed with parts into a stable 64-bit value, for choices
// that must not depend on the order of events (which transactions are
// unmatched, which timestamp style an object has).
func (s *Sim) hash64(parts ...string) uint64 {
	h := fnv.New64a()
	var b [8]byte
	for i := range 8 {
		b[i] = byte(s.opts.Seed >> (8 * i))
	}
	h.Write(b[:])
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	x := h.Sum64()
	// fnv's low bits are weak for short inputs; finish with splitmix64.
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// unit maps a hash to [0, 1).
func unit(h uint64) float64 { return float64(h>>11) / (1 << 53) }
