package reconcile

import (
	"math"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/scrape"
)

// The GPU gauges a window carries, from a DCGM exporter: utilisation is
// the mean over the engine's GPUs, memory and power their sums (what the
// engine holds and draws in all).
const (
	GPUUtil    = "gpu_utilization_pct"
	GPUMemUsed = "gpu_memory_used_mib"
	GPUPower   = "gpu_power_w"
)

var gpuGauges = []struct {
	name, metric string
	mean         bool
}{
	{GPUUtil, scrape.DCGMGPUUtil, true},
	{GPUMemUsed, scrape.DCGMFBUsed, false},
	{GPUPower, scrape.DCGMPowerUsage, false},
}

// gpuOf is one GPU gauge at one scrape, with how many GPUs it covers.
func gpuOf(ss []scrape.Sample, name string) (v float64, gpus int, ok bool) {
	for _, g := range gpuGauges {
		if g.name != name {
			continue
		}
		for _, s := range ss {
			if s.Metric == g.metric && !math.IsNaN(s.Value) {
				gpus++
			}
		}
		v, ok = gaugeOf(ss, g.metric, g.mean)
	}
	return v, gpus, ok
}

// gpuWindow reads the GPU gauges over the scrapes taken from fromNS to
// toNS.
func gpuWindow(ss []scrape.Scrape, fromNS, toNS int64) ([]Gauge, int) {
	var out []Gauge
	gpus := 0
	for _, gd := range gpuGauges {
		g := Gauge{Name: gd.name, Metric: gd.metric}
		n := 0
		for _, s := range ss {
			if s.Error != "" || s.UnixNS < fromNS || s.UnixNS > toNS {
				continue
			}
			v, k, ok := gpuOf(s.Samples, gd.name)
			if !ok {
				continue
			}
			gpus = max(gpus, k)
			g.observe(v, n)
			n++
		}
		if n > 0 {
			g.finish(n)
			out = append(out, g)
		}
	}
	return out, gpus
}

// GPUSeries reads engine's GPU gauges at each good scrape from fromNS to
// toNS, for charts on the requests' time axis.
func GPUSeries(ss []scrape.Scrape, engine string, fromNS, toNS int64) map[string][]Point {
	out := map[string][]Point{}
	for _, s := range ss {
		if s.Engine != engine || s.Kind != scrape.KindGPU || s.Error != "" || s.UnixNS < fromNS || s.UnixNS > toNS {
			continue
		}
		for _, g := range gpuGauges {
			if v, _, ok := gpuOf(s.Samples, g.name); ok {
				out[g.name] = append(out[g.name], Point{s.UnixNS, v})
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
