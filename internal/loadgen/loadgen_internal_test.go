package loadgen

import (
	"math/rand/v2"
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
