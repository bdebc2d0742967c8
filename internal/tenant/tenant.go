// Package tenant defines a customer of Backstop — one Virtuous organization —
// and its settings: reconciliation windows and cadences, the drift policy and
// per-field owners, report thresholds. It validates changes to them; the
// store persists them.
package tenant

import (
	"cmp"
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"time"

	"backstop/internal/derrors"
	"backstop/internal/record"
	"backstop/internal/secret"
)

// Tenant is one customer. Secrets stay sealed here; callers open them with a
// secret.Box only where they are used.
type Tenant struct {
	ID                   int64           `db:"id"`
	Slug                 string          `db:"slug"`
	Name                 string          `db:"name"`
	VirtuousBaseURL      string          `db:"virtuous_base_url"`
	VirtuousAppURL       string          `db:"virtuous_app_url"`
	VirtuousKeyEnc       []byte          `db:"virtuous_key_enc"`
	WebhookSecretEnc     []byte          `db:"webhook_secret_enc"`
	WebhookTokenEnc      []byte          `db:"webhook_token_enc"`
	SignatureHeader      string          `db:"signature_header"`
	IntakeTokenHash      []byte          `db:"intake_token_hash"`
	SourceStripe         string          `db:"source_stripe"`
	SourceEventbrite     string          `db:"source_eventbrite"`
	SourceOther          string          `db:"source_other"`
	StuckAfterS          int             `db:"stuck_after_s"`
	NeedsReviewAfterS    int             `db:"needs_review_after_s"`
	LookbackS            int             `db:"lookback_s"`
	MissedEveryS         int             `db:"missed_every_s"`
	StuckEveryS          int             `db:"stuck_every_s"`
	DriftEveryS          int             `db:"drift_every_s"`
	DailyAtHour          int             `db:"daily_at_hour"`
	DriftPolicy          DriftPolicy     `db:"drift_policy"`
	FieldOwners          json.RawMessage `db:"field_owners"`
	SubmitMaxAttempts    int             `db:"submit_max_attempts"`
	RateReservePct       int             `db:"rate_reserve_pct"`
	AgeAmberS            int             `db:"age_amber_s"`
	AgeRedS              int             `db:"age_red_s"`
	DriftEscalateRecords int             `db:"drift_escalate_records"`
	Thresholds           json.RawMessage `db:"thresholds"`
	CreatedAt            time.Time       `db:"created_at"`
	UpdatedAt            time.Time       `db:"updated_at"`
}

func secs(n int) time.Duration { return time.Duration(n) * time.Second }

// StuckAfter is how long a submitted record may wait before a lookup (24h).
func (t *Tenant) StuckAfter() time.Duration { return secs(t.StuckAfterS) }

// NeedsReviewAfter is when a still-404 record is handed to the customer (72h).
func (t *Tenant) NeedsReviewAfter() time.Duration { return secs(t.NeedsReviewAfterS) }

// Lookback is how far behind the watermark the missed pass re-reads.
func (t *Tenant) Lookback() time.Duration { return secs(t.LookbackS) }

// TransactionSource is the transactionSource (or referenceSource) this tenant
// uses for records from src, unless the platform names one itself.
func (t *Tenant) TransactionSource(src record.Source) string {
	switch src {
	case record.Stripe:
		return t.SourceStripe
	case record.Eventbrite:
		return t.SourceEventbrite
	default:
		return t.SourceOther
	}
}

// Owners returns the per-field owners, defaults filled in.
func (t *Tenant) Owners() map[Field]Side {
	out := DefaultOwners()
	var set map[Field]Side
	if len(t.FieldOwners) > 0 && json.Unmarshal(t.FieldOwners, &set) == nil {
		for f, s := range set {
			out[f] = s
		}
	}
	return out
}

// DriftPolicy is how the drift pass resolves a difference between the sides.
type DriftPolicy string

const (
	PolicyManual     DriftPolicy = "manual"      // a conflict for the customer to decide
	PolicyMostRecent DriftPolicy = "most-recent" // the side changed last wins
	PolicyOwnership  DriftPolicy = "ownership"   // each field's owner wins
	PolicyVirtuous   DriftPolicy = "virtuous"    // Virtuous is canonical
)

// Valid reports whether p is a known policy.
func (p DriftPolicy) Valid() bool {
	switch p {
	case PolicyManual, PolicyMostRecent, PolicyOwnership, PolicyVirtuous:
		return true
	}
	return false
}

// Side names one end of the sync.
type Side string

