package export

import (
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
)

// maxCDFPoints bounds the steps of one engine's TTFT CDF; a longer series
// keeps evenly spaced ranks (its first and last request included), which
// no eye tells from the whole curve.
const maxCDFPoints = 1000

// ttftCDF is the empirical CDF of TTFT samples: the i-th smallest value
// against the share of requests at or below it (percent).
func ttftCDF(values []float64) (ttft, pct []float64) {
	if len(values) == 0 {
		return nil, nil
	}
	sorted := slices.Clone(values)
	slices.Sort(sorted)
	n := len(sorted)
	m := min(n, maxCDFPoints)
	for k := range m {
		i := k
		if m < n {
			i = int(math.Round(float64(k) * float64(n-1) / float64(m-1)))
		}
		ttft = append(ttft, sorted[i])
		pct = append(pct, 100*float64(i+1)/float64(n))
	}
	return ttft, pct
}

// ttftCDFChart draws each engine's TTFT CDF per scenario: the tail, which
// a histogram flattens, reads off the top of the curve.
func ttftCDFChart(d *chartData) (*figure, chart, error) {
	c := chart{ID: ChartTTFTCDF, Title: "TTFT CDF",
		Caption: "Share of each engine's successful measured requests whose TTFT is at or below each value (the curve at 95% is the p95); cold starts excluded."}
	scenarios := d.scenariosWithTTFT()
	if len(scenarios) == 0 {
		return nil, c, nil
	}
	var panels []*plot.Plot
	for _, sc := range scenarios {
		p := newPanel(chartLabel(sc), "TTFT (ms)", "requests at or below (%)")
		for _, e := range d.engines {
			x, y := ttftCDF(d.ttft[seriesKey{e, sc}])
			if len(x) == 0 {
				continue
			}
			xys := make(plotter.XYs, len(x))
			for i := range x {
				xys[i] = plotter.XY{X: x[i], Y: y[i]}
			}
			line, err := plotter.NewLine(xys)
			if err != nil {
				return nil, c, err
			}
			line.Color, line.Width = d.colors[e], 1.5
			p.Add(line)
		}
		p.Y.Min, p.Y.Max = 0, 100
		panels = append(panels, p)
	}
	return &figure{panels: wrap(panels, 2), legend: d.engines, colors: d.colors}, c, nil
}
