package export

import (
	"fmt"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/metric"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/summary"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

// loadLevel says in a few words how hard a scenario pushed: the x axis of
// the load curve and the reports' scenario headings.
func loadLevel(s workload.Scenario) string {
	switch s.Arrival {
	case workload.ArrivalSequential:
		return "one at a time"
	case workload.ArrivalClosed:
		if s.Concurrency == 1 {
			return "1 user"
		}
		return fmt.Sprintf("%d users", s.Concurrency)
	case workload.ArrivalConstant, workload.ArrivalPoisson:
		out := fmt.Sprintf("%g req/s", s.Rate)
		if s.Concurrency > 0 {
			out += fmt.Sprintf(", cap %d", s.Concurrency)
		}
		return out
	case workload.ArrivalTrace:
		if s.Trace != nil {
			return fmt.Sprintf("trace, %.2g req/s", float64(s.Trace.Requests)/max(s.Trace.SpanS, 1e-3))
		}
	}
	return string(s.Arrival)
}

// throughputVsLoadChart needs two scenarios or more: output throughput
// and TTFT p95 at each load level, one line per engine.
func throughputVsLoadChart(d *chartData) (*figure, chart, error) {
	c := chart{ID: ChartThroughputVsLoad, Title: "Throughput and TTFT by load level",
		Caption: "Total output tokens per second and TTFT p95 in each scenario, in the order they ran; each scenario's load is named under it."}
	var levels []string
	for _, sc := range d.scenarios {
		for _, e := range d.engines {
			if g := d.group(e, sc); g != nil && g.Succeeded > 0 {
				levels = append(levels, sc)
				break
			}
		}
	}
	if len(levels) < 2 {
		return nil, c, nil
	}
	labels := make([]string, len(levels))
	for i, sc := range levels {
		labels[i] = chartLabel(sc)
		if spec, ok := d.specs[sc]; ok {
			labels[i] += "\n" + loadLevel(spec)
		}
	}
	tput := newPanel("Output throughput", "", "tokens/s")
	ttft := newPanel("TTFT p95", "", "ms")
	for _, e := range d.engines {
		var tp, lat plotter.XYs
		for i, sc := range levels {
			g := d.group(e, sc)
			if g == nil || g.Succeeded == 0 {
				continue
			}
			tp = append(tp, plotter.XY{X: float64(i), Y: g.OutputTokensPerS})
			if st := g.Metrics[metric.TTFT]; st.Count > 0 {
				lat = append(lat, plotter.XY{X: float64(i), Y: st.P95})
			}
		}
		for _, pl := range []struct {
			p   *plot.Plot
			xys plotter.XYs
		}{{tput, tp}, {ttft, lat}} {
			if len(pl.xys) == 0 {
				continue
			}
			if err := addEngineLine(pl.p, pl.xys, d.colors[e]); err != nil {
				return nil, c, err
			}
		}
	}
	for _, p := range []*plot.Plot{tput, ttft} {
		nominalX(p, 2, labels...)
		p.X.Min, p.X.Max = -0.3, float64(len(levels))-0.7
		p.Y.Min = 0
	}
	return &figure{panels: [][]*plot.Plot{{tput, ttft}}, legend: d.engines, colors: d.colors}, c, nil
}

// comparisonChart puts the headline numbers side by side: one small
// panel per metric, scenarios along x, one bar per engine.
func comparisonChart(d *chartData) (*figure, chart, error) {
	c := chart{ID: ChartComparison, Title: "Engines compared",
		Caption: "The headline numbers of every scenario side by side: median latencies (lower is better), total output throughput and success rate (higher is better). An engine with no successful request in a scenario has no bar there: that is missing data, not a fast engine."}
	type panel struct {
		title, unit string
		value       func(g *summary.Group) float64
	}
	// A median panel is titled, and its unit and direction read, from
	// the metric registry.
	median := func(key string) panel {
		d, _ := metric.Lookup(key)
		better := map[bool]string{true: "higher", false: "lower"}[d.HigherIsBetter]
		return panel{d.Label + " p50", d.Unit + " · " + better + " is better", func(g *summary.Group) float64 { return g.Metrics[key].P50 }}
	}
	metrics := []panel{
		median(metric.TTFT),
		median(metric.TPOT),
		median(metric.ITL),
		median(metric.E2E),
		{"Output throughput", "tokens/s · higher is better", func(g *summary.Group) float64 { return g.OutputTokensPerS }},
		{"Success rate", "% · higher is better", func(g *summary.Group) float64 {
			if g.Requests == 0 {
				return 0
			}
			return 100 * float64(g.Succeeded) / float64(g.Requests)
		}},
	}
	if len(d.engines) == 0 || len(d.scenarios) == 0 {
		return nil, c, nil
	}
	labels := make([]string, len(d.scenarios))
	for i, sc := range d.scenarios {
		labels[i] = chartLabel(sc)
	}
	var panels []*plot.Plot
	for _, m := range metrics {
		p := newPanel(m.title, "", m.unit)
		err := addGroupedBars(p, d, d.engines, len(d.scenarios), 3, func(e string) []float64 {
			out := make([]float64, len(d.scenarios))
			for i, sc := range d.scenarios {
				if g := d.group(e, sc); g != nil {
					out[i] = m.value(g)
				}
			}
			return out
		})
		if err != nil {
			return nil, c, err
		}
		nominalX(p, 3, labels...)
		panels = append(panels, p)
	}
	return &figure{panels: wrap(panels, 3), legend: d.engines, colors: d.colors}, c, nil
}
