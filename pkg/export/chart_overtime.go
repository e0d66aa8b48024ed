package export

import (
	"math"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/reconcile"
)

// The charts of the run over time, on TTFT over time's axis.
const (
	ChartThroughputOverTime = "throughput_over_time"
	ChartKVCacheOverTime    = "engine_kv_cache_over_time"
	ChartGPUOverTime        = "gpu_utilization_over_time"
)

// tokenBin is the wall-clock resolution tokens are counted at; the chart
// merges bins to at most about maxTimeBins across a scenario, and never
// below minTimeStep of them (half a second): finer, a closed loop's users
// pausing together for their prefills reads as noise.
const (
	tokenBin    = int64(100e6)
	maxTimeBins = 40
	minTimeStep = 5
)

// addTokens spreads a successful answer's output tokens evenly over its
// streaming time (first token to end), or puts them at its end when it
// has no first token.
func (d *chartData) addTokens(k seriesKey, r *engine.Record) {
	if r.OutputTokens <= 0 || r.EndUnixNS == 0 {
		return
	}
	bins := d.tokens[k]
	if bins == nil {
		bins = map[int64]float64{}
		d.tokens[k] = bins
	}
	from, to := r.EndUnixNS, r.EndUnixNS
	if r.TTFTMS != nil {
		from = r.StartUnixNS + int64(*r.TTFTMS*1e6)
	}
	n := float64(r.OutputTokens)
	if to <= from {
		bins[to/tokenBin] += n
		return
	}
	for b := from / tokenBin; b <= to/tokenBin; b++ {
		lo, hi := max(from, b*tokenBin), min(to, (b+1)*tokenBin)
		if hi > lo {
			bins[b] += n * float64(hi-lo) / float64(to-from)
		}
	}
}

// throughputOverTimeChart draws each engine's output tokens per second
// over each scenario, as the client received them.
func throughputOverTimeChart(d *chartData) (*figure, chart, error) {
	c := chart{ID: ChartThroughputOverTime, Title: "Output throughput over time",
		Caption: "Output tokens per second each engine streamed to the client over each scenario, every successful measured answer's tokens spread evenly from its first token to its end, in seconds since the engine's first measured request of the scenario (TTFT over time's axis)."}
	var panels []*plot.Plot
	var legend []string
	drawn := map[string]bool{}
	for _, sc := range d.scenarios {
		p := newPanel(chartLabel(sc), "seconds since first request", "output tokens/s")
		drew := false
		for _, e := range d.engines {
			k := seriesKey{e, sc}
			bins, first := d.tokens[k], d.firstSend[k]
			if len(bins) < 2 {
				continue
			}
			xys := rebin(bins, first)
			if len(xys) < 2 {
				continue
			}
			line, err := plotter.NewLine(xys)
			if err != nil {
				return nil, c, err
			}
			line.Color, line.Width = d.colors[e], 1.5
			p.Add(line)
			drew, drawn[e] = true, true
		}
		if drew {
			p.Y.Min = 0
			panels = append(panels, p)
		}
	}
	if len(panels) == 0 {
		return nil, c, nil
	}
	for _, e := range d.engines {
		if drawn[e] {
			legend = append(legend, e)
		}
	}
	return &figure{panels: wrap(panels, 2), legend: legend, colors: d.colors}, c, nil
}

// rebin merges 100 ms bins into at most about maxTimeBins equal steps of
// at least minTimeStep bins
// and returns tokens per second at each step's middle, seconds after
// first.
func rebin(bins map[int64]float64, first int64) plotter.XYs {
	var keys []int64
	for b := range bins {
		keys = append(keys, b)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	lo, hi := keys[0], keys[len(keys)-1]
	step := max(minTimeStep, int64(math.Ceil(float64(hi-lo+1)/maxTimeBins)))
	var xys plotter.XYs
	for s := lo; s <= hi; s += step {
		// The last step may be short: its rate is over what it covers.
		n := min(step, hi+1-s)
		sum := 0.0
		for b := s; b < s+n; b++ {
			sum += bins[b]
		}
		width := float64(n*tokenBin) / 1e9
		mid := float64(s*tokenBin+n*tokenBin/2-first) / 1e9
		xys = append(xys, plotter.XY{X: mid, Y: sum / width})
	}
	return xys
}

// gaugeLines is one over-time chart of engine gauges: per scenario, each
// engine's series (from read) in its colour, the dashed ones dashed.
func gaugeLines(d *chartData, c chart, ylabel string, read func(w reconcile.Window) map[string][]reconcile.Point, names []string, dashed string, scale float64) (*figure, chart, error) {
	if len(d.engineMetrics) == 0 || len(d.scrapes) == 0 {
		return nil, c, nil
	}
	var panels []*plot.Plot
	withMetrics := map[string]bool{}
	for _, sc := range d.scenarios {
		p := newPanel(chartLabel(sc), "seconds since first request", ylabel)
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
			series := read(w)
			for _, g := range names {
				pts := series[g]
				if len(pts) < 2 {
					continue
				}
				xys := make(plotter.XYs, len(pts))
				for i, pt := range pts {
					xys[i] = plotter.XY{X: float64(pt.UnixNS-first) / 1e9, Y: pt.Value * scale}
				}
				line, err := plotter.NewLine(xys)
				if err != nil {
					return nil, c, err
				}
				line.Color, line.Width = col, 1.5
				if g == dashed {
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

// kvCacheChart draws the engines' KV-cache usage over each scenario.
func kvCacheChart(d *chartData) (*figure, chart, error) {
	c := chart{ID: ChartKVCacheOverTime, Title: "The engines' KV-cache usage over time",
		Caption: "From each vLLM engine's own /metrics (vllm:kv_cache_usage_perc, or gpu_cache_usage_perc before v0.10), in percent of its KV cache, at every scrape of the scenario, on TTFT over time's axis. Near 100% the engine preempts or queues requests."}
	f, c, err := gaugeLines(d, c, "KV cache used (%)", func(w reconcile.Window) map[string][]reconcile.Point {
		return reconcile.GaugeSeries(d.scrapes, w.Engine, w.StartUnixNS, w.EndUnixNS)
	}, []string{reconcile.GaugeKVCache}, "", 100)
	if f != nil {
		for _, p := range f.panels {
			for _, q := range p {
				q.Y.Max = math.Max(q.Y.Max, 100)
			}
		}
	}
	return f, c, err
}

// gpuChart draws the engines' GPU utilisation over each scenario.
func gpuChart(d *chartData) (*figure, chart, error) {
	c := chart{ID: ChartGPUOverTime, Title: "The engines' GPU utilisation over time",
		Caption: "From the DCGM exporter on each engine's node (DCGM_FI_DEV_GPU_UTIL, the mean over the engine's GPUs), at every scrape of the scenario, on TTFT over time's axis. A low line under a rising TTFT means the GPU is not the bottleneck."}
	f, c, err := gaugeLines(d, c, "GPU utilisation (%)", func(w reconcile.Window) map[string][]reconcile.Point {
		return reconcile.GPUSeries(d.scrapes, w.Engine, w.StartUnixNS, w.EndUnixNS)
	}, []string{reconcile.GPUUtil}, "", 1)
	if f != nil {
		for _, p := range f.panels {
			for _, q := range p {
				q.Y.Max = math.Max(q.Y.Max, 100)
			}
		}
	}
	return f, c, err
}
