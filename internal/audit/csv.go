package audit

import (
	"bytes"
	"context"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Header is the export's first row, one name per column.
var Header = []string{"time", "tenant", "record_id", "platform_id", "source", "source_ref",
	"transaction_source", "transaction_id", "action", "category", "actor", "from_status",
	"to_status", "details"}

// TimeFormat is RFC 3339 in UTC with PostgreSQL's microseconds, fixed width
// so that the column sorts as text.
const TimeFormat = "2006-01-02T15:04:05.000000Z07:00"

// ExportRow is one entry as the export writes it, its fields in Header's
// order. The byte slices are the database driver's and stay valid only
// until the callback that receives the row returns: a row costs no copy.
type ExportRow struct {
	At                time.Time
	Tenant            []byte
	RecordID          int64 // 0 for an entry without a record
	PlatformID        []byte
	Source            []byte
	SourceRef         []byte
	TransactionSource []byte
	TransactionID     []byte
	Action            []byte
	Category          []byte
	Actor             []byte
	FromStatus        []byte
	ToStatus          []byte
	Details           []byte // JSON
}

// Streamer yields a tenant's entries matching a filter, oldest first, one
// at a time, as they arrive from the database.
type Streamer interface {
	StreamAudit(ctx context.Context, tenantID int64, f Filter, fn func(*ExportRow) error) error
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
	err = st.StreamAudit(ctx, tenantID, f, func(r *ExportRow) error {
		n++
		return cw.Write(r)
	})
	if ferr := cw.Flush(); err == nil {
		err = ferr
	}
	return n, err
}

// CSVWriter writes audit rows as CSV, neutralising spreadsheet formulas.
// Its output is byte for byte what encoding/csv writes for the same cells
// passed through Cell (FuzzCSVCell checks it), without encoding/csv's
// []string per row: the cells are appended to one buffer as they are.
type CSVWriter struct {
	w   io.Writer
	buf []byte
	err error
}

// flushAt is how full the buffer gets before it is written out: a Linux
// pipe's capacity, some 300 rows, 3,300 writes for a million. 256 KiB
// measured no different.
const flushAt = 64 << 10

// NewCSVWriter writes to w in chunks of about 64 KiB.
func NewCSVWriter(w io.Writer) *CSVWriter {
	return &CSVWriter{w: w, buf: make([]byte, 0, flushAt+4<<10)} // room for the row that crosses flushAt
}

// WriteHeader writes the header row.
func (w *CSVWriter) WriteHeader() error {
	for i, h := range Header {
		if i > 0 {
			w.buf = append(w.buf, ',')
		}
		w.buf = appendCell(w.buf, []byte(h))
	}
	return w.endRow()
}

// Write writes one row; every cell is neutralised as Cell does.
func (w *CSVWriter) Write(r *ExportRow) error {
	var num [32]byte
	b := appendCell(w.buf, appendTime(num[:0], r.At))
	b = append(b, ',')
	b = appendCell(b, r.Tenant)
	b = append(b, ',')
	if r.RecordID != 0 {
		b = appendCell(b, strconv.AppendInt(num[:0], r.RecordID, 10))
	}
	for _, c := range [...][]byte{r.PlatformID, r.Source, r.SourceRef, r.TransactionSource, r.TransactionID,
		r.Action, r.Category, r.Actor, r.FromStatus, r.ToStatus, r.Details} {
		b = append(b, ',')
		b = appendCell(b, c)
	}
	w.buf = b
	return w.endRow()
}

// endRow ends the row as encoding/csv does (with \n) and writes the buffer
// out once it is full.
func (w *CSVWriter) endRow() error {
	w.buf = append(w.buf, '\n')
	if len(w.buf) >= flushAt {
		return w.Flush()
	}
	return w.err
}

// Flush writes out what is buffered. After a failed write every call
// returns that error, and what is written since is dropped.
func (w *CSVWriter) Flush() error {
	if w.err == nil && len(w.buf) > 0 {
		_, w.err = w.w.Write(w.buf)
	}
	w.buf = w.buf[:0]
	return w.err
}

// appendTime appends t in UTC as TimeFormat, without Format's parsing of
// the layout (a tenth of the cost per row).
func appendTime(dst []byte, t time.Time) []byte {
	t = t.UTC()
	y, mo, d := t.Date()
	if y < 0 || y > 9999 {
		return t.AppendFormat(dst, TimeFormat)
	}
	h, mi, s := t.Clock()
	us := t.Nanosecond() / 1000
	dst = appendDigits(dst, y, 4)
	dst = appendDigits(append(dst, '-'), int(mo), 2)
	dst = appendDigits(append(dst, '-'), d, 2)
	dst = appendDigits(append(dst, 'T'), h, 2)
	dst = appendDigits(append(dst, ':'), mi, 2)
	dst = appendDigits(append(dst, ':'), s, 2)
	dst = appendDigits(append(dst, '.'), us, 6)
	return append(dst, 'Z')
}

// appendDigits appends v, which is below 10^width, as width digits.
func appendDigits(dst []byte, v, width int) []byte {
	n := len(dst) + width
	dst = append(dst, "000000"[:width]...)
	for i := n - 1; v > 0; i-- {
		dst[i] = byte('0' + v%10)
		v /= 10
	}
	return dst
}

// byteClass tells appendCell what each byte asks of a cell: nothing, to
// be quoted (encoding/csv quotes a field holding the comma, a quote, CR or
// LF), or a look at its UTF-8.
var byteClass = func() (t [256]uint8) {
	for _, c := range ",\"\r\n" {
		t[c] = classQuote
	}
	for c := utf8.RuneSelf; c < 256; c++ {
		t[c] = classNonASCII
	}
	return t
}()

const (
	classQuote    = 1
	classNonASCII = 2
)

// appendCell appends Cell(s) to dst as encoding/csv.Writer would write it
// (Comma ',', UseCRLF false), without allocating unless s is not UTF-8.
func appendCell(dst, s []byte) []byte {
	var class uint8
	for _, c := range s {
		class |= byteClass[c]
	}
	if class&classNonASCII != 0 && !utf8.Valid(s) {
		s = bytes.ToValidUTF8(s, []byte(replacement))
	}
	formula := len(s) > 0 && startsFormula(s[0])
	// encoding/csv's fieldNeedsQuotes: the special bytes, the field `\.`,
	// or a leading space. With the quote prefix neither of the last two
	// can apply.
	quote := class&classQuote != 0 ||
		!formula && len(s) > 0 && (string(s) == `\.` || startsSpace(s))
	if !quote {
		if formula {
			dst = append(dst, '\'')
		}
		return append(dst, s...)
	}
	dst = append(dst, '"')
	if formula {
		dst = append(dst, '\'')
	}
	// Inside quotes only the quote itself changes: CR and LF are written
	// as they are, as encoding/csv does without UseCRLF.
	for {
		i := bytes.IndexByte(s, '"')
		if i < 0 {
			break
		}
		dst = append(dst, s[:i+1]...)
		dst = append(dst, '"')
		s = s[i+1:]
	}
	dst = append(dst, s...)
	return append(dst, '"')
}

// startsSpace reports whether s's first rune is a space, as encoding/csv
// decides it (unicode.IsSpace, so U+00A0 and U+2028 count).
func startsSpace(s []byte) bool {
	if s[0] < utf8.RuneSelf {
		return s[0] == ' ' || s[0] == '\t' || s[0] == '\n' || s[0] == '\v' || s[0] == '\f' || s[0] == '\r'
	}
	r, _ := utf8.DecodeRune(s)
	return unicode.IsSpace(r)
}

// formulaStarts are the first characters that make a spreadsheet read a
// cell as a formula (or, for tab and carriage return, hide one behind
// whitespace): OWASP's CSV injection list.
const formulaStarts = "=+-@\t\r"

func startsFormula(c byte) bool { return strings.IndexByte(formulaStarts, c) >= 0 }

// replacement stands in for each run of bytes that are not UTF-8.
const replacement = "\uFFFD"

// Cell makes s safe for a spreadsheet: invalid UTF-8 is replaced, and a
// value that would be read as a formula is prefixed with a single quote,
// which spreadsheets show as text and do not evaluate. Every value is
// treated alike (a platform id "-42" too), so an export never depends on
// guessing which columns a person can influence. CSVWriter applies the same
// rules as it writes, without building the string.
func Cell(s string) string {
	s = strings.ToValidUTF8(s, replacement)
	if s != "" && startsFormula(s[0]) {
		return "'" + s
	}
	return s
}
