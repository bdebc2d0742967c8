package virtuoussim

import (
	"sync"
	"testing"
	"time"
)

// TestConcurrentUse hammers one org from several clients while batches,
// edits and webhook deliveries run, for the race detector and to catch lock
// order mistakes (it would hang).
func TestConcurrentUse(t *testing.T) {
	e := newEnv(t, Options{})
	rc := newReceiver(t)
	e.org.Subscribe(rc.srv.URL, "k", "")
	e.org.SetConfig(OrgConfig{WebhookDupRate: 0.2, WebhookLossRate: 0.1, UnmatchedRate: 0.1,
		WebhookRetries: []time.Duration{5 * time.Millisecond}})
	const workers, each = 6, 20
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				id := "c" + itoa(w) + "-" + itoa(i%15) // some repeats
				e.submit("Conc", id, id+"@example.org", "3.00")
				e.do("GET", giftPath("Conc", id), nil)
				if i%5 == 0 {
					e.query("/api/Gift/Query/FullGift?take=50", groups([]map[string]any{cond("Last Modified Date", "OnOrAfter", "Yesterday")}))
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 10 {
			e.org.RunBatch()
			for _, g := range e.org.Gifts() {
				_ = e.org.EditGift(g.ID, GiftEdit{Notes: ptr("edited")})
				break
			}
			e.clock.Advance(time.Hour)
			time.Sleep(2 * time.Millisecond)
		}
	}()
	wg.Wait()
	e.org.RunBatch()
	e.waitIdle()
	keys := map[string]bool{}
	for _, g := range e.org.Gifts() {
		if keys[g.TransactionID] {
			t.Errorf("two gifts for %s", g.TransactionID)
		}
		keys[g.TransactionID] = true
	}
	if len(keys)+len(e.org.Bucket()) != workers*15 {
		t.Errorf("%d gifts + %d in the bucket, want %d keys", len(keys), len(e.org.Bucket()), workers*15)
	}
}
