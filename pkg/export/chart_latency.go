package export

import (
	"fmt"
	"math"

	stdfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/metric"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

// ttftBoxChart: one panel per scenario, one box per engine, the target as
// a dashed line.
func ttftBoxChart(d *chartData) (*figure, chart, error) {
	c := chart{ID: chartTTFTBox, Title: "TTFT distribution per engine",
		Caption: "Each box spans the middle half of the requests (25th to 75th percentile) with a line at the median; whiskers reach the furthest request within 1.5 × that range, dots are requests beyond it. Successful measured requests only; cold starts excluded. The scenario's TTFT target is the dashed red line, or is named at the top when it lies far above every request."}
	scenarios := d.scenariosWithTTFT()
	if len(scenarios) == 0 {
		return nil, c, nil
	}
	cols := min(len(scenarios), 3)
	var panels []*plot.Plot
	for _, sc := range scenarios {
		p := newPanel(chartLabel(sc), "", "TTFT (ms)")
		var names []string
		for _, e := range d.enginesIn(sc) {
			if len(d.ttft[seriesKey{e, sc}]) > 0 {
				names = append(names, e)
			}
		}
		width := min(36, panelWidth(cols)/vg.Length(len(names))*0.55)
		labels := make([]string, len(names))
		for i, e := range names {
			b, err := plotter.NewBoxPlot(width, float64(i), plotter.Values(d.ttft[seriesKey{e, sc}]))
			if err != nil {
				return nil, c, err
			}
			col := d.colors[e]
			b.FillColor = withAlpha(col, 0x40)
			b.BoxStyle.Color, b.WhiskerStyle.Color, b.WhiskerStyle.Dashes = col, col, nil
			b.MedianStyle.Color, b.MedianStyle.Width = col, 2
			b.GlyphStyle.Color, b.GlyphStyle.Radius, b.GlyphStyle.Shape = col, 1.6, draw.CircleGlyph{}
			p.Add(b)
			labels[i] = chartLabel(e)
		}
		nominalX(p, cols, labels...)
		p.X.Min, p.X.Max = -0.5, float64(len(names))-0.5
		if err := addTarget(p, d.specs[sc].Target, p.X.Min, p.X.Max, maxOf(d, sc)); err != nil {
			return nil, c, err
		}
		panels = append(panels, p)
	}
	return &figure{panels: wrap(panels, cols), colors: d.colors}, c, nil
}

// addTarget draws a TTFT target as a dashed line labelled with its goal.
// A target far above every request would squash the data into a sliver,
// so then the label alone says where it is, above the data.
func addTarget(p *plot.Plot, goal *workload.Goal, x0, x1, dataMax float64) error {
	if goal == nil || goal.Metric != "ttft" {
		return nil
	}
	from := ""
	if goal.FromArrival {
		from = " from arrival"
	}
	label := targetLabel{text: fmt.Sprintf("target p%g%s ≤ %g ms", goal.Percentile, from, goal.LimitMS), y: goal.LimitMS}
	if goal.LimitMS > offScale*dataMax {
		label.text += " (above)"
		label.y = math.NaN()
		p.Y.Max = math.Max(p.Y.Max, dataMax+(dataMax-p.Y.Min)*0.15)
	} else {
		l, err := plotter.NewLine(plotter.XYs{{X: x0, Y: goal.LimitMS}, {X: x1, Y: goal.LimitMS}})
		if err != nil {
			return err
		}
		l.Color, l.Width, l.Dashes = targetInk, 1.2, []vg.Length{5, 3}
		p.Add(l)
	}
	p.Add(label)
	return nil
}

// targetLabel writes a target's name at the right edge of the data area,
// on its line or (y NaN) at the top. It is not a plotter.Labels: a label's
// glyph box takes part in the layout, and a long one on a narrow panel
// squeezed the data area to nothing.
type targetLabel struct {
	text string
	y    float64
}

func (l targetLabel) Plot(c draw.Canvas, p *plot.Plot) {
	sty := textStyle(7.5, stdfont.WeightNormal)
	sty.Color, sty.XAlign = targetInk, draw.XRight
	y := c.Max.Y - sty.Height(l.text)
	if !math.IsNaN(l.y) {
		_, trY := p.Transforms(&c)
		y = trY(l.y) + 2
	}
	c.FillText(sty, vg.Point{X: c.Max.X - 2, Y: y}, l.text)
}

// offScale: a target more than this many times the slowest request is
// named, not drawn.
const offScale = 1.6

// ttftHistogramChart overlays the engines' TTFT histograms per scenario,
// on shared bins and as shares of each engine's requests, so engines with
// different request counts compare.
func ttftHistogramChart(d *chartData) (*figure, chart, error) {
	c := chart{ID: ChartTTFTHistogram, Title: "TTFT histogram",
		Caption: "Share of each engine's successful measured requests per TTFT bin (bins shared by all engines of a scenario); cold starts excluded."}
	scenarios := d.scenariosWithTTFT()
	if len(scenarios) == 0 {
		return nil, c, nil
	}
	var panels []*plot.Plot
	for _, sc := range scenarios {
		p := newPanel(chartLabel(sc), "TTFT (ms)", "share of requests (%)")
		h := d.ttftHistogram(sc)
		width := h.edges[1] - h.edges[0]
		for ei, e := range d.engines {
			if h.count[ei] == 0 {
				continue
			}
			bins := make([]plotter.HistogramBin, len(h.share[ei]))
			for i := range bins {
				bins[i] = plotter.HistogramBin{Min: h.edges[i], Max: h.edges[i+1], Weight: h.share[ei][i]}
			}
			col := d.colors[e]
			h := &plotter.Histogram{Bins: bins, Width: width, FillColor: withAlpha(col, 0x55),
				LineStyle: draw.LineStyle{Color: col, Width: 1}}
			p.Add(h)
		}
		panels = append(panels, p)
	}
	return &figure{panels: wrap(panels, 2), legend: d.engines, colors: d.colors}, c, nil
}

// ttftHist is one scenario's TTFT histogram: bins shared by every engine,
// each engine's share of its own requests per bin (share and count follow
// d.engines).
type ttftHist struct {
	edges []float64
	share [][]float64
	count []int
}

// ttftHistogram bins a scenario's TTFT samples for the static and the
// interactive histogram alike.
func (d *chartData) ttftHistogram(sc string) ttftHist {
	lo, hi, total := math.Inf(1), math.Inf(-1), 0
	for _, e := range d.engines {
		for _, v := range d.ttft[seriesKey{e, sc}] {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
			total++
		}
	}
	if total == 0 {
		lo, hi = 0, 1
	}
	if hi-lo < 1e-9 {
		lo, hi = lo-0.5, hi+0.5
	}
	n := min(max(int(math.Ceil(2*math.Sqrt(float64(total))))+8, 12), 40)
	width := (hi - lo) / float64(n)
	h := ttftHist{edges: make([]float64, n+1)}
	for i := range h.edges {
		h.edges[i] = lo + float64(i)*width
	}
	for _, e := range d.engines {
		vals := d.ttft[seriesKey{e, sc}]
		share := make([]float64, n)
		for _, v := range vals {
			share[min(int((v-lo)/width), n-1)] += 100 / float64(len(vals))
		}
		h.share = append(h.share, share)
		h.count = append(h.count, len(vals))
	}
	return h
}

// percentileChart: for each scenario, p50/p95/p99 of TTFT, TPOT and E2E
// per engine, straight from the summary.
func percentileChart(d *chartData) (*figure, chart, error) {
	c := chart{ID: ChartPercentiles, Title: "Latency percentiles",
		Caption: "p50, p95 and p99 of TTFT, TPOT and end-to-end latency per engine and scenario, as in the tables (successful measured requests, cold starts excluded). An engine without successful requests has no bars."}
	metrics := []struct{ key, label string }{{metric.TTFT, "TTFT"}, {metric.TPOT, "TPOT"}, {metric.E2E, "E2E"}}
	pcts := []float64{50, 95, 99}
	var rows [][]*plot.Plot
	for _, sc := range d.scenarios {
		engines := d.enginesIn(sc)
		var row []*plot.Plot
		for _, m := range metrics {
			has := false
			for _, e := range engines {
				has = has || d.group(e, sc).Metrics[m.key].Count > 0
			}
			if !has {
				row = append(row, nil)
				continue
			}
			p := newPanel(chartLabel(sc)+" · "+m.label, "", "ms")
			err := addGroupedBars(p, d, engines, len(pcts), len(metrics), func(e string) []float64 {
				st := d.group(e, sc).Metrics[m.key]
				out := make([]float64, len(pcts))
				for i, q := range pcts {
					if st.Count > 0 {
						out[i] = st.At(q)
					}
				}
				return out
			})
			if err != nil {
				return nil, c, err
			}
			nominalX(p, len(metrics), "p50", "p95", "p99")
			row = append(row, p)
		}
		if row[0] != nil || row[1] != nil || row[2] != nil {
			rows = append(rows, row)
		}
	}
	if len(rows) == 0 {
		return nil, c, nil
	}
	return &figure{panels: rows, legend: d.engines, colors: d.colors}, c, nil
}

// ttftOverTimeChart plots each request's TTFT at the moment it was sent,
// so warm-up effects, drift and queueing during load show.
func ttftOverTimeChart(d *chartData) (*figure, chart, error) {
	c := chart{ID: ChartTTFTOverTime, Title: "TTFT over time",
		Caption: "TTFT of each successful measured request against when it was sent, in seconds since that engine's first measured request of the scenario; cold starts excluded. The scenario's TTFT target is the dashed red line, or is named at the top when it lies far above every request."}
	scenarios := d.scenariosWithTTFT()
	if len(scenarios) == 0 {
		return nil, c, nil
	}
	var panels []*plot.Plot
	for _, sc := range scenarios {
		p := newPanel(chartLabel(sc), "seconds since first request", "TTFT (ms)")
		xmax := 0.0
		for _, e := range d.engines {
			xys := d.ttftAt[seriesKey{e, sc}]
			if len(xys) == 0 {
				continue
			}
			s, err := plotter.NewScatter(xys)
			if err != nil {
				return nil, c, err
			}
			s.GlyphStyle = draw.GlyphStyle{Color: withAlpha(d.colors[e], 0xD0), Radius: 1.8, Shape: draw.CircleGlyph{}}
			p.Add(s)
			xmax = math.Max(xmax, xys[len(xys)-1].X)
		}
		if err := addTarget(p, d.specs[sc].Target, 0, xmax, maxOf(d, sc)); err != nil {
			return nil, c, err
		}
		panels = append(panels, p)
	}
	return &figure{panels: wrap(panels, 2), legend: d.engines, colors: d.colors}, c, nil
}

// addGroupedBars draws, per engine, one bar in each of groups groups,
// side by side in the engine's colour.
func addGroupedBars(p *plot.Plot, d *chartData, engines []string, groups, cols int, values func(e string) []float64) error {
	n := len(engines)
	w := min(26, panelWidth(cols)/vg.Length(groups)/vg.Length(n+1))
	for j, e := range engines {
		b, err := plotter.NewBarChart(plotter.Values(values(e)), w)
		if err != nil {
			return err
		}
		b.Color = d.colors[e]
		b.LineStyle.Width = 0
		b.Offset = (vg.Length(j) - vg.Length(n-1)/2) * w
		p.Add(b)
	}
	p.X.Min, p.X.Max = -0.5, float64(groups)-0.5
	return nil
}

// maxOf is the slowest TTFT charted in a scenario.
func maxOf(d *chartData, sc string) float64 {
	m := 0.0
	for _, e := range d.engines {
		for _, v := range d.ttft[seriesKey{e, sc}] {
			m = math.Max(m, v)
		}
	}
	return m
}
