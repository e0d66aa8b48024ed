package bench

import (
	"math"
	"testing"
)

func f(v float64) *float64 { return &v }

func TestPercentileInterpolatesLikeNumpy(t *testing.T) {
	xs := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	// numpy.percentile(range(1, 11), [50, 90, 95, 99]) = 5.5, 9.1, 9.55, 9.91
	for p, want := range map[float64]float64{0: 1, 50: 5.5, 90: 9.1, 95: 9.55, 99: 9.91, 100: 10} {
		if got := Percentile(xs, p); math.Abs(got-want) > 1e-9 {
			t.Errorf("p%g = %g, want %g", p, got, want)
		}
	}
	if !math.IsNaN(Percentile(nil, 50)) {
		t.Error("percentile of nothing must be NaN, not a number")
	}
}

func TestSummarizeExcludesWarmupFailuresAndCountsClasses(t *testing.T) {
	recs := []Record{
		{Engine: "a", Scenario: "s", Phase: PhaseWarmup, OK: true, TTFTMS: f(1000), E2EMS: f(1000), StartUnixNS: 0, EndUnixNS: 1e9},
		{Engine: "a", Scenario: "s", Phase: PhaseMeasure, OK: true, TTFTMS: f(10), E2EMS: f(100), TPOTMS: f(5), ITLMS: []float64{4, 6},
			OutputTokens: 10, StartUnixNS: 1e9, EndUnixNS: 1.5e9},
		{Engine: "a", Scenario: "s", Phase: PhaseMeasure, OK: true, TTFTMS: f(30), E2EMS: f(300), TPOTMS: f(7), ITLMS: []float64{8},
			OutputTokens: 10, OutputMismatch: true, StartUnixNS: 1.5e9, EndUnixNS: 2e9},
		{Engine: "a", Scenario: "s", Phase: PhaseMeasure, OK: false, ErrorClass: ErrHTTP5xx, TTFTMS: f(1), StartUnixNS: 1.2e9, EndUnixNS: 1.3e9},
		{Engine: "a", Scenario: "s", Phase: PhaseMeasure, ErrorClass: ErrDropped},
		{Engine: "a", Scenario: "s", Phase: PhaseMeasure, ErrorClass: ErrCanceled},
		{Engine: "b", Scenario: "s", Phase: PhaseMeasure, OK: true, TTFTMS: f(20), E2EMS: f(50), TPOTMS: f(3), ITLMS: []float64{3},
			OutputTokens: 10, StartUnixNS: 1e9, EndUnixNS: 2e9},
	}
	s := Summarize("r", recs, map[string]*Goal{"s": {Metric: "ttft", Percentile: 95, LimitMS: 25}})
	if len(s.Groups) != 2 {
		t.Fatalf("%d groups, want 2", len(s.Groups))
	}
	a := s.Groups[0]
	if a.Requests != 3 || a.Succeeded != 2 || a.Failed != 1 || a.Warmup != 1 || a.Dropped != 1 || a.Canceled != 1 {
		t.Errorf("counts %+v", a)
	}
	if a.Errors[ErrHTTP5xx] != 1 || math.Abs(a.ErrorRate-1.0/3) > 1e-9 {
		t.Errorf("errors %v rate %g", a.Errors, a.ErrorRate)
	}
	ttft := a.Metrics[MetricTTFT]
	if ttft.Count != 2 || ttft.Min != 10 || ttft.Max != 30 || ttft.P50 != 20 {
		t.Errorf("ttft %+v: failed (1 ms) and warm-up (1000 ms) requests must not count", ttft)
	}
	if itl := a.Metrics[MetricITL]; itl.Count != 3 || itl.Mean != 6 {
		t.Errorf("itl pools every gap: %+v", itl)
	}
	if a.WindowS != 1 || a.RequestsPerS != 2 || a.OutputTokensPerS != 20 || a.OutputMismatch != 1 {
		t.Errorf("window %g req/s %g tok/s %g mismatch %d", a.WindowS, a.RequestsPerS, a.OutputTokensPerS, a.OutputMismatch)
	}
	if a.Target == nil || a.Target.Met || math.Abs(a.Target.Value-29) > 1e-9 {
		t.Errorf("target %+v: p95 of {10,30} is 29 > 25, not met", a.Target)
	}
	if b := s.Groups[1]; b.Target == nil || !b.Target.Met {
		t.Errorf("b target %+v: 20 ≤ 25 is met", b.Target)
	}
	var ttftWinner, e2eWinner Fastest
	for _, w := range s.Fastest {
		if w.Metric == MetricTTFT && w.Stat == "p50" {
			ttftWinner = w
		}
		if w.Metric == MetricE2E {
			e2eWinner = w
		}
	}
	if ttftWinner.RunnerUp == "" || ttftWinner.RunnerUp == ttftWinner.Engine || ttftWinner.MarginPct != 0 {
		t.Errorf("ttft p50 winner %+v: b (20) vs a (20) is a tie on p50, margin 0", ttftWinner)
	}
	if e2eWinner.Engine != "b" || math.Abs(e2eWinner.MarginPct-75) > 1e-9 {
		t.Errorf("e2e winner %+v: b 50 ms vs a 200 ms is 75%% lower", e2eWinner)
	}
}

func TestGoalWithNoSuccessIsNotMet(t *testing.T) {
	recs := []Record{{Engine: "a", Scenario: "s", Phase: PhaseMeasure, ErrorClass: ErrConnect}}
	s := Summarize("r", recs, map[string]*Goal{"s": {Metric: "ttft", Percentile: 95, LimitMS: 100}})
	if g := s.Groups[0]; g.Target == nil || g.Target.Met {
		t.Errorf("a target with no successful request must not be met: %+v", g.Target)
	}
}
