package tenant

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"backstop/internal/derrors"
	"backstop/internal/record"
)

func base() *Tenant {
	return &Tenant{Slug: "acme", Name: "Acme", StuckAfterS: 86400, NeedsReviewAfterS: 259200, LookbackS: 86400,
		MissedEveryS: 21600, StuckEveryS: 10800, DriftEveryS: 86400, AgeAmberS: 259200, AgeRedS: 604800,
		DriftPolicy: PolicyManual, SubmitMaxAttempts: 8, RateReservePct: 20, DriftEscalateRecords: 50}
}

func d(x time.Duration) *time.Duration { return &x }
func n(x int) *int                     { return &x }

func TestApply(t *testing.T) {
	t.Parallel()
	policy := PolicyOwnership
	for _, tc := range []struct {
		name  string
		patch Patch
		field string // "" = valid
	}{
		{"missed every 4h", Patch{MissedEvery: d(4 * time.Hour)}, ""},
		{"missed every 12h", Patch{MissedEvery: d(12 * time.Hour)}, ""},
		{"missed every 3h59m", Patch{MissedEvery: d(4*time.Hour - time.Minute)}, "missed-every"},
		{"missed every 13h", Patch{MissedEvery: d(13 * time.Hour)}, "missed-every"},
		{"needs review before stuck", Patch{NeedsReviewAfter: d(23 * time.Hour)}, "needs-review-after"},
		{"stuck after and needs review together", Patch{StuckAfter: d(12 * time.Hour), NeedsReviewAfter: d(36 * time.Hour)}, ""},
		{"red before amber", Patch{AgeRed: d(time.Hour)}, "age-red"},
		{"hour 24", Patch{DailyAtHour: n(24)}, "daily-at-hour"},
		{"reserve 95%", Patch{RatePct: n(95)}, "rate-reserve-pct"},
		{"policy", Patch{DriftPolicy: &policy}, ""},
		{"owner", Patch{FieldOwners: map[Field]Side{record.FieldEmail: Platform}}, ""},
		{"owner of unknown field", Patch{FieldOwners: map[Field]Side{"shoe": Platform}}, "field-owner"},
		{"owner nobody", Patch{FieldOwners: map[Field]Side{record.FieldEmail: "nobody"}}, "field-owner"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tn := base()
			before := *tn
			err := tn.Apply(tc.patch)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("got %v, want success", err)
				}
				return
			}
			var fe *derrors.FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("got %v, want an error on %s", err, tc.field)
			}
			if tn.MissedEveryS != before.MissedEveryS || tn.NeedsReviewAfterS != before.NeedsReviewAfterS || tn.AgeRedS != before.AgeRedS || string(tn.FieldOwners) != string(before.FieldOwners) {
				t.Error("a refused patch changed the tenant")
			}
		})
	}
	tn := base()
	tn.Apply(Patch{FieldOwners: map[Field]Side{record.FieldEmail: Platform}})
	if o := tn.Owners(); o[record.FieldEmail] != Platform || o[record.FieldAmount] != Platform || o[record.FieldPhone] != Virtuous {
		t.Errorf("owners %v: want email platform, the rest defaults", o)
	}
}

func TestThresholds(t *testing.T) {
	t.Parallel()
	tn := base()
	if got := tn.ReportThresholds(); got != DefaultThresholds() {
		t.Errorf("no thresholds set: got %+v, want the defaults", got)
	}
	for _, tc := range []struct {
		key, value string
		ok         bool
	}{
		{"pending_age_minutes", "1", true}, {"pending_age_minutes", "10080", true}, {"pending_age_minutes", "10081", false},
		{"pending_age_minutes", "0", false}, {"failed_max", "0", true}, {"failed_max", "2.0", true}, {"failed_max", "2.5", false},
		{"recovered_share_pct", "0.01", true}, {"recovered_share_pct", "0.001", false}, {"recovered_share_pct", "100", true},
		{"recovered_share_pct", "100.01", false}, {"recovered_share_pct", "1e2", false}, {"recovered_share_pct", ".5", false},
		{"submitted_days", "-1", false}, {"submitted_days", `"2"`, false}, {"latency_increase_days", "14", true}, {"nope", "1", false},
	} {
		err := ValidateThreshold(tc.key, []byte(tc.value))
		var fe *derrors.FieldError
		if tc.ok != (err == nil) || (err != nil && (!errors.As(err, &fe) || fe.Field != "threshold")) {
			t.Errorf("%s=%s: got %v, want ok=%v (errors on field threshold)", tc.key, tc.value, err, tc.ok)
		}
	}
	before := *tn
	if err := tn.Apply(Patch{Thresholds: map[string]json.RawMessage{"failed_max": json.RawMessage("3"), "oops": json.RawMessage("1")}}); err == nil ||
		string(tn.Thresholds) != string(before.Thresholds) {
		t.Errorf("a patch with one bad threshold: got %v and thresholds %s, want an error and nothing changed", err, tn.Thresholds)
	}
	if err := tn.Apply(Patch{Thresholds: map[string]json.RawMessage{"pending_age_minutes": json.RawMessage("30"), "recovered_share_pct": json.RawMessage("2.5")}}); err != nil {
		t.Fatal(err)
	}
	got := tn.ReportThresholds()
	if got.PendingAge != 30*time.Minute || got.RecoveredShareBP != 250 || got.FailedMax != 0 {
		t.Errorf("got %+v, want 30m pending, 250 bp, the rest defaults", got)
	}
}
