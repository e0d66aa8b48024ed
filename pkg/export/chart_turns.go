package export

import (
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
)

// turnsChart draws the first multi-turn scenario: TTFT p50 at each turn of
// the conversations, one line per engine. A line that climbs is prefill of
// a growing history; a flat one, a prefix cache that holds it.
func turnsChart(d *chartData) (*figure, chart, error) {
	c := chart{ID: ChartTurns, Title: "TTFT by conversation turn",
		Caption: "Each engine's TTFT p50 at each turn of the multi-turn conversations: every turn sends the whole history so far, so a climbing line is prefill of a growing context, a flat one a prefix cache that keeps it."}
	for _, sc := range d.scenarios {
		p := newPanel("TTFT p50 — "+chartLabel(sc), "turn", "ms")
		lines := 0
		for _, e := range d.engines {
			g := d.group(e, sc)
			if g == nil || len(g.ByTurn) < 2 {
				continue
			}
			var xys plotter.XYs
			for _, t := range g.ByTurn {
				if t.TTFT.Count > 0 {
					xys = append(xys, plotter.XY{X: float64(t.Turn), Y: t.TTFT.P50})
				}
			}
			if len(xys) < 2 {
				continue
			}
			if err := addEngineLine(p, xys, d.colors[e]); err != nil {
				return nil, c, err
			}
			lines++
		}
		if lines > 0 {
			p.X.Min, p.Y.Min = 1, 0
			return &figure{panels: [][]*plot.Plot{{p}}, legend: d.engines, colors: d.colors}, c, nil
		}
	}
	return nil, c, nil
}
