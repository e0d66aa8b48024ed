package verdict

import (
	"math"
	"strings"
	"testing"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/metric"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/summary"
)

func f(v float64) *float64 { return &v }

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
