// Package record defines what a synced record is: its kinds, sources and
// statuses, the lifecycle's transition table, and the validation of what the
// platform sends. It holds no SQL; internal/store persists these types.
package record

import (
	"encoding/json"
	"time"
)

// Kind is what the record becomes in Virtuous.
type Kind string

const (
	Gift    Kind = "gift"
	Contact Kind = "contact"
)

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { return k == Gift || k == Contact }

// Source is where the platform took the record from.
type Source string

const (
	Stripe     Source = "stripe"
	Eventbrite Source = "eventbrite"
	Other      Source = "other"
)

// Valid reports whether s is a known source.
func (s Source) Valid() bool { return s == Stripe || s == Eventbrite || s == Other }

// ConfirmedVia says how Backstop learned that Virtuous holds the record.
type ConfirmedVia string

const (
	ViaWebhook        ConfirmedVia = "webhook"
	ViaReconciliation ConfirmedVia = "reconciliation"
	ViaLookup         ConfirmedVia = "lookup"
	ViaManual         ConfirmedVia = "manual"
)

// Record is one row of the sync queue.
type Record struct {
	ID                 int64           `db:"id" json:"id"`
	TenantID           int64           `db:"tenant_id" json:"-"`
	Kind               Kind            `db:"kind" json:"kind"`
	PlatformID         string          `db:"platform_id" json:"platform_id"`
	Source             Source          `db:"source" json:"source"`
	SourceRef          string          `db:"source_ref" json:"source_ref"`
	SourceMeta         json.RawMessage `db:"source_meta" json:"source_meta,omitempty"`
	ExtSource          string          `db:"ext_source" json:"ext_source"`
	ExtID              string          `db:"ext_id" json:"ext_id"`
	Status             Status          `db:"status" json:"status"`
	Payload            json.RawMessage `db:"payload" json:"transaction"`
	PayloadSHA         []byte          `db:"payload_sha" json:"-"`
	DonorName          string          `db:"donor_name" json:"donor_name"`
	DonorEmail         string          `db:"donor_email" json:"donor_email"`
	AmountMinor        *int64          `db:"amount_minor" json:"amount_minor,omitempty"`
	Currency           *string         `db:"currency" json:"currency,omitempty"`
	GiftDate           *time.Time      `db:"gift_date" json:"gift_date,omitempty"`
	VirtuousID         *int64          `db:"virtuous_id" json:"virtuous_id,omitempty"`
	VirtuousContactID  *int64          `db:"virtuous_contact_id" json:"virtuous_contact_id,omitempty"`
	VirtuousData       json.RawMessage `db:"virtuous_data" json:"-"`
	VirtuousModifiedAt *time.Time      `db:"virtuous_modified_at" json:"virtuous_modified_at,omitempty"`
	VirtuousDeletedAt  *time.Time      `db:"virtuous_deleted_at" json:"virtuous_deleted_at,omitempty"`
	CreatedAt          time.Time       `db:"created_at" json:"created_at"`
	PlatformUpdatedAt  time.Time       `db:"platform_updated_at" json:"platform_updated_at"`
	UpdatedAt          time.Time       `db:"updated_at" json:"updated_at"`
	SubmittedAt        *time.Time      `db:"submitted_at" json:"submitted_at,omitempty"`
	ConfirmedAt        *time.Time      `db:"confirmed_at" json:"confirmed_at,omitempty"`
	LastSyncAt         *time.Time      `db:"last_sync_at" json:"last_sync_at,omitempty"`
	ConfirmedVia       *ConfirmedVia   `db:"confirmed_via" json:"confirmed_via,omitempty"`
	Attempts           int             `db:"attempts" json:"attempts"`
	LastError          string          `db:"last_error" json:"last_error,omitempty"`
	DriftDirty         bool            `db:"drift_dirty" json:"-"`
	Version            int64           `db:"version" json:"version"`
	AgeAt              time.Time       `db:"age_at" json:"-"`
}
