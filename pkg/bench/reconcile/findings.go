package reconcile

import (
	"fmt"
	"strings"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/summary"
)

// Findings says what the engines' metrics show, each citing its metric.
func Findings(ws []Window) []summary.Finding {
	var out []summary.Finding
	add := func(w Window, kind, msg string, args ...any) {
		out = append(out, summary.Finding{Engine: w.Engine, Scenario: w.Scenario, Kind: kind, Message: fmt.Sprintf(msg, args...)})
	}
	for _, w := range ws {
		if w.Unavailable != "" {
			continue
		}
		if w.CountMismatch && w.ServerRequests != nil {
			add(w, "server_request_count", "%s finished %.0f requests during %s, the client %d: something else used the engine (another tenant, retries), so its metrics there describe more than this benchmark",
				w.Engine, *w.ServerRequests, w.Scenario, w.ClientRequests)
		}
		if b := w.Breakdown; b != nil && len(b.Parts) > 0 {
			top := b.Parts[0]
			for _, p := range b.Parts[1:] {
				if p.Share > top.Share {
					top = p
				}
			}
			// A TTFT that is mostly prefill is an engine working as it
			// should; queueing, the network or overhead are findings.
			if top.Share >= 0.5 && top.Name != "prefill" {
				add(w, "ttft_"+top.Name, "%s's mean TTFT of %.1f ms during %s is mostly %s: %.0f%% (%.1f ms), from %s",
					w.Engine, b.ClientTTFTMS, w.Scenario, partWords(top.Name), top.Share*100, top.MS, partSource(w, top.Name))
			}
		}
		if g, ok := w.Gauge(GaugeWaiting); ok && g.Max >= 1 && g.Last > g.First {
			add(w, "waiting_growing", "requests waiting in %s grew from %.0f to %.0f during %s (peak %.0f, %s): the engine was saturated", w.Engine, g.First, g.Last, w.Scenario, g.Max, g.Metric)
		}
		if g, ok := w.Gauge(GaugeKVCache); ok && g.Max >= 0.9 {
			add(w, "kv_cache_pressure", "%s's KV cache reached %.0f%% during %s (%s): at this load it is close to preempting or queueing requests", w.Engine, g.Max*100, w.Scenario, g.Metric)
		}
		if p := w.Counters.Preemptions; p != nil && *p > 0 {
			add(w, "preemptions", "%s preempted %.0f requests during %s (vllm:num_preemptions_total): the KV cache ran out and work was recomputed", w.Engine, *p, w.Scenario)
		}
		if g, ok := w.GPUGauge(GPUUtil); ok && g.Mean < gpuIdle {
			if q, ok := w.Gauge(GaugeWaiting); ok && q.Max >= 1 {
				add(w, "gpu_idle_while_queueing", "requests waited in %s during %s (peak %.0f, %s) while its GPUs were %.0f%% busy on average (%s): the limit is the engine's batch settings or its CPU, not the GPU",
					w.Engine, w.Scenario, q.Max, q.Metric, g.Mean, g.Metric)
			}
		}
		if r := w.Counters.PrefixCacheHitRate; r != nil && *r > 0 {
			add(w, "prefix_cache_hits", "%s served %.0f%% of prompt tokens from its prefix cache during %s (prefix_cache_hits / prefix_cache_queries)", w.Engine, *r*100, w.Scenario)
		}
	}
	gpuFindings(ws, add)
	return out
}

// gpuIdle is the mean utilisation below which a GPU had room to spare.
const gpuIdle = 50

// gpuFindings compares an engine's scenarios: where client TTFT rose by
// half or more over its lightest scenario while the GPUs stayed below
// gpuIdle, the bottleneck is not the GPU.
func gpuFindings(ws []Window, add func(Window, string, string, ...any)) {
	base := map[string]Window{}
	for _, w := range ws {
		t, ok := w.Phase(PhaseTTFT)
		if !ok || t.Client == nil {
			continue
		}
		if b, seen := base[w.Engine]; !seen || t.Client.P95 < clientP95(b) {
			base[w.Engine] = w
		}
	}
	for _, w := range ws {
		b, ok := base[w.Engine]
		g, hasGPU := w.GPUGauge(GPUUtil)
		if !ok || !hasGPU || b.Scenario == w.Scenario || g.Mean >= gpuIdle {
			continue
		}
		if lo, hi := clientP95(b), clientP95(w); lo > 0 && hi >= 1.5*lo {
			add(w, "gpu_not_the_bottleneck", "%s's client TTFT p95 rose from %.1f ms (%s) to %.1f ms during %s while its GPUs averaged %.0f%% busy (%s): the time goes elsewhere (queueing, CPU, network)",
				w.Engine, lo, b.Scenario, hi, w.Scenario, g.Mean, g.Metric)
		}
	}
}

func clientP95(w Window) float64 {
	if t, ok := w.Phase(PhaseTTFT); ok && t.Client != nil {
		return t.Client.P95
	}
	return 0
}

func partWords(name string) string {
	switch name {
	case "network_client":
		return "outside the engine (network, tunnel and client)"
	case "queue":
		return "queueing in the engine"
	case "prefill":
		return "prefill"
	}
	return "the engine's other work before the first token"
}

func partSource(w Window, name string) string {
	switch name {
	case "network_client":
		return "client TTFT minus the engine's own TTFT"
	case "queue":
		if p, ok := w.Phase(PhaseQueue); ok {
			return p.Metric
		}
	case "prefill":
		if p, ok := w.Phase(PhasePrefill); ok {
			return p.Metric
		}
	}
	if p, ok := w.Phase(PhaseTTFT); ok {
		return strings.SplitN(p.Metric, " ", 2)[0] + " minus queue and prefill"
	}
	return "the engine's metrics"
}
