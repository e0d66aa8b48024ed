package export

import (
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

// lengthChart draws a length sweep: TTFT p50 against the prompt tokens
// the engine counted (or E2E p50 against the output tokens it reported),
// one line per engine; its slope is the prefill (decode) cost.
func lengthChart(d *chartData) (*figure, chart, error) {
	c := chart{ID: ChartLengths, Title: "Latency by prompt length",
		Caption: "Each engine at each prompt length of the sweep: TTFT p50 against the prompt tokens the engine itself counted. The slope is its prefill cost; where the line starts, the fixed cost before any prompt."}
	if len(d.lengths) == 0 {
		return nil, c, nil
	}
	input := d.lengths[0].Kind == workload.LevelInputTokens
	p := newPanel("TTFT p50", "prompt tokens", "ms")
	if !input {
		c.Title = "Latency by answer length"
		c.Caption = "Each engine at each answer length of the sweep: end-to-end latency p50 against the output tokens the engine reported. The slope is its time per output token."
		p = newPanel("E2E p50", "output tokens", "ms")
	}
	lines := 0
	for _, ls := range d.lengths {
		var xys plotter.XYs
		for _, l := range ls.Levels {
			if l.Succeeded == 0 {
				continue
			}
			if input {
				xys = append(xys, plotter.XY{X: l.PromptTokensMean, Y: l.TTFTP50})
			} else {
				xys = append(xys, plotter.XY{X: l.OutputTokensMean, Y: l.E2EP50})
			}
		}
		if len(xys) < 2 {
			continue
		}
		if err := addEngineLine(p, xys, d.colors[ls.Engine]); err != nil {
			return nil, c, err
		}
		lines++
	}
	if lines == 0 {
		return nil, c, nil
	}
	p.X.Min, p.Y.Min = 0, 0
	return &figure{panels: [][]*plot.Plot{{p}}, legend: d.engines, colors: d.colors}, c, nil
}
