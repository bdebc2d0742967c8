package inbound

import (
	"testing"
	"time"
)

// gather's waits are bounded by a linger of an hour here: a batch that
// waited longer than it should would hang the test rather than pass.
func TestGather(t *testing.T) {
	t.Parallel()
	req := func() *ingestReq { return &ingestReq{} }
	tests := []struct {
		name          string
		queued, later int // deliveries on the queue before, and sent after, gather starts
		expect, limit int
		linger        time.Duration
		want          int
	}{
		{name: "a lone delivery never waits", expect: 1, limit: 256, linger: time.Hour, want: 1},
		{name: "nothing expected never waits", expect: 0, limit: 256, linger: time.Hour, want: 1},
		{name: "no linger never waits", expect: 8, limit: 256, linger: -1, want: 1},
		{name: "waits for the expected and no longer", later: 3, expect: 4, limit: 256, linger: time.Hour, want: 4},
		{name: "queued ones count toward the expected", queued: 2, later: 1, expect: 4, limit: 256, linger: time.Hour, want: 4},
		{name: "takes all that is queued beyond the expected", queued: 6, expect: 2, limit: 256, linger: time.Hour, want: 7},
		{name: "the limit bounds what is queued", queued: 6, expect: 2, limit: 4, linger: time.Hour, want: 4},
		{name: "the limit bounds what is expected", later: 10, expect: 3, limit: 3, linger: time.Hour, want: 3},
		{name: "more expected than the limit waits for the limit", later: 10, expect: 8, limit: 3, linger: time.Hour, want: 3},
		{name: "writes what came when the linger ends", later: 1, expect: 5, limit: 256, linger: 50 * time.Millisecond, want: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reqs := make(chan *ingestReq, 256)
			for range tt.queued {
				reqs <- req()
			}
			for range tt.later {
				go func() { reqs <- req() }()
			}
			timer := time.NewTimer(time.Hour)
			timer.Stop()
			got := gather(reqs, req(), tt.expect, tt.limit, tt.linger, timer)
			if len(got) != tt.want {
				t.Errorf("got a batch of %d, want %d", len(got), tt.want)
			}
			if len(got) > tt.limit {
				t.Errorf("a batch of %d is over the limit %d", len(got), tt.limit)
			}
			// Let the senders of deliveries not taken finish.
			for len(got)+len(reqs) < 1+tt.queued+tt.later {
				time.Sleep(time.Millisecond)
			}
		})
	}
}
