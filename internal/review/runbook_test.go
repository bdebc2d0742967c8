package review

import (
	"strings"
	"testing"
	"time"

	"backstop/internal/inbound"
	"backstop/internal/record"
)

func TestNextStep(t *testing.T) {
	now := time.Date(2026, 11, 5, 12, 0, 0, 0, time.UTC)
	rec := func(st record.Status, age time.Duration) *record.Record {
		return &record.Record{Kind: record.Gift, Status: st, AgeAt: now.Add(-age)}
	}
	obj := &inbound.Object{Kind: record.Gift, VirtuousID: 42}
	for _, tc := range []struct {
		name  string
		rec   *record.Record
		found bool
		want  Step
		words string
	}{
		{"nothing anywhere", nil, false, StepUnknown, "Neither Backstop nor Virtuous"},
		{"only in Virtuous", nil, true, StepApply, "missed webhook"},
		{"submitted 47h, 404", rec(record.Submitted, 47*time.Hour), false, StepWait, "47 hours ago"},
		{"submitted 49h, 404", rec(record.Submitted, 49*time.Hour), false, StepNeedsUpdate, "Import tool"},
		{"needs review, 404", rec(record.NeedsReview, 80*time.Hour), false, StepNeedsUpdate, "3 days after submission"},
		{"submitted, found", rec(record.Submitted, 30*time.Hour), true, StepApply, "gift 42"},
		{"needs review, found", rec(record.NeedsReview, 90*time.Hour), true, StepApply, "webhook was lost"},
		{"failed, found", rec(record.Failed, time.Hour), true, StepRetry, "dedupes"},
		{"failed, 404", rec(record.Failed, time.Hour), false, StepFailed, "Edit and retry"},
		{"pending", rec(record.Pending, time.Minute), false, StepQueued, "not sent it yet"},
		{"confirmed, found", rec(record.Confirmed, 100*time.Hour), true, StepInAgreement, "changes feed"},
		{"confirmed, 404", rec(record.Confirmed, 100*time.Hour), false, StepGone, "deleted or merged"},
		{"conflict", rec(record.Conflict, 100*time.Hour), true, StepConflict, "Resolve"},
		{"discarded", rec(record.Discarded, 100*time.Hour), true, StepDiscarded, "discarded"},
	} {
		o := obj
		if !tc.found {
			o = nil
		}
		got, words := NextStep(tc.rec, tc.found, o, now)
		if got != tc.want || !strings.Contains(words, tc.words) {
			t.Errorf("%s: got %s %q, want %s saying %q", tc.name, got, words, tc.want, tc.words)
		}
	}
}
