package load

// Client capacity benchmarks: how many streaming requests and tokens one
// process sustains against the in-process simulator with its latencies
// scaled to nearly nothing, and how late open-loop requests leave at a given
// Poisson rate. Figures go in the README (make bench).

import (
	"context"
	"testing"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/sim"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/stats"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

func fastSim(b *testing.B) string {
	b.Helper()
	s := sim.New(sim.Options{Seed: 1, TimeScale: 1e-6})
	b.Cleanup(func() { s.Close() })
	url, err := s.Start(context.Background(), engine.EngineVLLM, "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	return url
}

func benchRun(b *testing.B, url string, sc workload.Scenario) []engine.Record {
	b.Helper()
	col := &Collector{}
	r := &Runner{
		Targets:   []engine.Target{{Name: "vllm", Type: engine.EngineVLLM, BaseURL: url, API: engine.APIChat}},
		Scenarios: []workload.Scenario{sc},
		Prompts:   []engine.Request{{Messages: []engine.Message{{Role: "user", Content: "Explain what a Kubernetes Service does."}}}},
		HTTP:      engine.NewHTTPClient(engine.HTTPOptions{}),
		Timeout:   time.Minute, Clock: engine.NewClock(), Sink: col, Grace: time.Second, Seed: 1,
	}
	res := r.Run(context.Background())
	if res.Status != "complete" {
		b.Fatalf("run %s: %+v", res.Status, res.Targets)
	}
	return col.Snapshot()
}

// BenchmarkStreamedRequests measures sustained streamed requests of 64
// tokens per second through client and simulator together (both share this
// machine's cores, so the client alone does better).
func BenchmarkStreamedRequests(b *testing.B) {
	url := fastSim(b)
	b.ResetTimer()
	start := time.Now()
	recs := benchRun(b, url, workload.Scenario{Name: "closed", Suite: workload.SuiteLoad, Arrival: workload.ArrivalClosed,
		Concurrency: 64, Requests: b.N, MaxTokens: 64})
	el := time.Since(start).Seconds()
	tokens := 0
	for _, r := range recs {
		if !r.OK {
			b.Fatalf("request failed: %s %s", r.ErrorClass, r.Error)
		}
		tokens += r.OutputTokens
	}
	b.ReportMetric(float64(len(recs))/el, "req/s")
	b.ReportMetric(float64(tokens)/el, "tokens/s")
}

// BenchmarkScheduleLagPoisson500 sends Poisson arrivals at 500 req/s and
// reports how late the sends left relative to their schedule.
func BenchmarkScheduleLagPoisson500(b *testing.B) {
	url := fastSim(b)
	var lags []float64
	for i := 0; i < b.N; i++ {
		recs := benchRun(b, url, workload.Scenario{Name: "poisson", Suite: workload.SuiteLoad, Arrival: workload.ArrivalPoisson,
			Rate: 500, Requests: 1000, MaxTokens: 16, CapPolicy: "wait"})
		for _, r := range recs {
			lags = append(lags, r.ScheduleLagMS)
		}
	}
	st := stats.Describe(lags)
	b.ReportMetric(st.P50, "lag-p50-ms")
	b.ReportMetric(st.P99, "lag-p99-ms")
}
