package audit

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
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
type sliceStreamer []Row

func (s sliceStreamer) EachAudit(ctx context.Context, tenantID int64, f Filter, fn func(*Row) error) error {
	for i := range s {
		if err := fn(&s[i]); err != nil {
			return err
		}
	}
	return nil
}

func TestExportColumns(t *testing.T) {
	t.Parallel()
	rid := int64(42)
	at := time.Date(2026, 11, 2, 9, 30, 0, 123456000, time.FixedZone("EST", -5*3600))
	rows := sliceStreamer{
		{Entry: Entry{RecordID: &rid, At: at, Actor: "user:=evil@example.org", Action: "confirmed.reconciliation", Category: "stuck",
			FromStatus: "submitted", ToStatus: "confirmed", Details: json.RawMessage(`{"note": "recovered, \"quoted\"\nnext line"}`)},
			Tenant: "acme", PlatformID: "-order-1", Source: "stripe", SourceRef: "@pi_1", TransactionSource: "+src", TransactionID: "=1+1"},
		{Entry: Entry{At: at, Actor: "system:escalate", Action: "escalation.raised", Category: "escalation", Details: json.RawMessage(`{}`)}, Tenant: "acme"},
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

// FuzzCSVCell: whatever a cell holds, the export parses back with
// encoding/csv into the same number of columns, each cell is the value
// neutralised (and nothing else changed), and no cell starts as a formula.
// The seed corpus runs with every `go test`; `go test -fuzz FuzzCSVCell`
// explores further.
func FuzzCSVCell(f *testing.F) {
	for _, s := range []string{"", "plain", "=1+1", "+", "-", "@", "\t", "\r", "\r\n=x", "a,b", `"quoted"`, "line\nbreak",
		"'=already", "\xff\xfe", "=\"\n\r,", " =x", "\u00a0=x", "ｰ", "\x00"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		rid := int64(7)
		row := Row{Entry: Entry{RecordID: &rid, At: time.Unix(0, 0), Action: b, Category: a, Actor: a, FromStatus: b, ToStatus: a,
			Details: json.RawMessage(b)}, Tenant: a, PlatformID: b, Source: a, SourceRef: b, TransactionSource: a, TransactionID: b}
		var buf bytes.Buffer
		w := NewCSVWriter(&buf)
		if err := w.Write(&row); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatalf("output does not parse: %v\n%q", err, buf.String())
		}
		if len(recs) != 1 || len(recs[0]) != len(Header) {
			t.Fatalf("got %d rows (%v), want 1 of %d cells", len(recs), recs, len(Header))
		}
		// Columns 3…13: platform id … details, as filled in above.
		in := []string{b, a, b, a, b, b, a, a, b, a, b}
		for i, cell := range recs[0][3:] {
			// encoding/csv reads a quoted field's \r\n as \n.
			want := strings.ReplaceAll(Cell(in[i]), "\r\n", "\n")
			if cell != want {
				t.Errorf("cell %d: got %q, want %q", i+3, cell, want)
			}
			if cell != "" && strings.IndexByte(formulaStarts, cell[0]) >= 0 {
				t.Errorf("cell %d starts as a formula: %q", i+3, cell)
			}
		}
	})
}
