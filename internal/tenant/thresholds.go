package tenant

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"backstop/internal/derrors"
)

// Thresholds are where a daily report's metrics turn from "healthy" to
// "investigate" (internal/report says how each is applied). The defaults
// follow the spec's "Building a reconciliation report" table; a tenant
// overrides any of them in tenants.thresholds (`backstop tenant set
// --threshold KEY=VALUE`).
type Thresholds struct {
	// PendingAge: pending investigates once the oldest pending record has
	// waited this long (the spec's "stays > 0 for hours").
	PendingAge time.Duration
	// SubmittedDays: submitted-past-stuck_after investigates when it is
	// above 0 in this many consecutive daily reports (the spec's "persistent").
	SubmittedDays int
	// NeedsReviewGrowthDays, ConflictGrowthDays: the count investigates
	// when it rose on each of this many consecutive days ("growing").
	NeedsReviewGrowthDays int
	ConflictGrowthDays    int
	// FailedMax: failed investigates above this count (spec: any non-zero).
	FailedMax int
	// LatencyIncreasePct, LatencyIncreaseDays, LatencyBaselineDays: a
	// latency percentile investigates when it is at least this much above
	// its baseline (the median of the baseline days before) on each of the
	// last LatencyIncreaseDays days ("sustained increases").
	LatencyIncreasePct  int
	LatencyIncreaseDays int
	LatencyBaselineDays int
	// RecoveredShareBP: the reconciliation-recovered share of the day's
	// syncs investigates at or above this many basis points (spec: healthy
	// below 1%).
	RecoveredShareBP int
}

// DefaultThresholds are the spec's.
func DefaultThresholds() Thresholds {
	return Thresholds{
		PendingAge: 2 * time.Hour, SubmittedDays: 2, NeedsReviewGrowthDays: 3, ConflictGrowthDays: 3,
		FailedMax: 0, LatencyIncreasePct: 10, LatencyIncreaseDays: 3, LatencyBaselineDays: 7,
		RecoveredShareBP: 100,
	}
}

// ThresholdSetting describes one key of tenants.thresholds.
type ThresholdSetting struct {
	Key      string
	Help     string
	min, max int64
	decimals int // digits after the point the value may have (pct values: 2)
	get      func(*Thresholds) *int
	getDur   func(*Thresholds) *time.Duration
}

// ThresholdSettings lists every key `tenant set --threshold` accepts.
var ThresholdSettings = []ThresholdSetting{
	{Key: "pending_age_minutes", Help: "pending investigates once its oldest record has waited this many minutes", min: 1, max: 7 * 24 * 60,
		getDur: func(t *Thresholds) *time.Duration { return &t.PendingAge }},
	{Key: "submitted_days", Help: "records submitted longer than stuck-after investigate when > 0 in this many consecutive daily reports", min: 1, max: 30,
		get: func(t *Thresholds) *int { return &t.SubmittedDays }},
	{Key: "needs_review_growth_days", Help: "needs_review investigates when it rose on each of this many consecutive days", min: 1, max: 30,
		get: func(t *Thresholds) *int { return &t.NeedsReviewGrowthDays }},
	{Key: "conflict_growth_days", Help: "conflict investigates when it rose on each of this many consecutive days", min: 1, max: 30,
		get: func(t *Thresholds) *int { return &t.ConflictGrowthDays }},
	{Key: "failed_max", Help: "failed investigates above this many records", min: 0, max: 1_000_000,
		get: func(t *Thresholds) *int { return &t.FailedMax }},
	{Key: "latency_increase_pct", Help: "a latency percentile investigates this many percent above its baseline…", min: 1, max: 1000,
		get: func(t *Thresholds) *int { return &t.LatencyIncreasePct }},
	{Key: "latency_increase_days", Help: "…on each of this many consecutive days…", min: 1, max: 14,
		get: func(t *Thresholds) *int { return &t.LatencyIncreaseDays }},
	{Key: "latency_baseline_days", Help: "…the baseline being the median of this many days before them", min: 1, max: 30,
		get: func(t *Thresholds) *int { return &t.LatencyBaselineDays }},
	{Key: "recovered_share_pct", Help: "the reconciliation-recovered share of the day's syncs investigates at or above this percentage (up to 2 decimals)",
		min: 1, max: 10000, decimals: 2, get: func(t *Thresholds) *int { return &t.RecoveredShareBP }},
}

