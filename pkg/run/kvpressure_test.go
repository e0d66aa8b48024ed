package run

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/reconcile"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/sim"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

// A simulated vLLM whose KV cache holds about two answers at a time,
// under four users: it preempts, its own metrics say how often (the
// count the simulator recorded per request), its KV cache shows full,
// and the findings name both. Its simulated GPU was busy while it served.
func TestKVPressurePreemptsAndIsFound(t *testing.T) {
	var mu sync.Mutex
	truth := 0
	vllm := sim.DefaultProfiles()[engine.EngineVLLM]
	vllm.KVCacheTokens, vllm.PrefixCaching = 90, false
	s := sim.New(sim.Options{Seed: 9, TimeScale: 0.2, Profiles: map[engine.EngineType]sim.Profile{engine.EngineVLLM: vllm},
		Served: func(sv sim.Served) {
			mu.Lock()
			truth += sv.Preemptions
			mu.Unlock()
		}})
	t.Cleanup(func() { s.Close() })
	url, err := s.Start(context.Background(), engine.EngineVLLM, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gpu, err := s.StartGPU(context.Background(), engine.EngineVLLM, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	target := engine.Target{Name: "vllm", Type: engine.EngineVLLM, API: engine.APIChat, BaseURL: url, Access: "simulator",
		GPUMetrics: &engine.MetricsEndpoint{URL: gpu, Found: "simulated DCGM exporter"}}
	cfg := baseConfig(t, []engine.Target{target})
	cfg.ScrapeInterval = 20 * time.Millisecond
	cfg.Scenarios = []workload.Scenario{{Name: "pressure", Suite: workload.SuiteLoad, Arrival: workload.ArrivalClosed, Concurrency: 4, Requests: 12, MaxTokens: 40}}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	mu.Lock()
	defer mu.Unlock()
	if truth == 0 {
		t.Fatal("the simulator preempted nothing: the test's cache is not small enough")
	}
	ws := res.Summary.EngineMetrics
	if len(ws) != 1 || ws[0].Unavailable != "" {
		t.Fatalf("windows %+v", ws)
	}
	w := ws[0]
	if p := w.Counters.Preemptions; p == nil || int(*p) != truth {
		t.Errorf("reconciled preemptions %v, the simulator's record %d", p, truth)
	}
	if g, ok := w.Gauge(reconcile.GaugeKVCache); !ok || g.Max < 0.9 || g.Max > 1 {
		t.Errorf("KV cache gauge %+v, want a peak in [0.9, 1]", g)
	}
	if g, ok := w.GPUGauge(reconcile.GPUUtil); !ok || g.Max <= 0 || g.Max > 100 || w.GPUs != 1 {
		t.Errorf("GPU utilisation %+v over %d GPUs, want one busy GPU", g, w.GPUs)
	}
	found := map[string]bool{}
	for _, f := range res.Summary.Findings {
		found[f.Kind] = true
		if f.Kind == "preemptions" && !strings.Contains(f.Message, "vllm:num_preemptions_total") {
			t.Errorf("the preemption finding does not cite its metric: %q", f.Message)
		}
	}
	for _, k := range []string{"preemptions", "kv_cache_pressure"} {
		if !found[k] {
			t.Errorf("no %s finding among %v", k, found)
		}
	}
}
