package inbound

import (
	"context"
	"errors"
	"sync"
	"time"

	"backstop/internal/store"
)

// Ingester stores webhook deliveries with group commit: deliveries that
// arrive while a batch is being written wait for the next one, and each
// batch is one INSERT statement. A stored delivery not yet applied is its
// own queue entry (applied_at IS NULL, which a partial index serves), so
// storing an event and enqueueing its application are one atomic write;
// the drain job (DrainArgs) applies what is stored. Every caller learns the
// outcome of its own delivery only after its batch committed, so nothing is
// acknowledged that is not stored — but under load dozens of deliveries
// share one round trip and one commit instead of paying for four each.
type Ingester struct {
	Store *store.Store
	// MaxBatch bounds a batch (default 256); Writers is how many batches may
	// be in flight at once (default 1). One batch in flight is what makes
	// the next one grow: with four, a delivery nearly always found a writer
	// idle and was committed alone (under 8 senders 1.2 deliveries per
	// transaction, 16 senders 1.9); with one, 3.1 and 5.3, and a delivery
	// waits for at most the commit in flight and its own. Each transaction
	// saved is a round trip, a commit and PostgreSQL's per-statement work.
	MaxBatch, Writers int
	// Linger bounds how long a batch waits for the deliveries it expects
	// before it is written (default 1 ms; negative: never waits). A sender
	// answered by one commit usually sends again at once, so the next batch
	// expects as many deliveries as the last one had, plus those that
	// queued meanwhile, and is written as soon as they are in. Without the
	// wait, a sender's next delivery arrived just after the next batch had
	// left and waited for two commits: 8 senders shared commits three at a
	// time and each delivery cost PostgreSQL 65 µs; waiting for them (245
	// µs on average, the limit reached in 1% of batches) made it eight at a
	// time, 40 µs each, and raised the rate by a sixth. When fewer come
	// than expected the limit is paid once, and the next batch expects what
	// came; a lone delivery (the last batch had one) never waits.
	Linger time.Duration

	once   sync.Once
	reqs   chan *ingestReq
	closed chan struct{}
	wg     sync.WaitGroup
}

type ingestReq struct {
	ev    *store.InboundEvent
	reply chan ingestResult
}

type ingestResult struct {
	created bool
	err     error
}

// ErrClosed: the ingester was closed.
var ErrClosed = errors.New("ingester closed")

// reqPool keeps requests and their reply channels for reuse: one of each
// per delivery was garbage.
var reqPool = sync.Pool{New: func() any { return &ingestReq{reply: make(chan ingestResult, 1)} }}

// release returns r to the pool once no writer will touch it again.
func (r *ingestReq) release() {
	r.ev = nil
	reqPool.Put(r)
}

// Save stores ev unless an event with its dedupe key already is; created
// says which. It returns only once ev's batch has committed or failed.
func (g *Ingester) Save(ctx context.Context, ev *store.InboundEvent) (created bool, err error) {
	g.once.Do(g.start)
	r := reqPool.Get().(*ingestReq)
	r.ev = ev
	select {
	case g.reqs <- r:
	case <-g.closed:
		r.release()
		return false, ErrClosed
	case <-ctx.Done():
		r.release()
		return false, ctx.Err()
	}
	select {
	case res := <-r.reply:
		// The writer sent its one reply and is done with r.
		r.release()
		return res.created, res.err
	case <-ctx.Done():
		// The writer will still reply to r: it is not reused.
		return false, ctx.Err()
	}
}

func (g *Ingester) start() {
	if g.MaxBatch <= 0 {
		g.MaxBatch = 256
	}
	if g.Writers <= 0 {
		g.Writers = 1
	}
	if g.Linger == 0 {
		g.Linger = time.Millisecond
	}
	g.reqs = make(chan *ingestReq, g.MaxBatch)
	g.closed = make(chan struct{})
	for range g.Writers {
		g.wg.Add(1)
		go g.write()
	}
}

// Close stops the writers after the batches in flight.
func (g *Ingester) Close() {
	g.once.Do(g.start)
	select {
	case <-g.closed:
	default:
		close(g.closed)
	}
	g.wg.Wait()
}

func (g *Ingester) write() {
	defer g.wg.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	expect := 0
	for {
		var first *ingestReq
		select {
		case first = <-g.reqs:
		case <-g.closed:
			return
		}
		batch := gather(g.reqs, first, expect, g.MaxBatch, g.Linger, timer)
		g.commit(batch)
		// The senders just answered, and those who queued meanwhile.
		expect = len(batch) + len(g.reqs)
	}
}

// gather makes a batch of first and what follows on reqs: it waits, for at
// most linger, until the batch holds expect deliveries (when it expects
// more than one; never more than limit), then takes whatever else is
// queued, up to limit in all. timer is the writer's, stopped on return.
func gather(reqs <-chan *ingestReq, first *ingestReq, expect, limit int, linger time.Duration, timer *time.Timer) []*ingestReq {
	batch := []*ingestReq{first}
	expect = min(expect, limit)
	if expect > 1 && linger > 0 {
		timer.Reset(linger)
	wait:
		for len(batch) < expect {
			select {
			case r := <-reqs:
				batch = append(batch, r)
			case <-timer.C:
				break wait
			}
		}
		timer.Stop()
	}
	for len(batch) < limit {
		select {
		case r := <-reqs:
			batch = append(batch, r)
		default:
			return batch // what is queued now: no waiting beyond the expected
		}
	}
	return batch
}

// commit writes one batch and answers each request in it.
func (g *Ingester) commit(batch []*ingestReq) {
	type key struct {
		tenant int64
		dedupe string
	}
	first := map[key]int{} // a delivery repeated within the batch is a duplicate of its first copy
	var uniq []*store.InboundEvent
	for i, r := range batch {
		k := key{r.ev.TenantID, r.ev.DedupeKey}
		if _, seen := first[k]; !seen {
			first[k] = i
			uniq = append(uniq, r.ev)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	created, err := g.Store.InsertInboundEvents(ctx, uniq)
	isNew := map[key]bool{}
	for i, ev := range uniq {
		if err == nil && created[i] {
			isNew[key{ev.TenantID, ev.DedupeKey}] = true
		}
	}
	for i, r := range batch {
		k := key{r.ev.TenantID, r.ev.DedupeKey}
		r.reply <- ingestResult{created: isNew[k] && first[k] == i, err: err}
	}
}
