package audit

import (
	"net/url"
	"strconv"
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

// ParseFilter reads a filter from query parameters (the audit page's and
// audit.csv's, and `backstop audit export`'s flags): since and until (an
// RFC 3339 time, or a YYYY-MM-DD day: since from its start, until through
// its end), action and category (repeatable or comma-separated), actor and
// record. Errors name the parameter; the filter returned is validated.
func ParseFilter(v url.Values) (Filter, error) {
	var f Filter
	var err error
	if f.Since, err = parseInstant("since", v.Get("since"), false); err != nil {
		return f, err
	}
	if f.Until, err = parseInstant("until", v.Get("until"), true); err != nil {
		return f, err
	}
	f.Actions, f.Categories, f.Actor = splitList(v["action"]), splitList(v["category"]), strings.TrimSpace(v.Get("actor"))
	if rec := v.Get("record"); rec != "" {
		if f.RecordID, err = strconv.ParseInt(rec, 10, 64); err != nil || f.RecordID <= 0 {
			return f, derrors.Invalid("record", "%q is not a record id", rec)
		}
	}
	return f, f.Validate()
}

// Values is f as query parameters, for links to the next page or the CSV.
func (f Filter) Values() url.Values {
	v := url.Values{}
	if !f.Since.IsZero() {
		v.Set("since", f.Since.UTC().Format(time.RFC3339Nano))
	}
	if !f.Until.IsZero() {
		v.Set("until", f.Until.UTC().Format(time.RFC3339Nano))
	}
	for _, a := range f.Actions {
		v.Add("action", a)
	}
	for _, c := range f.Categories {
		v.Add("category", c)
	}
	if f.Actor != "" {
		v.Set("actor", f.Actor)
	}
	if f.RecordID != 0 {
		v.Set("record", strconv.FormatInt(f.RecordID, 10))
	}
	return v
}

// parseInstant reads an RFC 3339 time or a YYYY-MM-DD day: its start, or
// with endOfDay the next day's start (an exclusive bound that takes the
// whole day in). Empty is the zero time.
func parseInstant(field, v string, endOfDay bool) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if d, err := time.Parse(time.DateOnly, v); err == nil {
		if endOfDay {
			d = d.AddDate(0, 0, 1)
		}
		return d, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, derrors.Invalid(field, "%q is not an RFC 3339 time or a YYYY-MM-DD day", v)
	}
	return t.UTC(), nil
}

// splitList flattens repeated and comma-separated values.
func splitList(vs []string) []string {
	var out []string
	for _, v := range vs {
		for _, p := range strings.Split(v, ",") {
			out = append(out, strings.TrimSpace(p))
		}
	}
	return out
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

// String writes c for a page link: the time in microseconds since the
// epoch (PostgreSQL's precision) and the id.
func (c Cursor) String() string {
	return strconv.FormatInt(c.At.UnixMicro(), 10) + "_" + strconv.FormatInt(c.ID, 10)
}

// ParseCursor reads a Cursor.String; field names the parameter in the error.
func ParseCursor(field, s string) (Cursor, error) {
	at, id, ok := strings.Cut(s, "_")
	us, err1 := strconv.ParseInt(at, 10, 64)
	n, err2 := strconv.ParseInt(id, 10, 64)
	if !ok || err1 != nil || err2 != nil || us < 0 || n <= 0 {
		return Cursor{}, derrors.Invalid(field, "%q is not a position in the audit trail", s)
	}
	return Cursor{At: time.UnixMicro(us).UTC(), ID: n}, nil
}

// Cursor is the row's position, for the next page.
func (r *Row) Cursor() Cursor { return Cursor{At: r.At, ID: r.ID} }
