package audit

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"backstop/internal/derrors"
)

func TestCellNeutralisesFormulas(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"=HYPERLINK(\"http://x\")": "'=HYPERLINK(\"http://x\")",
		"+1+1":                     "'+1+1",
		"-2+3":                     "'-2+3",
		"@SUM(A1:A2)":              "'@SUM(A1:A2)",
		"\t=1":                     "'\t=1",
		"\r=1":                     "'\r=1",
		"-42":                      "'-42", // every cell alike, numbers too
		"a=1":                      "a=1",
		" =1":                      " =1",
		"'=1":                      "'=1",
		"":                         "",
		"pi_3Nx":                   "pi_3Nx",
		"{\"a\": -1}":              "{\"a\": -1}",
		"bad \xff utf-8":           "bad \uFFFD utf-8",
	} {
		if got := Cell(in); got != want {
			t.Errorf("Cell(%q) = %q, want %q", in, got, want)
		}
	}
}

// sliceStreamer serves rows from memory: the writer's tests need no database.
type sliceStreamer []ExportRow

func (s sliceStreamer) StreamAudit(ctx context.Context, tenantID int64, f Filter, fn func(*ExportRow) error) error {
	for i := range s {
		if err := fn(&s[i]); err != nil {
			return err
		}
	}
	return nil
}

func TestExportColumns(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 2, 9, 30, 0, 123456789, time.FixedZone("EST", -5*3600))
	rows := sliceStreamer{
		{RecordID: 42, At: at, Actor: []byte("user:=evil@example.org"), Action: []byte("confirmed.reconciliation"), Category: []byte("stuck"),
			FromStatus: []byte("submitted"), ToStatus: []byte("confirmed"), Details: []byte(`{"note": "recovered, \"quoted\"\nnext line"}`),
			Tenant: []byte("acme"), PlatformID: []byte("-order-1"), Source: []byte("stripe"), SourceRef: []byte("@pi_1"),
			TransactionSource: []byte("+src"), TransactionID: []byte("=1+1")},
		{At: at, Actor: []byte("system:escalate"), Action: []byte("escalation.raised"), Category: []byte("escalation"), Details: []byte(`{}`), Tenant: []byte("acme")},
	}
	var buf bytes.Buffer
	n, err := Export(context.Background(), &buf, rows, 1, Filter{})
	if err != nil || n != 2 {
		t.Fatalf("got %d, %v", n, err)
	}
	got, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{Header,
		{"2026-11-02T14:30:00.123456Z", "acme", "42", "'-order-1", "stripe", "'@pi_1", "'+src", "'=1+1", "confirmed.reconciliation", "stuck",
			"user:=evil@example.org", "submitted", "confirmed", `{"note": "recovered, \"quoted\"\nnext line"}`},
		{"2026-11-02T14:30:00.123456Z", "acme", "", "", "", "", "", "", "escalation.raised", "escalation", "system:escalate", "", "", "{}"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d rows, want %d", len(got), len(want))
	}
	for i := range want {
		if strings.Join(got[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("row %d:\n got %q\nwant %q", i, got[i], want[i])
		}
	}
}

func TestExportRefusesBadFilterBeforeWriting(t *testing.T) {
	t.Parallel()
	now := time.Now()
	for _, f := range []Filter{
		{Since: now, Until: now},
		{Since: now, Until: now.Add(-time.Hour)},
		{RecordID: -1},
		{Actions: []string{"ok", " "}},
		{Categories: make([]string, 51)},
	} {
		var buf bytes.Buffer
		_, err := Export(context.Background(), &buf, sliceStreamer{}, 1, f)
		if !errors.Is(err, derrors.InvalidArgument) || buf.Len() != 0 {
			t.Errorf("filter %+v: got %v and %d bytes, want an invalid-argument error and nothing written", f, err, buf.Len())
		}
	}
}

// encodingCSV is the reference: what encoding/csv writes for r's cells
// passed through Cell, formatted as the export's columns are.
func encodingCSV(t testing.TB, r *ExportRow) []byte {
	t.Helper()
	id := ""
	if r.RecordID != 0 {
		id = strconv.FormatInt(r.RecordID, 10)
	}
	rec := []string{r.At.UTC().Format(TimeFormat), string(r.Tenant), id}
	for _, c := range [][]byte{r.PlatformID, r.Source, r.SourceRef, r.TransactionSource, r.TransactionID,
		r.Action, r.Category, r.Actor, r.FromStatus, r.ToStatus, r.Details} {
		rec = append(rec, string(c))
	}
	for i := range rec {
		rec[i] = Cell(rec[i])
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	return buf.Bytes()
}

// written is what CSVWriter writes for r alone.
func written(t testing.TB, r *ExportRow) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewCSVWriter(&buf)
	if err := w.Write(r); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// fill puts a in the odd columns and b in the even ones (tenant …
// details), so one call covers every column with both values.
func fill(a, b string) *ExportRow {
	c := func(s string) []byte { return []byte(s) }
	return &ExportRow{At: time.Unix(0, 0), RecordID: 7, Tenant: c(a), PlatformID: c(b), Source: c(a), SourceRef: c(b),
		TransactionSource: c(a), TransactionID: c(b), Action: c(a), Category: c(b), Actor: c(a), FromStatus: c(b),
		ToStatus: c(a), Details: c(b)}
}

// The writer's bytes are encoding/csv's, for every case its quoting rules
// single out, alone and after a formula prefix.
func TestCSVWriterMatchesEncodingCSV(t *testing.T) {
	t.Parallel()
	cells := []string{"", "plain", "a,b", `a"b`, `"`, `""`, "a\nb", "a\rb", "a\r\nb", "\n", "\r\n", `\.`, `\.x`, `x\.`,
		" lead", "trail ", "\vx", "\fx", "\u0085x", "\u00a0x", "\u2028x", "\u3000x", "x\u00a0", "ｰ", "é,", "\x00",
		"\xff", "a\xffb", "\xff=", "\xe2\x80", "=1", "+1", "-1", "@x", "\tx", "\rx", "=\"a,b\"", "-\n", "@ x", "'=1",
		"\t", "\r", "=", strings.Repeat("x\"", 300)}
	for _, a := range cells {
		for _, b := range []string{"", "x", a} {
			r := fill(a, b)
			if got, want := written(t, r), encodingCSV(t, r); !bytes.Equal(got, want) {
				t.Errorf("cells %q, %q:\n got %q\nwant %q", a, b, got, want)
			}
		}
	}
	// Record ids, and times in other zones, before 1970, at the edges of
	// the four-digit years and with nanoseconds the format truncates.
	for i, at := range []time.Time{
		time.Date(2026, 11, 2, 9, 30, 0, 999_999_999, time.FixedZone("X", -5*3600-1800)),
		time.Date(1969, 12, 31, 23, 59, 59, 1000, time.UTC),
		time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999_999_000, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 6, 15, 12, 0, 0, 0, time.UTC),
		time.Unix(1_800_000_000, 123_456_789).In(time.FixedZone("Y", 14*3600)),
		{},
	} {
		r := &ExportRow{At: at, RecordID: []int64{1, 42, -3, 1 << 62, 0, 999, 10, 7}[i]}
		if got, want := written(t, r), encodingCSV(t, r); !bytes.Equal(got, want) {
			t.Errorf("time %v, record %d:\n got %q\nwant %q", at, r.RecordID, got, want)
		}
	}
}

// Rows past the buffer's size reach the writer whole and in order.
func TestCSVWriterFlushesAsItFills(t *testing.T) {
	t.Parallel()
	var buf, want bytes.Buffer
	w := NewCSVWriter(&buf)
	for i := range 5000 {
		r := fill(strconv.Itoa(i), `{"n": "`+strings.Repeat("y", i%300)+`"}`)
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
		want.Write(encodingCSV(t, r))
	}
	if buf.Len() == 0 || buf.Len() >= want.Len() {
		t.Errorf("%d of %d bytes written before Flush, want some but not all", buf.Len(), want.Len())
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want.Bytes()) {
		t.Error("the flushed output differs from encoding/csv's")
	}
}

// A failed write is returned, and again by every later call.
func TestCSVWriterKeepsWriteError(t *testing.T) {
	t.Parallel()
	w := NewCSVWriter(failWriter{})
	if err := w.WriteHeader(); err != nil {
		t.Fatalf("buffered header: %v", err)
	}
	if err := w.Flush(); !errors.Is(err, errDiskFull) {
		t.Fatalf("Flush: got %v, want %v", err, errDiskFull)
	}
	if err := w.Write(fill("a", "b")); !errors.Is(err, errDiskFull) {
		t.Errorf("Write after the failure: got %v, want %v", err, errDiskFull)
	}
}

var errDiskFull = errors.New("disk full")

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errDiskFull }

