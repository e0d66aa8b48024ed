package run

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/reconcile"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/scrape"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/sim"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
	"github.com/llmbench/kubectl-llmbench/pkg/export"
)

// dcgmPage is a DCGM exporter in Kubernetes mode on a node with three
// GPUs: two the engine's Pod holds (at 30% and 50%), one another
// workload's at 99%, and a field the run does not read.
func dcgmPage(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	gpu := func(metric string, i int, pod string, v float64) string {
		return fmt.Sprintf("%s{gpu=\"%d\",UUID=\"GPU-%d\",device=\"nvidia%d\",modelName=\"NVIDIA A10G\",Hostname=\"node-a\",container=\"engine\",namespace=\"bench\",pod=\"%s\"} %g\n", metric, i, i, i, pod, v)
	}
	page := "# HELP DCGM_FI_DEV_SM_CLOCK SM clock frequency (in MHz).\n# TYPE DCGM_FI_DEV_SM_CLOCK gauge\n" + gpu("DCGM_FI_DEV_SM_CLOCK", 0, "vllm-0", 1710)
	for _, f := range []struct {
		metric, help string
		v            [3]float64
	}{
		{scrape.DCGMGPUUtil, "GPU utilization (in %).", [3]float64{30, 50, 99}},
		{scrape.DCGMFBUsed, "Framebuffer memory used (in MiB).", [3]float64{20000, 21000, 9000}},
		{scrape.DCGMPowerUsage, "Power draw (in W).", [3]float64{150, 170, 290}},
	} {
		page += "# HELP " + f.metric + " " + f.help + "\n# TYPE " + f.metric + " gauge\n"
		page += gpu(f.metric, 0, "vllm-0", f.v[0]) + gpu(f.metric, 1, "vllm-0", f.v[1]) + gpu(f.metric, 2, "trainer-7", f.v[2])
	}
	_, _ = io.WriteString(w, page)
}

// A target's metrics found elsewhere than its API port are scraped there,
// and its GPUs' DCGM page is journaled as source gpu, reduced to the
// engine's own GPUs and the fields the run reads, and summed up per
// window: utilisation the mean of the engine's two GPUs, memory and power
// their sums. The other tenant's GPU never counts.
func TestRunScrapesMetricsElsewhereAndTheEnginesGPUs(t *testing.T) {
	s := sim.New(sim.Options{Seed: 3, TimeScale: 0.3})
	t.Cleanup(func() { s.Close() })
	url, err := s.Start(context.Background(), engine.EngineVLLM, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var elsewhere atomic.Int64
	metricsPort := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		resp, err := http.Get(url + "/metrics")
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		_, _ = io.Copy(w, resp.Body)
	}))
	t.Cleanup(metricsPort.Close)
	dcgm := httptest.NewServer(http.HandlerFunc(dcgmPage))
	t.Cleanup(dcgm.Close)

	target := engine.Target{Name: "vllm", Type: engine.EngineVLLM, API: engine.APIChat, BaseURL: url, Access: "simulator",
		Metrics:    &engine.MetricsEndpoint{URL: metricsPort.URL + "/metrics", Found: "service port metrics"},
		GPUMetrics: &engine.MetricsEndpoint{URL: dcgm.URL + "/metrics", Found: "test", Pods: []string{"bench/vllm-0"}}}
	cfg := baseConfig(t, []engine.Target{target})
	cfg.ScrapeInterval = 50 * time.Millisecond
	cfg.Scenarios = []workload.Scenario{{Name: "load", Suite: workload.SuiteLoad, Arrival: workload.ArrivalClosed, Concurrency: 2, Requests: 8, MaxTokens: 4}}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	if elsewhere.Load() < 2 {
		t.Errorf("the metrics port was scraped %d times, want at least the two marks", elsewhere.Load())
	}
	scrapes, err := export.LoadMetricsJournal(res.Dir)
	if err != nil {
		t.Fatal(err)
	}
	gpuScrapes := 0
	for _, sc := range scrapes {
		if sc.Kind != scrape.KindGPU {
			continue
		}
		gpuScrapes++
		if sc.Error != "" {
			t.Fatalf("gpu scrape failed: %s", sc.Error)
		}
		if len(sc.Samples) != 6 {
			t.Errorf("gpu scrape kept %d samples, want 3 fields × 2 of the engine's GPUs", len(sc.Samples))
		}
		for _, x := range sc.Samples {
			if x.Labels["pod"] != "vllm-0" || x.Metric == "DCGM_FI_DEV_SM_CLOCK" {
				t.Errorf("kept %s of pod %q", x.Metric, x.Labels["pod"])
			}
		}
	}
	if gpuScrapes < 2 {
		t.Fatalf("%d gpu scrapes journaled", gpuScrapes)
	}
	ws := res.Summary.EngineMetrics
	if len(ws) != 1 || ws[0].Unavailable != "" {
		t.Fatalf("windows %+v", ws)
	}
	w := ws[0]
	if w.GPUs != 2 {
		t.Errorf("window counts %d GPUs, want the engine's 2", w.GPUs)
	}
	for name, want := range map[string]float64{reconcile.GPUUtil: 40, reconcile.GPUMemUsed: 41000, reconcile.GPUPower: 320} {
		g, ok := w.GPUGauge(name)
		if !ok || g.Mean != want || g.Min != want || g.Max != want {
			t.Errorf("%s: %+v, want %g throughout", name, g, want)
		}
	}
	back, err := export.LoadRun(res.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if tally := back.Manifest.MetricsScrapes["vllm gpu"]; tally == nil || tally.Scrapes != gpuScrapes || tally.Failed != 0 {
		t.Errorf("manifest tally for the GPUs: %+v", tally)
	}
	if g, ok := back.Summary.EngineMetrics[0].GPUGauge(reconcile.GPUUtil); !ok || g.Mean != 40 {
		t.Errorf("rebuilt from the folder, GPU utilisation %+v", g)
	}
}
