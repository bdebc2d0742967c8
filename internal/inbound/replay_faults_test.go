//go:build faults

package inbound_test

// Under make test-faults the replay test runs 25 shuffles, each event
// delivered two or three times, instead of 4.
func init() { replayShuffles = 25 }
