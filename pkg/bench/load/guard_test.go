package load

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

func guardRecord(start int64, ttft float64, ok bool) *engine.Record {
	r := &engine.Record{Phase: engine.PhaseMeasure, OK: ok, StartUnixNS: start, EndUnixNS: start + int64(ttft*1e6)}
	if ok {
		r.TTFTMS = &ttft
	} else {
		r.ErrorClass = engine.ErrHTTP5xx
	}
	return r
}

func TestSLOGuardStopsOnlyWhenTheSLOCannotHold(t *testing.T) {
	slo, err := workload.ParseSLO("ttft_p95=500ms,itl_p99=1ms", "--slo")
	if err != nil {
		t.Fatal(err)
	}
	// 10 req/s for 10 s: at most 100 + 3·10 + 1 = 131 requests, of which 5%
	// (6.55) may miss the p95.
	open := workload.Scenario{Name: "rate=10", Arrival: workload.ArrivalPoisson, Rate: 10, Duration: 10 * time.Second, SLO: slo}
	if SLOGuard(workload.Scenario{Arrival: workload.ArrivalPoisson}) != nil {
		t.Fatal("a guard for a scenario without an SLO")
	}

	g := SLOGuard(open)
	for i := range 100 {
		if reason := g(guardRecord(int64(i), 100, true)); reason != "" {
			t.Fatalf("request %d within the SLO stopped the level: %s", i, reason)
		}
	}
	for i := range 6 {
		if reason := g(guardRecord(int64(100+i), 900, true)); reason != "" {
			t.Fatalf("%d slow requests of 106 (the p95 still holds) stopped the level: %s", i+1, reason)
		}
	}
	if reason := g(guardRecord(200, 0, false)); !strings.Contains(reason, "ttft p95 ≤ 500 ms can no longer hold (7 of 107") {
		t.Fatalf("the 7th miss of at most 131 requests: %q", reason)
	}

	// A saturated level is called after guardMinRequests, not before.
	g = SLOGuard(open)
	for i := range guardMinRequests - 1 {
		if reason := g(guardRecord(int64(i), 900, true)); reason != "" {
			t.Fatalf("stopped after %d requests: %s", i+1, reason)
		}
	}
	if reason := g(guardRecord(99, 900, true)); reason == "" {
		t.Fatal("20 of 20 requests missed a p95 and the level went on")
	}
	// Warm-up requests do not count.
	g = SLOGuard(open)
	for i := range 50 {
		r := guardRecord(int64(i), 900, true)
		r.Phase = engine.PhaseWarmup
		if reason := g(r); reason != "" {
			t.Fatalf("warm-up stopped the level: %s", reason)
		}
	}

	// A closed loop is projected from its pace, once a quarter of its
	// duration has passed.
	closed := workload.Scenario{Name: "concurrency=4", Arrival: workload.ArrivalClosed, Concurrency: 4, Duration: 8 * time.Second, SLO: slo}
	g = SLOGuard(closed)
	for i := range 30 {
		// 30 misses in the first second: no projection yet.
		if reason := g(guardRecord(int64(i)*int64(30*time.Millisecond), 900, true)); reason != "" {
			t.Fatalf("closed loop stopped before a quarter of its duration: %s", reason)
		}
	}
	if reason := g(guardRecord(int64(3*time.Second), 900, true)); reason == "" {
		t.Fatal("31 of 31 requests missed after 3 of 8 s and the level went on")
	}
}

// Through the runner: a level whose every request misses ends after
// guardMinRequests instead of running its 50 requests, and says why.
func TestRunnerGuardEndsTheScenario(t *testing.T) {
	hs := httptest.NewServer(&loadServer{delay: 20 * time.Millisecond})
	t.Cleanup(hs.Close)
	slo, _ := workload.ParseSLO("e2e_p95=1ms", "--slo")
	col := &Collector{}
	r := &Runner{
		Targets:   []engine.Target{{Name: "e", Type: engine.EngineOpenAI, BaseURL: hs.URL, API: engine.APIChat}},
		Scenarios: []workload.Scenario{{Name: "seq", Suite: workload.SuiteLoad, Arrival: workload.ArrivalSequential, Requests: 50, SLO: slo}},
		Prompts:   []engine.Request{{Messages: []engine.Message{{Role: "user", Content: "hi"}}}},
		HTTP:      engine.NewHTTPClient(engine.HTTPOptions{}),
		Timeout:   10 * time.Second, Clock: engine.NewClock(), RunID: "t", Sink: col, Grace: time.Second, Seed: 7,
		Guard: func(_ engine.Target, s workload.Scenario) func(*engine.Record) string { return SLOGuard(s) },
	}
	res := r.Run(context.Background())
	if n := len(col.Snapshot()); n != guardMinRequests {
		t.Errorf("%d requests sent, want the guard to stop at %d", n, guardMinRequests)
	}
	if len(res.Targets) != 1 || len(res.Targets[0].Aborted) != 1 || !strings.Contains(res.Targets[0].Aborted[0], "stopped early") {
		t.Errorf("aborted: %+v", res.Targets)
	}
}
