package views

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func day(n int) time.Time { return time.Date(2026, 11, 1+n, 0, 0, 0, 0, time.UTC) }

func TestTrendLayout(t *testing.T) {
	t.Parallel()
	thr := 10.0
	tr := Trend{Title: "Failed", Threshold: &thr, Points: []TrendPoint{
		{Day: day(0), Value: 0},
		{Day: day(1), Value: 20, Bad: true},
		{Day: day(2), Missing: true},
		{Day: day(3), Value: 5},
		{Day: day(4), Value: 10},
	}}
	g := tr.layout()
	// Top of the scale is the highest value (20); the baseline is y=82.
	// x steps are (320-8)/4 = 78.
	want := []string{"4.0,82.0 82.0,14.0", "238.0,65.0 316.0,48.0"}
	if diff := cmp.Diff(want, g.Lines); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
	if got, want := len(g.Dots), 4; got != want {
		t.Fatalf("got %d dots, want %d (the missing day has none)", got, want)
	}
	if !g.Dots[1].Bad || g.Dots[0].Bad {
		t.Errorf("got bad flags %v %v, want false true", g.Dots[0].Bad, g.Dots[1].Bad)
	}
	if got, want := g.Threshold, "48.0"; got != want {
		t.Errorf("threshold y: got %s, want %s", got, want)
	}
	if got, want := g.Summary, "Failed over 5 days: latest 10 on Nov 5, lowest 0, highest 20"; got != want {
		t.Errorf("summary: got %q, want %q", got, want)
	}
}

func TestTrendLayoutEdges(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		tr      Trend
		lines   int
		summary string
	}{
		{"empty", Trend{Title: "Pending"}, 0, "Pending: no reports in this period"},
		{"all missing", Trend{Title: "Pending", Points: []TrendPoint{{Day: day(0), Missing: true}}}, 0, "Pending: no reports in this period"},
		{"one point", Trend{Title: "Pending", Points: []TrendPoint{{Day: day(0), Value: 3}}}, 0, "Pending over 1 days: latest 3 on Nov 1, lowest 3, highest 3"},
		{"all zero", Trend{Title: "Latency", Unit: "s", Points: []TrendPoint{{Day: day(0)}, {Day: day(1)}}}, 1, "Latency over 2 days: latest 0 s on Nov 2, lowest 0 s, highest 0 s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := tc.tr.layout()
			if len(g.Lines) != tc.lines {
				t.Errorf("got %d lines, want %d", len(g.Lines), tc.lines)
			}
			if g.Summary != tc.summary {
				t.Errorf("summary: got %q, want %q", g.Summary, tc.summary)
			}
		})
	}
}

func TestTrendChartRendersInert(t *testing.T) {
	t.Parallel()
	tr := Trend{Title: `<script>alert(1)</script>`, Unit: "%", Points: []TrendPoint{{Day: day(0), Value: 0.5}, {Day: day(1), Value: 1.25, Bad: true}}}
	var buf bytes.Buffer
	if err := TrendChart(tr).Render(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if strings.Contains(out, "<script>") {
		t.Errorf("title rendered as markup: %s", out)
	}
	for _, want := range []string{`<polyline class="series"`, `class="dot bad"`, "Nov 2: 1.25%", `role="img"`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
