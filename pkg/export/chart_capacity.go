package export

import (
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg/draw"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

// capacityChart draws a sweep or capacity search: TTFT p95 and goodput
// (requests within the SLO per second; completed requests when there is
// no SLO) against the load level, one line per engine, levels met as
// filled dots and missed as crosses.
func capacityChart(d *chartData) (*figure, chart, error) {
	c := chart{ID: ChartCapacity, Title: "Latency and goodput by load level",
		Caption: "Each engine at each load level of the sweep: TTFT p95, and the requests per second that met every SLO (goodput). A cross marks a level where the engine missed its objectives."}
	if len(d.capacity) == 0 {
		return nil, c, nil
	}
	unit := "req/s"
	if d.capacity[0].Kind == workload.LevelConcurrency {
		unit = "users"
	}
	lat := newPanel("TTFT p95", "load ("+unit+")", "ms")
	good := newPanel("Goodput", "load ("+unit+")", "requests/s within the SLO")
	points := 0
	for _, cp := range d.capacity {
		col := d.colors[cp.Engine]
		var l, g, missed plotter.XYs
		for _, lv := range cp.Levels {
			l = append(l, plotter.XY{X: lv.Value, Y: lv.TTFTP95})
			y := lv.RequestsPerS
			if lv.GoodputRequestsPerS != nil {
				y = *lv.GoodputRequestsPerS
			}
			g = append(g, plotter.XY{X: lv.Value, Y: y})
			if lv.Met != nil && !*lv.Met {
				missed = append(missed, plotter.XY{X: lv.Value, Y: y})
			}
		}
		points += len(l)
		for _, pl := range []struct {
			p   *plot.Plot
			xys plotter.XYs
		}{{lat, l}, {good, g}} {
			if err := addEngineLine(pl.p, pl.xys, col); err != nil {
				return nil, c, err
			}
		}
		if len(missed) > 0 {
			sc, err := plotter.NewScatter(missed)
			if err != nil {
				return nil, c, err
			}
			sc.GlyphStyle = draw.GlyphStyle{Color: col, Radius: 4, Shape: draw.CrossGlyph{}}
			good.Add(sc)
		}
	}
	if points < 2 {
		return nil, c, nil
	}
	for _, p := range []*plot.Plot{lat, good} {
		p.X.Min, p.Y.Min = 0, 0
	}
	return &figure{panels: [][]*plot.Plot{{lat, good}}, legend: d.engines, colors: d.colors}, c, nil
}