func thresholdSetting(key string) (*ThresholdSetting, bool) {
	for i := range ThresholdSettings {
		if ThresholdSettings[i].Key == key {
			return &ThresholdSettings[i], true
		}
	}
	return nil, false
}

// parse reads a JSON number for s into its stored integer (minutes, days,
// basis points…), refusing what is not a plain decimal within range.
func (s *ThresholdSetting) parse(raw json.RawMessage) (int64, error) {
	txt := strings.TrimSpace(string(raw))
	whole, frac, _ := strings.Cut(txt, ".")
	if whole == "" || strings.TrimLeft(whole, "0123456789") != "" || strings.TrimLeft(frac, "0123456789") != "" ||
		(strings.Contains(txt, ".") && frac == "") {
		return 0, fmt.Errorf("%s: %s is not a non-negative number", s.Key, txt)
	}
	if len(strings.TrimRight(frac, "0")) > s.decimals {
		if s.decimals == 0 {
			return 0, fmt.Errorf("%s: %s must be a whole number", s.Key, txt)
		}
		return 0, fmt.Errorf("%s: %s has more than %d decimals", s.Key, txt, s.decimals)
	}
	frac = (frac + strings.Repeat("0", s.decimals))[:s.decimals]
	v, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil || v < s.min || v > s.max {
		return 0, fmt.Errorf("%s: %s is outside %s–%s", s.Key, txt, s.format(s.min), s.format(s.max))
	}
	return v, nil
}

func (s *ThresholdSetting) format(v int64) string {
	if s.decimals == 0 {
		return strconv.FormatInt(v, 10)
	}
	unit := int64(1)
	for range s.decimals {
		unit *= 10
	}
	out := fmt.Sprintf("%d.%0*d", v/unit, s.decimals, v%unit)
	return strings.TrimSuffix(strings.TrimRight(out, "0"), ".")
}

// Default is the setting's default, as a value for --threshold.
func (s *ThresholdSetting) Default() string {
	th := DefaultThresholds()
	if s.getDur != nil {
		return s.format(int64(*s.getDur(&th) / time.Minute))
	}
	return s.format(int64(*s.get(&th)))
}

func (s *ThresholdSetting) set(t *Thresholds, v int64) {
	if s.getDur != nil {
		*s.getDur(t) = time.Duration(v) * time.Minute
		return
	}
	*s.get(t) = int(v)
}

// ValidateThreshold checks one KEY=VALUE of `tenant set --threshold`.
func ValidateThreshold(key string, raw json.RawMessage) error {
	s, ok := thresholdSetting(key)
	if !ok {
		return derrors.Invalid("threshold", "unknown metric threshold %q (known: %s)", key, thresholdKeys())
	}
	if _, err := s.parse(raw); err != nil {
		return derrors.Invalid("threshold", "%v", err)
	}
	return nil
}

func thresholdKeys() string {
	keys := make([]string, len(ThresholdSettings))
	for i, s := range ThresholdSettings {
		keys[i] = s.Key
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}

// ReportThresholds returns the tenant's thresholds, defaults filled in. A
// stored value that no longer validates (edited by hand) keeps its default.
func (t *Tenant) ReportThresholds() Thresholds {
	th := DefaultThresholds()
	var set map[string]json.RawMessage
	if len(t.Thresholds) == 0 || json.Unmarshal(t.Thresholds, &set) != nil {
		return th
	}
	for k, raw := range set {
		if s, ok := thresholdSetting(k); ok {
			if v, err := s.parse(raw); err == nil {
				s.set(&th, v)
			}
		}
	}
	return th
}
