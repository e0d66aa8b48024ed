package summary

import (
	"math"
	"testing"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/metric"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/stats"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

func f(v float64) *float64 { return &v }

// groupsOf folds records into their groups, in order of first appearance.
func groupsOf(recs []engine.Record, obj Objectives) []Group {
	var out []Group
	SummarizerOf("r", recs, obj).Inspect(func(_ string, _ Objectives, ms []Measured) {
		for _, m := range ms {
			out = append(out, m.Group)
		}
	})
	return out
}

func TestSummarizeExcludesWarmupFailuresAndCountsClasses(t *testing.T) {
	recs := []engine.Record{
		{Engine: "a", Scenario: "s", Phase: engine.PhaseWarmup, OK: true, TTFTMS: f(1000), E2EMS: f(1000), StartUnixNS: 0, EndUnixNS: 1e9},
		{Engine: "a", Scenario: "s", Phase: engine.PhaseMeasure, OK: true, TTFTMS: f(10), E2EMS: f(100), TPOTMS: f(5), ITLMS: []float64{4, 6},
			OutputTokens: 10, PromptMismatch: true, StartUnixNS: 1e9, EndUnixNS: 1.5e9},
		{Engine: "a", Scenario: "s", Phase: engine.PhaseMeasure, OK: true, TTFTMS: f(30), E2EMS: f(300), TPOTMS: f(7), ITLMS: []float64{8},
			OutputTokens: 10, OutputMismatch: true, StartUnixNS: 1.5e9, EndUnixNS: 2e9},
		{Engine: "a", Scenario: "s", Phase: engine.PhaseMeasure, OK: false, ErrorClass: engine.ErrHTTP5xx, TTFTMS: f(1), StartUnixNS: 1.2e9, EndUnixNS: 1.3e9},
		{Engine: "a", Scenario: "s", Phase: engine.PhaseMeasure, ErrorClass: engine.ErrDropped},
		{Engine: "a", Scenario: "s", Phase: engine.PhaseMeasure, ErrorClass: engine.ErrCanceled},
		{Engine: "b", Scenario: "s", Phase: engine.PhaseMeasure, OK: true, TTFTMS: f(20), E2EMS: f(50), TPOTMS: f(3), ITLMS: []float64{3},
			OutputTokens: 10, StartUnixNS: 1e9, EndUnixNS: 2e9},
	}
	groups := groupsOf(recs, Objectives{Goals: map[string]*workload.Goal{"s": {Metric: "ttft", Percentile: 95, LimitMS: 25}}})
	if len(groups) != 2 {
		t.Fatalf("%d groups, want 2", len(groups))
	}
	a := groups[0]
	if a.Requests != 3 || a.Succeeded != 2 || a.Failed != 1 || a.Warmup != 1 || a.Dropped != 1 || a.Canceled != 1 {
		t.Errorf("counts %+v", a)
	}
	if a.Errors[engine.ErrHTTP5xx] != 1 || math.Abs(a.ErrorRate-1.0/3) > 1e-9 {
		t.Errorf("errors %v rate %g", a.Errors, a.ErrorRate)
	}
	ttft := a.Metrics[metric.TTFT]
	if ttft.Count != 2 || ttft.Min != 10 || ttft.Max != 30 || ttft.P50 != 20 {
		t.Errorf("ttft %+v: failed (1 ms) and warm-up (1000 ms) requests must not count", ttft)
	}
	if itl := a.Metrics[metric.ITL]; itl.Count != 3 || itl.Mean != 6 {
		t.Errorf("itl pools every gap: %+v", itl)
	}
	if a.WindowS != 1 || a.RequestsPerS != 2 || a.OutputTokensPerS != 20 || a.OutputMismatch != 1 || a.PromptMismatch != 1 {
		t.Errorf("window %g req/s %g tok/s %g mismatch %d/%d", a.WindowS, a.RequestsPerS, a.OutputTokensPerS, a.OutputMismatch, a.PromptMismatch)
	}
	if a.Target == nil || a.Target.Met || a.Target.Value != nil {
		t.Errorf("target %+v: with 1 of 3 requests failed, p95 falls on the failure: no value, not met", a.Target)
	}
	if b := groups[1]; b.Target == nil || !b.Target.Met {
		t.Errorf("b target %+v: 20 ≤ 25 is met", b.Target)
	}
}

func TestGoalWithNoSuccessIsNotMet(t *testing.T) {
	recs := []engine.Record{{Engine: "a", Scenario: "s", Phase: engine.PhaseMeasure, ErrorClass: engine.ErrConnect}}
	groups := groupsOf(recs, Objectives{Goals: map[string]*workload.Goal{"s": {Metric: "ttft", Percentile: 95, LimitMS: 100}}})
	if g := groups[0]; g.Target == nil || g.Target.Met {
		t.Errorf("a target with no successful request must not be met: %+v", g.Target)
	}
}

func TestGoalCountsFailuresAsMisses(t *testing.T) {
	ok := []float64{}
	for i := 1; i <= 99; i++ {
		ok = append(ok, float64(i))
	}
	g := EvaluateGoal(workload.Goal{Metric: "ttft", Percentile: 95, LimitMS: 100}, stats.NewSampleOf(ok), 1)
	if g.Value == nil || !g.Met || math.Abs(*g.Value-95.05) > 1e-9 {
		t.Errorf("1%% failures, p95 of 1..99+∞: %+v", g)
	}
	g = EvaluateGoal(workload.Goal{Metric: "ttft", Percentile: 95, LimitMS: 100}, stats.NewSampleOf(ok[:90]), 10)
	if g.Value != nil || g.Met {
		t.Errorf("10%% failures cannot meet p95: %+v", g)
	}
}

func TestOpenLoopGoalReadsFromArrival(t *testing.T) {
	c := workload.Default()
	c.TestScenarios.TTFT.Enabled = false
	c.TestScenarios.LoadTests = []workload.LoadTest{{Name: "p", Arrival: "poisson", Rate: 5, Requests: 3, TargetP95MS: 50, MaxConcurrency: 1}}
	sc, err := c.Scenarios("all")
	if err != nil || sc[0].Target == nil || !sc[0].Target.FromArrival {
		t.Fatalf("open-loop goal %+v %v", sc, err)
	}
	// 10 ms TTFT after 200 ms waiting for the client's cap: 210 ms for the user.
	recs := []engine.Record{{Engine: "e", Scenario: "p", Phase: engine.PhaseMeasure, OK: true, TTFTMS: f(10), E2EMS: f(20), ScheduleLagMS: 200, ClientQueued: true}}
	g := groupsOf(recs, Objectives{Goals: map[string]*workload.Goal{"p": sc[0].Target}})[0]
	if g.Target.Met || g.Target.Value == nil || *g.Target.Value != 210 || g.Metrics[metric.TTFTFromArrival].P50 != 210 {
		t.Errorf("goal %+v, ttft from arrival %+v", g.Target, g.Metrics[metric.TTFTFromArrival])
	}
}

// TTFT splits by prefix-cache hit where the engine says; in a group whose
// engine reported cached tokens in usage, a shared-prefix request it said
// nothing about was a miss. An engine that never says gets no split.
func TestPrefixCacheSplitsTTFT(t *testing.T) {
	n := func(v int) *int { return &v }
	mk := func(engineName string, ttft float64, cached *int, src string) engine.Record {
		return engine.Record{Engine: engineName, Scenario: "s", Phase: engine.PhaseMeasure, OK: true, TTFTMS: f(ttft), E2EMS: f(ttft + 10),
			OutputTokens: 2, SharedPrefixTokens: 512, CachedTokens: cached, CachedTokensSource: src, StartUnixNS: 1e9, EndUnixNS: 2e9}
	}
	recs := []engine.Record{
		mk("v", 10, n(512), engine.CachedFromUsage), mk("v", 12, n(496), engine.CachedFromUsage), mk("v", 50, nil, ""), mk("v", 54, n(0), engine.CachedFromUsage),
		mk("t", 40, nil, ""), mk("t", 41, nil, ""),
	}
	groups := groupsOf(recs, Objectives{})
	v, tg := groups[0], groups[1]
	if hit, miss := v.Metrics[metric.TTFTPrefixHit], v.Metrics[metric.TTFTPrefixMiss]; hit.Count != 2 || hit.Max != 12 || miss.Count != 2 || miss.Min != 50 {
		t.Errorf("v: hit %+v miss %+v", hit, miss)
	}
	if c := v.Metrics[metric.CachedTokens]; c.Count != 3 || c.Max != 512 {
		t.Errorf("v: cached %+v", c)
	}
	for _, m := range []string{metric.TTFTPrefixHit, metric.TTFTPrefixMiss, metric.CachedTokens} {
		if _, ok := tg.Metrics[m]; ok {
			t.Errorf("t reported no cache but has %s", m)
		}
	}
}
