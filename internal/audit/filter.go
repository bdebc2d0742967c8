package audit

import (
	"strings"
	"time"

	"backstop/internal/derrors"
)

// Filter selects a tenant's audit entries, for the audit page and the CSV
// export alike. Zero fields select everything.
type Filter struct {
	Since time.Time // entries at or after
	Until time.Time // entries before
	// Actions and Categories match any of their values exactly.
	Actions    []string
	Categories []string
	Actor      string
	RecordID   int64
}

// maxValues bounds the values of one list filter (a query string is not a
// way to send the database ten thousand parameters).
const maxValues = 50

// Validate checks f before any query runs, naming the offending field.
func (f *Filter) Validate() error {
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Until.After(f.Since) {
		return derrors.Invalid("until", "must be after since (%s)", f.Since.UTC().Format(time.RFC3339))
	}
	if f.RecordID < 0 {
		return derrors.Invalid("record", "%d is not a record id", f.RecordID)
	}
	for _, l := range []struct {
		field  string
		values []string
	}{{"action", f.Actions}, {"category", f.Categories}} {
		if len(l.values) > maxValues {
			return derrors.Invalid(l.field, "at most %d values", maxValues)
		}
		for _, v := range l.values {
			if strings.TrimSpace(v) == "" {
				return derrors.Invalid(l.field, "must not be empty")
			}
		}
	}
	return nil
}

// Cursor is a position in the trail, for keyset pagination on (at, id).
type Cursor struct {
	At time.Time
	ID int64
}

// Row is an entry joined with what identifies its record: the platform's
// id and source reference, and the Virtuous transaction source and id.
// Entries with no record (a Virtuous-only object, an escalation) leave
// these empty.
type Row struct {
	Entry
	Tenant            string `db:"tenant_slug"`
	PlatformID        string `db:"platform_id"`
	Source            string `db:"source"`
	SourceRef         string `db:"source_ref"`
	TransactionSource string `db:"ext_source"`
	TransactionID     string `db:"ext_id"`
}

// Cursor is the row's position, for the next page.
func (r *Row) Cursor() Cursor { return Cursor{At: r.At, ID: r.ID} }
