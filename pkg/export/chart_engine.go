package export

import "github.com/llmbench/kubectl-llmbench/pkg/bench/reconcile"

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
	return gaugeLines(d, c, "requests", func(w reconcile.Window) map[string][]reconcile.Point {
		return reconcile.GaugeSeries(d.scrapes, w.Engine, w.StartUnixNS, w.EndUnixNS)
	}, []string{reconcile.GaugeRunning, reconcile.GaugeWaiting}, reconcile.GaugeWaiting, 1)
}
