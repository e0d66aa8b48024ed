package run

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/sim"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
	"github.com/llmbench/kubectl-llmbench/pkg/export"
)

// During a run the vLLM engine's /metrics (served here from the reference
// transcript beside a simulated vLLM) and the simulated TGI's are scraped
// before, during and after the requests into metrics.jsonl; a vLLM behind
// a proxy that hides /metrics is asked once, its 404 recorded; Ollama is
// not asked; the benchmark is unaffected.
func TestRunScrapesEngineMetrics(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("../../../shared/reference/transcripts", "vllm-metrics.prom"))
	if err != nil {
		t.Fatal(err)
	}
	s := sim.New(sim.Options{Seed: 3, TimeScale: 0.5})
	t.Cleanup(func() { s.Close() })
	vllm := s.Handler(engine.EngineVLLM)
	withMetrics := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
			_, _ = w.Write(body)
			return
		}
		vllm.ServeHTTP(w, r)
	}))
	t.Cleanup(withMetrics.Close)
	hidden := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" {
			http.NotFound(w, r)
			return
		}
		vllm.ServeHTTP(w, r)
	}))
	t.Cleanup(hidden.Close)
	tgi, err := s.Start(context.Background(), engine.EngineTGI, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	targets := []engine.Target{
		{Name: "vllm", Type: engine.EngineVLLM, API: engine.APIChat, BaseURL: withMetrics.URL},
		{Name: "tgi", Type: engine.EngineTGI, API: engine.APIChat, BaseURL: tgi},
		{Name: "hidden", Type: engine.EngineVLLM, API: engine.APIChat, BaseURL: hidden.URL},
		simTargets(t)[1], // ollama
	}
	cfg := baseConfig(t, targets)
	cfg.ScrapeInterval = 50 * time.Millisecond
	cfg.Scenarios = []workload.Scenario{{Name: "load", Suite: workload.SuiteLoad, Arrival: workload.ArrivalClosed, Concurrency: 2, Duration: 300 * time.Millisecond, MaxTokens: 4}}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	if res.Status != "complete" {
		t.Fatalf("status %s", res.Status)
	}
	var man export.Manifest
	b, _ := os.ReadFile(filepath.Join(res.Dir, export.ManifestFile))
	if err := json.Unmarshal(b, &man); err != nil {
		t.Fatal(err)
	}
	v, tg, g := man.MetricsScrapes["vllm"], man.MetricsScrapes["tgi"], man.MetricsScrapes["hidden"]
	if v == nil || v.Scrapes < 3 || v.Failed != 0 || v.Samples < 100*v.Scrapes {
		t.Errorf("vllm scrapes %+v", v)
	}
	if tg == nil || tg.Scrapes < 3 || tg.Failed != 0 || tg.Samples < 5*tg.Scrapes {
		t.Errorf("tgi scrapes %+v", tg)
	}
	if g == nil || g.Scrapes != 1 || g.Failed != 1 || !strings.Contains(g.FirstError, "HTTP 404") {
		t.Errorf("hidden scrapes %+v", g)
	}
	if _, ok := man.MetricsScrapes["ollama"]; ok {
		t.Error("ollama was scraped")
	}
	journal, err := os.ReadFile(filepath.Join(res.Dir, export.MetricsJournalFile))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(journal)), "\n")
	if len(lines) != v.Samples+tg.Samples+g.Failed || !strings.Contains(string(journal), `"metric":"vllm:time_to_first_token_seconds_bucket"`) {
		t.Errorf("%d journal lines for %d samples and %d failures", len(lines), v.Samples, g.Failed)
	}
}
