package views

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Trend is one metric's history for a small server-drawn chart: one point
// per day, oldest first. A day without a report is a gap, not a zero, so a
// missing report never looks like a healthy one.
type Trend struct {
	Title string
	// Unit formats values for labels ("" for counts, "s" for seconds, "%").
	Unit   string
	Points []TrendPoint
	// Threshold, when set, is drawn as a dashed "investigate" line.
	Threshold *float64
}

// TrendPoint is one day's value. Values are plotted, never summed: float64
// is for geometry here; money never reaches a chart.
type TrendPoint struct {
	Day     time.Time
	Value   float64
	Missing bool
	Bad     bool // the day's verdict for this metric was "investigate"
}

// chartGeom is a Trend laid out in the SVG's coordinate space.
type chartGeom struct {
	W, H      int
	Lines     []string // polyline point lists, one per unbroken run of days
	Dots      []chartDot
	Threshold string // y of the threshold line, "" when none or off-scale
	MaxLabel  string
	FirstDay  string
	LastDay   string
	Summary   string // what a screen reader hears
}

type chartDot struct {
	X, Y  string
	Bad   bool
	Title string
}

const (
	chartW, chartH = 320, 96
	padL, padR     = 4, 4
	padT, padB     = 14, 14
)

// layout places the points: x spreads the days evenly, y runs from 0 at the
// bottom to the larger of the highest value and the threshold at the top.
func (t Trend) layout() chartGeom {
	g := chartGeom{W: chartW, H: chartH}
	top := 0.0
	for _, p := range t.Points {
		if !p.Missing {
			top = math.Max(top, p.Value)
		}
	}
	if t.Threshold != nil {
		top = math.Max(top, *t.Threshold)
	}
	if top <= 0 {
		top = 1 // an all-zero history sits on the baseline
	}
	n := len(t.Points)
	x := func(i int) float64 {
		if n <= 1 {
			return float64(chartW) / 2
		}
		return padL + float64(i)*float64(chartW-padL-padR)/float64(n-1)
	}
	y := func(v float64) float64 { return padT + (1-v/top)*float64(chartH-padT-padB) }

	var run []string
	flush := func() {
		if len(run) > 1 {
			g.Lines = append(g.Lines, strings.Join(run, " "))
		}
		run = nil
	}
	var last *TrendPoint
	for i := range t.Points {
		p := &t.Points[i]
		if p.Missing {
			flush()
			continue
		}
		px, py := num(x(i)), num(y(p.Value))
		run = append(run, px+","+py)
		g.Dots = append(g.Dots, chartDot{X: px, Y: py, Bad: p.Bad, Title: p.Day.Format("Jan 2") + ": " + t.format(p.Value)})
		last = p
	}
	flush()
	if t.Threshold != nil {
		g.Threshold = num(y(*t.Threshold))
	}
	g.MaxLabel = t.format(top)
	if n > 0 {
		g.FirstDay, g.LastDay = t.Points[0].Day.Format("Jan 2"), t.Points[n-1].Day.Format("Jan 2")
	}
	g.Summary = t.summary(last)
	return g
}

func (t Trend) summary(last *TrendPoint) string {
	if last == nil {
		return fmt.Sprintf("%s: no reports in this period", t.Title)
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range t.Points {
		if !p.Missing {
			lo, hi = math.Min(lo, p.Value), math.Max(hi, p.Value)
		}
	}
	return fmt.Sprintf("%s over %d days: latest %s on %s, lowest %s, highest %s",
		t.Title, len(t.Points), t.format(last.Value), last.Day.Format("Jan 2"), t.format(lo), t.format(hi))
}

// format writes a value with the trend's unit, without trailing zeros.
func (t Trend) format(v float64) string {
	s := strconv.FormatFloat(v, 'f', 2, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	switch t.Unit {
	case "":
		return s
	case "%":
		return s + "%"
	default:
		return s + " " + t.Unit
	}
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }
