package verdict

import (
	"math"
	"strings"
	"testing"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/metric"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/stats"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/summary"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

func f(v float64) *float64 { return &v }

func TestPercentileInterpolatesLikeNumpy(t *testing.T) {
	xs := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	// numpy.percentile(range(1, 11), [50, 90, 95, 99]) = 5.5, 9.1, 9.55, 9.91
	for p, want := range map[float64]float64{0: 1, 50: 5.5, 90: 9.1, 95: 9.55, 99: 9.91, 100: 10} {
		if got := stats.Percentile(xs, p); math.Abs(got-want) > 1e-9 {
			t.Errorf("p%g = %g, want %g", p, got, want)
		}
	}
	if !math.IsNaN(stats.Percentile(nil, 50)) {
		t.Error("percentile of nothing must be NaN, not a number")
	}
}

func TestSummarizeExcludesWarmupFailuresAndCountsClasses(t *testing.T) {
	recs := []engine.Record{
		{Engine: "a", Scenario: "s", Phase: engine.PhaseWarmup, OK: true, TTFTMS: f(1000), E2EMS: f(1000), StartUnixNS: 0, EndUnixNS: 1e9},
		{Engine: "a", Scenario: "s", Phase: engine.PhaseMeasure, OK: true, TTFTMS: f(10), E2EMS: f(100), TPOTMS: f(5), ITLMS: []float64{4, 6},
			OutputTokens: 10, StartUnixNS: 1e9, EndUnixNS: 1.5e9},
		{Engine: "a", Scenario: "s", Phase: engine.PhaseMeasure, OK: true, TTFTMS: f(30), E2EMS: f(300), TPOTMS: f(7), ITLMS: []float64{8},
			OutputTokens: 10, OutputMismatch: true, StartUnixNS: 1.5e9, EndUnixNS: 2e9},
		{Engine: "a", Scenario: "s", Phase: engine.PhaseMeasure, OK: false, ErrorClass: engine.ErrHTTP5xx, TTFTMS: f(1), StartUnixNS: 1.2e9, EndUnixNS: 1.3e9},
		{Engine: "a", Scenario: "s", Phase: engine.PhaseMeasure, ErrorClass: engine.ErrDropped},
		{Engine: "a", Scenario: "s", Phase: engine.PhaseMeasure, ErrorClass: engine.ErrCanceled},
		{Engine: "b", Scenario: "s", Phase: engine.PhaseMeasure, OK: true, TTFTMS: f(20), E2EMS: f(50), TPOTMS: f(3), ITLMS: []float64{3},
			OutputTokens: 10, StartUnixNS: 1e9, EndUnixNS: 2e9},
	}
	s := Summarize("r", recs, map[string]*workload.Goal{"s": {Metric: "ttft", Percentile: 95, LimitMS: 25}})
	if len(s.Groups) != 2 {
		t.Fatalf("%d groups, want 2", len(s.Groups))
	}
	a := s.Groups[0]
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
	if a.WindowS != 1 || a.RequestsPerS != 2 || a.OutputTokensPerS != 20 || a.OutputMismatch != 1 {
		t.Errorf("window %g req/s %g tok/s %g mismatch %d", a.WindowS, a.RequestsPerS, a.OutputTokensPerS, a.OutputMismatch)
	}
	if a.Target == nil || a.Target.Met || a.Target.Value != nil {
		t.Errorf("target %+v: with 1 of 3 requests failed, p95 falls on the failure: no value, not met", a.Target)
	}
	if b := s.Groups[1]; b.Target == nil || !b.Target.Met {
		t.Errorf("b target %+v: 20 ≤ 25 is met", b.Target)
	}
	if len(s.Fastest) != 0 {
		t.Errorf("a fails 1 of 3 requests, so only b is ranked and there is nothing to compare: %+v", s.Fastest)
	}
}

func TestGoalWithNoSuccessIsNotMet(t *testing.T) {
	recs := []engine.Record{{Engine: "a", Scenario: "s", Phase: engine.PhaseMeasure, ErrorClass: engine.ErrConnect}}
	s := Summarize("r", recs, map[string]*workload.Goal{"s": {Metric: "ttft", Percentile: 95, LimitMS: 100}})
	if g := s.Groups[0]; g.Target == nil || g.Target.Met {
		t.Errorf("a target with no successful request must not be met: %+v", g.Target)
	}
}

func ollamaRecord(scenario string, ttfb, ttft, load, prompt, eval, total float64, start int64) engine.Record {
	r := engine.Record{Engine: "ollama", EngineType: engine.EngineOllama, Scenario: scenario, Phase: engine.PhaseMeasure, OK: true,
		TTFBMS: f(ttfb), TTFTMS: f(ttft), E2EMS: f(ttft + eval), OutputTokens: 11, RequestedOutputTokens: 11,
		ServerLoadMS: f(load), ServerPromptEvalMS: f(prompt), ServerEvalMS: f(eval), ServerTotalMS: f(total),
		StartUnixNS: start, EndUnixNS: start + int64((ttft+eval)*1e6)}
	engine.FinishDerived(&r)
	return r
}

func TestColdStartIsReportedApartAndReconciled(t *testing.T) {
	recs := []engine.Record{
		ollamaRecord("seq", 290, 290, 280, 1, 50, 335, 0),
		ollamaRecord("seq", 4, 4, 1, 1, 50, 53, 1e9),
		ollamaRecord("seq", 5, 5, 1, 2, 50, 54, 2e9),
	}
	g := Summarize("r", recs, nil).Groups[0]
	if !recs[0].ColdStart || recs[1].ColdStart {
		t.Fatalf("cold start flags: %v %v", recs[0].ColdStart, recs[1].ColdStart)
	}
	if g.ColdStart == nil || g.ColdStart.Count != 1 || g.ColdStart.LoadMS.Max != 280 {
		t.Fatalf("cold start %+v", g.ColdStart)
	}
	if ttft := g.Metrics[metric.TTFT]; ttft.Count != 2 || ttft.Max != 5 || g.Succeeded != 3 {
		t.Errorf("steady-state TTFT %+v (succeeded %d): the cold start must not be in it", ttft, g.Succeeded)
	}
	rc := g.Reconciliation
	if rc == nil || rc.Requests != 2 {
		t.Fatalf("reconciliation %+v", rc)
	}
	// residuals: 4−(1+1)=2 and 5−(1+2)=2; waits: 53−1−1−50=1 and 54−1−2−50=1
	if rc.TTFTResidualMS.P50 != 2 || rc.ServerWaitMS.P50 != 1 || rc.ServerTTFTMS.Max != 3 {
		t.Errorf("residual %+v wait %+v server ttft %+v", rc.TTFTResidualMS, rc.ServerWaitMS, rc.ServerTTFTMS)
	}
	// client decode: 10 gaps in 50 ms = 200 tok/s; server: 11 tokens in 50 ms = 220 tok/s
	if math.Abs(rc.ClientDecodeTokensPerS.P50-200) > 1e-9 || math.Abs(rc.ServerDecodeTokensPerS.P50-220) > 1e-9 ||
		math.Abs(rc.DecodeRateRatio-200.0/220) > 1e-9 {
		t.Errorf("decode client %+v server %+v ratio %g", rc.ClientDecodeTokensPerS, rc.ServerDecodeTokensPerS, rc.DecodeRateRatio)
	}
}

func TestServerQueueingFinding(t *testing.T) {
	var recs []engine.Record
	for i := 0; i < 4; i++ { // sequential: ~3 ms TTFB
		recs = append(recs, ollamaRecord("seq", 3, 3, 1, 1, 50, 53, int64(i)*60e6))
	}
	for i := 0; i < 8; i++ { // 4 at once on a 1-slot server: TTFB climbs, prompt eval does not
		ttfb := 3 + float64(i%4)*50
		recs = append(recs, ollamaRecord("users_4", ttfb, ttfb, 1, 1.1, 50, ttfb+50, 1e9+int64(i/4)*210e6))
	}
	s := Summarize("r", recs, nil)
	var q []summary.Finding
	for _, fd := range s.Findings {
		if fd.Kind == "server_queueing" {
			q = append(q, fd)
		}
	}
	if len(q) != 1 || q[0].Scenario != "users_4" || !strings.Contains(q[0].Message, "OLLAMA_NUM_PARALLEL") || !strings.Contains(q[0].Message, "from 3.0 ms") {
		t.Fatalf("queueing findings %+v", q)
	}
	// Same growth with prompt evaluation growing alike is not queueing.
	for i := range recs {
		if recs[i].Scenario == "users_4" {
			recs[i].ServerPromptEvalMS = f(*recs[i].TTFBMS - 1)
		}
	}
	for _, fd := range Summarize("r", recs, nil).Findings {
		if fd.Kind == "server_queueing" {
			t.Errorf("prompt evaluation grew with TTFB, yet: %s", fd.Message)
		}
	}
}

func TestGoalCountsFailuresAsMisses(t *testing.T) {
	ok := []float64{}
	for i := 1; i <= 99; i++ {
		ok = append(ok, float64(i))
	}
	g := summary.EvaluateGoal(workload.Goal{Metric: "ttft", Percentile: 95, LimitMS: 100}, stats.NewSampleOf(ok), 1)
	if g.Value == nil || !g.Met || math.Abs(*g.Value-95.05) > 1e-9 {
		t.Errorf("1%% failures, p95 of 1..99+∞: %+v", g)
	}
	g = summary.EvaluateGoal(workload.Goal{Metric: "ttft", Percentile: 95, LimitMS: 100}, stats.NewSampleOf(ok[:90]), 10)
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
	g := Summarize("r", recs, map[string]*workload.Goal{"p": sc[0].Target}).Groups[0]
	if g.Target.Met || g.Target.Value == nil || *g.Target.Value != 210 || g.Metrics[metric.TTFTFromArrival].P50 != 210 {
		t.Errorf("goal %+v, ttft from arrival %+v", g.Target, g.Metrics[metric.TTFTFromArrival])
	}
}

func TestFastestRanksReliableEnginesWithMargins(t *testing.T) {
	var recs []engine.Record
	add := func(name string, ttft, e2e float64, ok bool) {
		r := engine.Record{Engine: name, Scenario: "s", Phase: engine.PhaseMeasure, OK: ok, StartUnixNS: 0, EndUnixNS: 1e9, OutputTokens: 10}
		if ok {
			r.TTFTMS, r.E2EMS = f(ttft), f(e2e)
		} else {
			r.ErrorClass = engine.ErrHTTP5xx
		}
		recs = append(recs, r)
	}
	add("a", 20, 200, true)
	add("b", 20, 50, true)
	add("c", 1, 10, true) // fastest, but fails half its requests
	add("c", 0, 0, false)
	var ttft, e2e Fastest
	for _, w := range Summarize("r", recs, nil).Fastest {
		if w.Engine == "c" || w.RunnerUp == "c" {
			t.Errorf("an engine failing 50%% of requests was ranked: %+v", w)
		}
		if w.Metric == metric.TTFT && w.Stat == "p50" {
			ttft = w
		}
		if w.Metric == metric.E2E {
			e2e = w
		}
	}
	if ttft.RunnerUp == "" || ttft.RunnerUp == ttft.Engine || ttft.MarginPct != 0 {
		t.Errorf("ttft p50 %+v: a (20) vs b (20) is a tie, margin 0", ttft)
	}
	if e2e.Engine != "b" || e2e.RunnerUp != "a" || math.Abs(e2e.MarginPct-75) > 1e-9 {
		t.Errorf("e2e %+v: b 50 ms vs a 200 ms is 75%% lower", e2e)
	}
}