// FuzzCSVCell: whatever a cell holds, the writer's bytes are encoding/csv's
// for the cell passed through Cell; the row parses back with encoding/csv
// into the same number of columns, each cell the value neutralised (and
// nothing else changed), and no cell starts as a formula. The seed corpus
// runs with every `go test`; `go test -fuzz FuzzCSVCell` explores further.
func FuzzCSVCell(f *testing.F) {
	for _, s := range []string{"", "plain", "=1+1", "+", "-", "@", "\t", "\r", "\r\n=x", "a,b", `"quoted"`, "line\nbreak",
		"'=already", "\xff\xfe", "=\"\n\r,", " =x", "\u00a0=x", "ｰ", "\x00", `\.`, "\u2028", "\xff\xa0"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		row := fill(a, b)
		out := written(t, row)
		if want := encodingCSV(t, row); !bytes.Equal(out, want) {
			t.Fatalf("writer and encoding/csv differ:\n got %q\nwant %q", out, want)
		}
		recs, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
		if err != nil {
			t.Fatalf("output does not parse: %v\n%q", err, out)
		}
		if len(recs) != 1 || len(recs[0]) != len(Header) {
			t.Fatalf("got %d rows (%v), want 1 of %d cells", len(recs), recs, len(Header))
		}
		// Columns 1 and 3…13: tenant, platform id … details, as fill puts them.
		cells := append([]string{recs[0][1]}, recs[0][3:]...)
		in := []string{a, b, a, b, a, b, a, b, a, b, a, b}
		for i, cell := range cells {
			// encoding/csv reads a quoted field's \r\n as \n.
			want := strings.ReplaceAll(Cell(in[i]), "\r\n", "\n")
			if cell != want {
				t.Errorf("cell %d: got %q, want %q", i, cell, want)
			}
			if cell != "" && startsFormula(cell[0]) {
				t.Errorf("cell %d starts as a formula: %q", i, cell)
			}
		}
	})
}
