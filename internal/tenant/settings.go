package tenant

import (
	"encoding/json"
	"strings"
	"time"

	"backstop/internal/derrors"
)

// Patch is a change to a tenant's settings: nil fields stay as they are.
type Patch struct {
	Name, VirtuousBaseURL, VirtuousAppURL, SignatureHeader        *string
	SourceStripe, SourceEventbrite, SourceOther                   *string
	StuckAfter, NeedsReviewAfter, Lookback                        *time.Duration
	MissedEvery, StuckEvery, DriftEvery, AgeAmber, AgeRed         *time.Duration
	DailyAtHour, SubmitMaxAttempts, RatePct, DriftEscalateRecords *int
	DriftPolicy                                                   *DriftPolicy
	FieldOwners                                                   map[Field]Side
	Thresholds                                                    map[string]json.RawMessage
}

// Bounds for durations, from the spec where it gives them: the missed pass
// runs every 4–12 hours; the needs-review window follows the stuck window.
var (
	boundStuckAfter  = [2]time.Duration{time.Hour, 7 * 24 * time.Hour}
	boundNeedsReview = [2]time.Duration{time.Hour, 30 * 24 * time.Hour}
	boundLookback    = [2]time.Duration{time.Hour, 7 * 24 * time.Hour}
	boundMissedEvery = [2]time.Duration{4 * time.Hour, 12 * time.Hour}
	boundStuckEvery  = [2]time.Duration{time.Hour, 24 * time.Hour}
	boundDriftEvery  = [2]time.Duration{time.Hour, 7 * 24 * time.Hour}
	boundAge         = [2]time.Duration{time.Minute, 365 * 24 * time.Hour}
)

// Apply validates p against t and, only when all of it is valid, applies it.
// Nothing is changed on error.
func (t *Tenant) Apply(p Patch) error {
	next := *t
	if err := next.apply(p); err != nil {
		return err
	}
	if err := next.checkConsistent(); err != nil {
		return err
	}
	*t = next
	return nil
}

func (t *Tenant) apply(p Patch) error {
	if err := setString(&t.Name, p.Name, "name"); err != nil {
		return err
	}
	if p.VirtuousBaseURL != nil {
		if err := ValidateURL("virtuous-url", *p.VirtuousBaseURL); err != nil {
			return err
		}
		t.VirtuousBaseURL = strings.TrimRight(*p.VirtuousBaseURL, "/")
	}
	if p.VirtuousAppURL != nil {
		if err := ValidateURL("virtuous-app-url", *p.VirtuousAppURL); err != nil {
			return err
		}
		t.VirtuousAppURL = strings.TrimRight(*p.VirtuousAppURL, "/")
	}
	for _, s := range []struct {
		dst   *string
		val   *string
		field string
	}{
		{&t.SignatureHeader, p.SignatureHeader, "signature-header"},
		{&t.SourceStripe, p.SourceStripe, "source-stripe"},
		{&t.SourceEventbrite, p.SourceEventbrite, "source-eventbrite"},
		{&t.SourceOther, p.SourceOther, "source-other"},
	} {
		if err := setString(s.dst, s.val, s.field); err != nil {
			return err
		}
	}
	for _, d := range []struct {
		dst   *int
		val   *time.Duration
		field string
		bound [2]time.Duration
	}{
		{&t.StuckAfterS, p.StuckAfter, "stuck-after", boundStuckAfter},
		{&t.NeedsReviewAfterS, p.NeedsReviewAfter, "needs-review-after", boundNeedsReview},
		{&t.LookbackS, p.Lookback, "lookback", boundLookback},
		{&t.MissedEveryS, p.MissedEvery, "missed-every", boundMissedEvery},
		{&t.StuckEveryS, p.StuckEvery, "stuck-every", boundStuckEvery},
		{&t.DriftEveryS, p.DriftEvery, "drift-every", boundDriftEvery},
		{&t.AgeAmberS, p.AgeAmber, "age-amber", boundAge},
		{&t.AgeRedS, p.AgeRed, "age-red", boundAge},
	} {
		if d.val == nil {
			continue
		}
		if err := CheckRange(d.field, *d.val, d.bound[0], d.bound[1]); err != nil {
			return err
		}
		*d.dst = int(d.val.Seconds())
	}
	for _, n := range []struct {
		dst      *int
		val      *int
		field    string
		min, max int
	}{
		{&t.DailyAtHour, p.DailyAtHour, "daily-at-hour", 0, 23},
		{&t.SubmitMaxAttempts, p.SubmitMaxAttempts, "submit-max-attempts", 1, 25},
		{&t.RateReservePct, p.RatePct, "rate-reserve-pct", 0, 90},
		{&t.DriftEscalateRecords, p.DriftEscalateRecords, "drift-escalate-records", 1, 1_000_000},
	} {
		if n.val == nil {
			continue
		}
		if *n.val < n.min || *n.val > n.max {
			return derrors.Invalid(n.field, "%d is outside %d–%d", *n.val, n.min, n.max)
		}
		*n.dst = *n.val
	}
	if p.DriftPolicy != nil {
		if !p.DriftPolicy.Valid() {
			return derrors.Invalid("drift-policy", "%q is not a policy (manual, most-recent, ownership, virtuous)", *p.DriftPolicy)
		}
		t.DriftPolicy = *p.DriftPolicy
	}
	if len(p.FieldOwners) > 0 {
		owners := t.Owners()
		for f, s := range p.FieldOwners {
			if err := ValidateOwner(f, s); err != nil {
				return err
			}
			owners[f] = s
		}
		b, _ := json.Marshal(owners)
		t.FieldOwners = b
	}
	if len(p.Thresholds) > 0 {
		cur := map[string]json.RawMessage{}
		if len(t.Thresholds) > 0 {
			json.Unmarshal(t.Thresholds, &cur)
		}
		for k, v := range p.Thresholds {
			if err := ValidateThreshold(k, v); err != nil {
				return err
			}
			cur[k] = v
		}
		b, _ := json.Marshal(cur)
		t.Thresholds = b
	}
	return nil
}

func (t *Tenant) checkConsistent() error {
	if t.NeedsReviewAfterS <= t.StuckAfterS {
		return derrors.Invalid("needs-review-after", "must be longer than stuck-after (%s), since a record is looked up before it is handed to the customer",
			secs(t.StuckAfterS))
	}
	if t.AgeRedS <= t.AgeAmberS {
		return derrors.Invalid("age-red", "must be longer than age-amber (%s)", secs(t.AgeAmberS))
	}
	return nil
}

func setString(dst, val *string, field string) error {
	if val == nil {
		return nil
	}
	v := strings.TrimSpace(*val)
	if v == "" {
		return derrors.Invalid(field, "must not be empty")
	}
	*dst = v
	return nil
}
