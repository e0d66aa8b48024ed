package reconcile

import (
	"strings"
	"testing"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/stats"
)

func gpuWin(scenario string, p95, util, waiting float64) Window {
	return Window{Engine: "tgi", Scenario: scenario, GPUs: 1,
		Phases: []Phase{{Name: PhaseTTFT, Client: &stats.Stats{Count: 50, Mean: p95 / 2, P95: p95}}},
		Gauges: []Gauge{{Name: GaugeWaiting, Metric: "tgi_queue_size", Max: waiting}},
		GPU:    []Gauge{{Name: GPUUtil, Metric: "DCGM_FI_DEV_GPU_UTIL", Mean: util, Max: util}}}
}

// A TTFT that climbs while the GPU idles is flagged as not the GPU's
// doing; one that climbs with a busy GPU, or holds still, is not.
func TestGPUFindings(t *testing.T) {
	kinds := func(ws ...Window) map[string]string {
		out := map[string]string{}
		for _, f := range Findings(ws) {
			out[f.Scenario+"/"+f.Kind] = f.Message
		}
		return out
	}
	got := kinds(gpuWin("light", 40, 20, 0), gpuWin("heavy", 90, 35, 6))
	if m := got["heavy/gpu_not_the_bottleneck"]; !strings.Contains(m, "40.0 ms (light) to 90.0 ms") || !strings.Contains(m, "DCGM_FI_DEV_GPU_UTIL") {
		t.Errorf("idle GPU under a rising TTFT: %q", m)
	}
	if m := got["heavy/gpu_idle_while_queueing"]; !strings.Contains(m, "35% busy") {
		t.Errorf("queueing on an idle GPU: %q", m)
	}
	if _, ok := got["light/gpu_not_the_bottleneck"]; ok {
		t.Error("the lightest scenario was compared with itself")
	}
	got = kinds(gpuWin("light", 40, 60, 0), gpuWin("heavy", 90, 97, 6))
	if len(got) != 0 {
		t.Errorf("a busy GPU gave findings %v", got)
	}
	got = kinds(gpuWin("light", 40, 20, 0), gpuWin("heavy", 50, 20, 0))
	if len(got) != 0 {
		t.Errorf("a TTFT that barely moved gave findings %v", got)
	}
}
