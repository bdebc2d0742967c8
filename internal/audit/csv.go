package audit

import (
	"bufio"
	"context"
	"encoding/csv"
	"io"
	"strconv"
	"strings"
)

// Header is the export's first row, one name per column.
var Header = []string{"time", "tenant", "record_id", "platform_id", "source", "source_ref",
	"transaction_source", "transaction_id", "action", "category", "actor", "from_status",
	"to_status", "details"}

// TimeFormat is RFC 3339 in UTC with PostgreSQL's microseconds, fixed width
// so that the column sorts as text.
const TimeFormat = "2006-01-02T15:04:05.000000Z07:00"

// Streamer yields a tenant's entries matching a filter, oldest first, one
// at a time (the store reads them from a database cursor).
type Streamer interface {
	EachAudit(ctx context.Context, tenantID int64, f Filter, fn func(*Row) error) error
}

// Export writes tenantID's entries matching f to w as CSV — a header row,
// then one row per entry — streaming from st with constant memory, and
// returns how many entries it wrote. Bad filters fail before anything is
// written. The web handler and `backstop audit export` both call it.
func Export(ctx context.Context, w io.Writer, st Streamer, tenantID int64, f Filter) (n int64, err error) {
	if err := f.Validate(); err != nil {
		return 0, err
	}
	cw := NewCSVWriter(w)
	if err := cw.WriteHeader(); err != nil {
		return 0, err
	}
	err = st.EachAudit(ctx, tenantID, f, func(r *Row) error {
		n++
		return cw.Write(r)
	})
	if ferr := cw.Flush(); err == nil {
		err = ferr
	}
	return n, err
}

// CSVWriter writes audit rows as CSV, neutralising spreadsheet formulas.
type CSVWriter struct {
	buf *bufio.Writer
	csv *csv.Writer
	rec []string
}

// NewCSVWriter writes to w through a 64 KiB buffer.
func NewCSVWriter(w io.Writer) *CSVWriter {
	buf := bufio.NewWriterSize(w, 64<<10)
	return &CSVWriter{buf: buf, csv: csv.NewWriter(buf), rec: make([]string, len(Header))}
}

// WriteHeader writes the header row.
func (w *CSVWriter) WriteHeader() error { return w.csv.Write(Header) }

// Write writes one row; its cells go through Cell.
func (w *CSVWriter) Write(r *Row) error {
	rec := w.rec
	rec[0] = r.At.UTC().Format(TimeFormat)
	rec[1] = r.Tenant
	rec[2] = ""
	if r.RecordID != nil {
		rec[2] = strconv.FormatInt(*r.RecordID, 10)
	}
	rec[3], rec[4], rec[5] = r.PlatformID, r.Source, r.SourceRef
	rec[6], rec[7] = r.TransactionSource, r.TransactionID
	rec[8], rec[9], rec[10] = r.Action, r.Category, r.Actor
	rec[11], rec[12], rec[13] = r.FromStatus, r.ToStatus, string(r.Details)
	for i := range rec {
		rec[i] = Cell(rec[i])
	}
	return w.csv.Write(rec)
}

// Flush writes out what is buffered.
func (w *CSVWriter) Flush() error {
	w.csv.Flush()
	if err := w.csv.Error(); err != nil {
		return err
	}
	return w.buf.Flush()
}

// formulaStarts are the first characters that make a spreadsheet read a
// cell as a formula (or, for tab and carriage return, hide one behind
// whitespace): OWASP's CSV injection list.
const formulaStarts = "=+-@\t\r"

// Cell makes s safe for a spreadsheet: invalid UTF-8 is replaced, and a
// value that would be read as a formula is prefixed with a single quote,
// which spreadsheets show as text and do not evaluate. Every value is
// treated alike (a platform id "-42" too), so an export never depends on
// guessing which columns a person can influence.
func Cell(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if s != "" && strings.IndexByte(formulaStarts, s[0]) >= 0 {
		return "'" + s
	}
	return s
}
