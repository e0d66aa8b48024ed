package export

import (
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/reconcile"
)

// ChartEngineQueue is the engines' own running and waiting requests over
// each scenario, on the TTFT-over-time chart's axis.
const ChartEngineQueue = "engine_queue_over_time"

// engineQueueChart draws, per scenario, each scraped engine's running
// requests (solid) and waiting requests (dashed) at every scrape of the
// window, in seconds since the engine's first measured request of the
// scenario: beside TTFT over time, it shows whether a rising TTFT is the
// engine queueing.
func engineQueueChart(d *chartData) (*figure, chart, error) {
	c := chart{ID: ChartEngineQueue, Title: "The engines' running and waiting requests over time",
		Caption: "From each vLLM or TGI engine's own /metrics (vllm:num_requests_running / _waiting, tgi_batch_current_size / tgi_queue_size), scraped at the scenario's start, end and every --scrape-interval: running requests solid, waiting requests dashed, on the time axis of TTFT over time (seconds since the engine's first measured request of the scenario)."}
	if len(d.engineMetrics) == 0 || len(d.scrapes) == 0 {
		return nil, c, nil
	}
	var panels []*plot.Plot
	withMetrics := map[string]bool{}
	for _, sc := range d.scenarios {
		p := newPanel(chartLabel(sc), "seconds since first request", "requests")
		drawn := false
		for _, w := range d.engineMetrics {
			first, ok := d.firstSend[seriesKey{w.Engine, sc}]
			if w.Scenario != sc || !ok {
				continue
			}
			col, ok := d.colors[w.Engine]
			if !ok {
				continue
			}
			series := reconcile.GaugeSeries(d.scrapes, w.Engine, w.StartUnixNS, w.EndUnixNS)
			for _, g := range []string{reconcile.GaugeRunning, reconcile.GaugeWaiting} {
				pts := series[g]
				if len(pts) < 2 {
					continue
				}
				xys := make(plotter.XYs, len(pts))
				for i, pt := range pts {
					xys[i] = plotter.XY{X: float64(pt.UnixNS-first) / 1e9, Y: pt.Value}
				}
				line, err := plotter.NewLine(xys)
				if err != nil {
					return nil, c, err
				}
				line.Color, line.Width = col, 1.5
				if g == reconcile.GaugeWaiting {
					line.Dashes = []vg.Length{4, 3}
				}
				p.Add(line)
				drawn, withMetrics[w.Engine] = true, true
			}
		}
		if drawn {
			p.Y.Min = 0
			panels = append(panels, p)
		}
	}
	if len(panels) == 0 {
		return nil, c, nil
	}
	var legend []string // engines without metrics (Ollama) have no line here
	for _, e := range d.engines {
		if withMetrics[e] {
			legend = append(legend, e)
		}
	}
	return &figure{panels: wrap(panels, 2), legend: legend, colors: d.colors}, c, nil
}
