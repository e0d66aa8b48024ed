package live

// What following a run costs the client: the load benchmarks of
// pkg/bench/load run side by side without and with the live view (the
// board as a sink and observer, snapshotted at the dashboard's 4 frames
// a second) and the metrics endpoint (the exporter beside it, scraped
// every second). make bench; the figures are in the README.

import (
	"context"
	"io"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/load"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/openmetrics"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/sim"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/stats"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

// viewed is the board and the exporter as one sink and observer.
type viewed struct {
	board *Board
	exp   *openmetrics.Exporter
	col   *load.Collector
}

func (v *viewed) ScenarioStarted(t engine.Target, s workload.Scenario) {
	v.board.ScenarioStarted(t, s)
	v.exp.ScenarioStarted(t, s)
}

func (v *viewed) ScenarioFinished(t engine.Target, s workload.Scenario) {
	v.board.ScenarioFinished(t, s)
	v.exp.ScenarioFinished(t, s)
}

func (v *viewed) RequestSent(rec *engine.Record) {
	v.board.RequestSent(rec)
	v.exp.RequestSent(rec)
}

func (v *viewed) Write(rec *engine.Record) error {
	v.board.Write(rec)
	v.exp.Write(rec)
	return v.col.Write(rec)
}

func viewRun(b *testing.B, view bool, sc workload.Scenario) []engine.Record {
	b.Helper()
	s := sim.New(sim.Options{Seed: 1, TimeScale: 1e-6})
	b.Cleanup(func() { s.Close() })
	url, err := s.Start(context.Background(), engine.EngineVLLM, "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	col := &load.Collector{}
	r := &load.Runner{
		Targets:   []engine.Target{{Name: "vllm", Type: engine.EngineVLLM, BaseURL: url, API: engine.APIChat}},
		Scenarios: []workload.Scenario{sc},
		Prompts:   []engine.Request{{Messages: []engine.Message{{Role: "user", Content: "Explain what a Kubernetes Service does."}}}},
		HTTP:      engine.NewHTTPClient(engine.HTTPOptions{}),
		Timeout:   time.Minute, Clock: engine.NewClock(), Sink: col, Grace: time.Second, Seed: 1,
	}
	if view {
		v := &viewed{board: NewBoard([]string{"vllm"}, r.Scenarios, false), exp: openmetrics.New("bench"), col: col}
		r.Sink, r.Observer = v, v
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			frame, scrape := time.NewTicker(250*time.Millisecond), time.NewTicker(time.Second)
			defer frame.Stop()
			defer scrape.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-frame.C:
					v.board.Snapshot()
				case <-scrape.C:
					v.exp.Handler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/metrics", io.NopCloser(nil)))
				}
			}
		}()
	}
	res := r.Run(context.Background())
	if res.Status != "complete" {
		b.Fatalf("run %s: %+v", res.Status, res.Targets)
	}
	return col.Snapshot()
}

// BenchmarkStreamedRequestsView is load's BenchmarkStreamedRequests (64
// users, 64 tokens) without and with the view.
func BenchmarkStreamedRequestsView(b *testing.B) {
	for _, view := range []bool{false, true} {
		b.Run(map[bool]string{false: "view=off", true: "view=on"}[view], func(b *testing.B) {
			start := time.Now()
			recs := viewRun(b, view, workload.Scenario{Name: "closed", Suite: workload.SuiteLoad, Arrival: workload.ArrivalClosed,
				Concurrency: 64, Requests: b.N, MaxTokens: 64})
			var ttft []float64
			for _, r := range recs {
				if !r.OK {
					b.Fatalf("request failed: %s %s", r.ErrorClass, r.Error)
				}
				ttft = append(ttft, *r.TTFTMS)
			}
			b.ReportMetric(float64(len(recs))/time.Since(start).Seconds(), "req/s")
			b.ReportMetric(stats.Describe(ttft).P50, "ttft-p50-ms")
		})
	}
}

// BenchmarkScheduleLagPoisson500View is load's schedule-lag benchmark
// (Poisson, 500 req/s) without and with the view.
func BenchmarkScheduleLagPoisson500View(b *testing.B) {
	for _, view := range []bool{false, true} {
		b.Run(map[bool]string{false: "view=off", true: "view=on"}[view], func(b *testing.B) {
			var lags []float64
			for i := 0; i < b.N; i++ {
				for _, r := range viewRun(b, view, workload.Scenario{Name: "poisson", Suite: workload.SuiteLoad, Arrival: workload.ArrivalPoisson,
					Rate: 500, Requests: 1000, MaxTokens: 16, CapPolicy: "wait"}) {
					lags = append(lags, r.ScheduleLagMS)
				}
			}
			st := stats.Describe(lags)
			b.ReportMetric(st.P50, "lag-p50-ms")
			b.ReportMetric(st.P99, "lag-p99-ms")
		})
	}
}

// BenchmarkBoardWrite is one finished 64-token record on the board.
func BenchmarkBoardWrite(b *testing.B) {
	s := workload.Scenario{Name: "chat", Arrival: workload.ArrivalPoisson, Rate: 100, Duration: time.Minute}
	board := NewBoard([]string{"vllm"}, []workload.Scenario{s}, false)
	board.ScenarioStarted(engine.Target{Name: "vllm"}, s)
	ttft, tpot := 120.0, 12.0
	rec := &engine.Record{Engine: "vllm", Scenario: "chat", Phase: engine.PhaseMeasure, OK: true, TTFTMS: &ttft, TPOTMS: &tpot, OutputTokens: 64}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		rec.EndUnixNS = time.Now().UnixNano()
		board.RequestSent(rec)
		board.Write(rec)
	}
}

// BenchmarkBoardSnapshot is one frame's read of a board a minute into a
// 1,000 req/s scenario (every second's reservoir full).
func BenchmarkBoardSnapshot(b *testing.B) {
	s := workload.Scenario{Name: "chat", Arrival: workload.ArrivalPoisson, Rate: 1000, Duration: time.Hour}
	board := NewBoard([]string{"vllm", "tgi", "ollama"}, []workload.Scenario{s}, true)
	ttft, tpot := 120.0, 12.0
	now := time.Now()
	for _, e := range []string{"vllm", "tgi", "ollama"} {
		board.ScenarioStarted(engine.Target{Name: e}, s)
		for i := range 60_000 {
			board.Write(&engine.Record{Engine: e, Scenario: "chat", Phase: engine.PhaseMeasure, OK: true, TTFTMS: &ttft, TPOTMS: &tpot,
				EndUnixNS: now.Add(-time.Duration(i) * time.Millisecond).UnixNano()})
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		board.Snapshot()
	}
}