const (
	Platform Side = "platform"
	Virtuous Side = "virtuous"
)

// Field is one compared field of the drift mapping (record.Fields).
type Field = record.Field

// DefaultOwners: the platform owns the money (it took the payment); Virtuous
// owns the donor's contact details, which the customer's staff maintain there.
func DefaultOwners() map[Field]Side {
	return map[Field]Side{
		record.FieldAmount: Platform, record.FieldCurrency: Platform, record.FieldGiftDate: Platform,
		record.FieldGiftType: Platform, record.FieldDesignations: Platform,
		record.FieldFirstName: Virtuous, record.FieldLastName: Virtuous, record.FieldEmail: Virtuous,
		record.FieldPhone: Virtuous, record.FieldAddress: Virtuous,
	}
}

var slugRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$`)

// ValidateSlug checks a tenant slug: what appears in URLs.
func ValidateSlug(slug string) error {
	if !slugRE.MatchString(slug) {
		return derrors.Invalid("slug", "%q is not a valid slug: use 1–40 lower-case letters, digits and inner hyphens", slug)
	}
	return nil
}

// ValidateURL checks an absolute http(s) URL.
func ValidateURL(field, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return derrors.Invalid(field, "%q is not an absolute http(s) URL", raw)
	}
	return nil
}

// NewTenant is what `tenant add` asks for.
type NewTenant struct {
	Slug            string
	Name            string
	VirtuousBaseURL string
	VirtuousAppURL  string
	VirtuousKey     string
	WebhookSecret   string
}

// Validate checks a new tenant before anything is written.
func (n *NewTenant) Validate() error {
	if err := ValidateSlug(n.Slug); err != nil {
		return err
	}
	if strings.TrimSpace(n.Name) == "" {
		return derrors.Invalid("name", "must not be empty")
	}
	if err := ValidateURL("virtuous-url", n.VirtuousBaseURL); err != nil {
		return err
	}
	if n.VirtuousAppURL != "" {
		if err := ValidateURL("virtuous-app-url", n.VirtuousAppURL); err != nil {
			return err
		}
	}
	if strings.TrimSpace(n.VirtuousKey) == "" {
		return derrors.Invalid("virtuous-key", "must not be empty")
	}
	return nil
}

// ValidateOwner checks a FIELD=side pair for the ownership policy.
func ValidateOwner(f Field, s Side) error {
	known := false
	for _, k := range record.Fields {
		known = known || k == f
	}
	if !known {
		return derrors.Invalid("field-owner", "unknown field %q (fields: %s)", f, joinFields())
	}
	if s != Platform && s != Virtuous {
		return derrors.Invalid("field-owner", "owner of %s must be platform or virtuous, not %q", f, s)
	}
	return nil
}

func joinFields() string {
	names := make([]string, len(record.Fields))
	for i, f := range record.Fields {
		names[i] = string(f)
	}
	return strings.Join(names, ", ")
}

// CheckRange validates a duration setting against its bounds.
func CheckRange(field string, d, min, max time.Duration) error {
	if d < min || d > max {
		return derrors.Invalid(field, "%s is outside %s–%s", d, min, max)
	}
	return nil
}

// Build seals n's secrets and makes its tokens: the intake token (returned
// once, stored only as a hash) and the webhook path token (sealed, so the
// webhook URL can be shown again).
func (n *NewTenant) Build(box *secret.Box) (t *Tenant, intakeToken, webhookToken string) {
	intakeToken = secret.NewToken("bsi_")
	webhookToken = secret.NewToken("")
	t = &Tenant{
		Slug:            n.Slug,
		Name:            strings.TrimSpace(n.Name),
		VirtuousBaseURL: strings.TrimRight(n.VirtuousBaseURL, "/"),
		VirtuousAppURL:  strings.TrimRight(cmp.Or(n.VirtuousAppURL, "https://app.virtuoussoftware.com"), "/"),
		VirtuousKeyEnc:  box.Seal(n.VirtuousKey),
		WebhookTokenEnc: box.Seal(webhookToken),
		IntakeTokenHash: secret.HashToken(intakeToken),
	}
	if n.WebhookSecret != "" {
		t.WebhookSecretEnc = box.Seal(n.WebhookSecret)
	}
	return t, intakeToken, webhookToken
}

// WebhookURL is the address to give Virtuous for this tenant's subscription.
func WebhookURL(baseURL, slug, token string) string {
	return strings.TrimRight(baseURL, "/") + "/webhooks/virtuous/" + slug + "/" + token
}
