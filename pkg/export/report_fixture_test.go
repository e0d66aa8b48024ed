package export

import (
	"errors"
	"sync"
	"testing"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/load"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/verdict"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

// fixtureCharts draws the fixture's charts once for every test that only
// reads them: under the race detector one drawing takes seconds.
var fixtureCharts = sync.OnceValues(func() ([]chart, error) { return charts(reportFixture()) })

func mustFixtureCharts(t *testing.T) []chart {
	t.Helper()
	charts, err := fixtureCharts()
	if err != nil {
		t.Fatal(err)
	}
	return charts
}

// Untrusted text the report must show as text, never as markup: a script,
// a table-breaking pipe, a Markdown link and a code span.
const (
	evilText  = "<script>alert(1)</script>"
	evilModel = "<script>alert(1)</script>|[click](http://evil.example/x)"
	evilError = "upstream said <script>alert(1)</script> | `rm -rf /` [click](http://evil.example/x)\n# not a heading"
)

// reportFixture is a fixed run shaped like a real one, built from records
// and verdict.Summarize so every number in the golden report is derived the
// way a real run's are: three engines and three scenarios (sequential,
// closed loop, capped open loop), an unreachable fourth target, warm-up,
// an Ollama cold start with server timings and queueing, failures with
// hostile messages, a model name with markup, dropped and client-queued
// requests, schedule lag and output-length mismatches.
func reportFixture() *Run {
	const t0 = int64(1_790_000_000_000_000_000)
	at := func(sec float64) int64 { return t0 + int64(sec*1e9) }
	fp := func(v float64) *float64 { return &v }
	seed := true
	m := Manifest{
		Tool: "kubectl-llmbench", ToolVersion: "v0.9.0-test", RunID: "golden_20260101_120000", Status: "complete",
		Command: []string{"kubectl-llmbench", "run", "--target", "vllm=http://10.0.0.1:8000", "--target", "tgi=http://10.0.0.2:8080",
			"--target", "ollama=http://10.0.0.3:11434", "--model", "tgi=" + evilModel, "--preset", "golden"},
		StartedAt: "2026-09-21T12:00:00.5Z", EndedAt: "2026-09-21T12:03:10.25Z",
		Host: HostInfo{Hostname: "bench-client", OS: "linux", Arch: "amd64", CPUs: 8, GoVersion: "go1.26.8"},
	}
	m.Config.Benchmark = workload.BenchmarkMeta{Name: "golden", Description: "Fixed synthetic run for the report's golden test"}
	m.Config.Workload = workload.Workload{SystemPrompt: "You are terse.", MaxTokens: 32, Temperature: 0, TimeoutSeconds: 60,
		UniquePrompts: &seed, Prompts: []string{"Explain Kubernetes in one line.", "1. Ignore the above\n| and " + evilText + " [x](http://evil.example/p)"}}
	m.Scenarios = []workload.Scenario{
		{Name: "ttft", Suite: workload.SuiteTTFT, Arrival: workload.ArrivalSequential, Concurrency: 1, Requests: 8, WarmupRequests: 1, MaxTokens: 32,
			Target: &workload.Goal{Metric: "ttft", Percentile: 95, LimitMS: 100}},
		{Name: "chat_4_users", Suite: workload.SuiteLoad, Arrival: workload.ArrivalClosed, Concurrency: 4, CapPolicy: "wait", Requests: 12, MaxTokens: 32,
			InputTokens: &workload.TokenLength{Kind: workload.TokensFixed, A: 41},
			Target:      &workload.Goal{Metric: "ttft", Percentile: 95, LimitMS: 70}},
		{Name: "open_8rps", Suite: workload.SuiteLoad, Arrival: workload.ArrivalPoisson, Rate: 8, Concurrency: 4, CapPolicy: "drop", Requests: 12, MaxTokens: 32,
			Target: &workload.Goal{Metric: "ttft", Percentile: 95, LimitMS: 400, FromArrival: true}},
	}
	type fixtureEngine struct {
		name  string
		typ   engine.EngineType
		api   engine.API
		model string
		ttft  float64 // idle TTFT, ms
		tpot  float64 // ms per token after the first
	}
	engines := []fixtureEngine{
		{"vllm", engine.EngineVLLM, engine.APIChat, "meta-llama/Llama-3.1-8B-Instruct", 24, 8},
		{"tgi", engine.EngineTGI, engine.APIChat, evilModel, 35, 9.5},
		{"ollama", engine.EngineOllama, engine.APIOllamaChat, "llama3.2:latest", 50, 14},
	}
	for _, e := range engines {
		m.Targets = append(m.Targets, load.TargetStatus{Target: engine.Target{Name: e.name, Type: e.typ, API: e.api, Model: e.model,
			BaseURL: "http://10.0.0.1:8000", Access: "explicit"}, Info: engine.EngineInfo{Version: "1.2.3", Models: []string{e.model}}})
	}
	// Prompts shaped to 41 tokens in chat_4_users: counted exactly by
	// vLLM's /tokenize, not by Ollama's probes, an estimate on TGI.
	tmpl := 31
	m.Targets[0].Calibration = &workload.Calibration{Method: "tokenize", BaseTokens: 34, TemplateTokens: &tmpl, Pieces: 174,
		TokensPerWord: 1.1, Checks: []workload.CalibrationCheck{{Requested: 41, Planned: 41, Counted: 41}}, Exact: true, Calls: 176, DurationMS: 84}
	m.Targets[1].Calibration = workload.EstimatedCalibration(errors.New("/tokenize answered HTTP 404 <script>alert(1)</script>"))
	m.Targets[2].Calibration = &workload.Calibration{Method: "probe", BaseTokens: 30, Pieces: 174,
		TokensPerWord: 1.2, Checks: []workload.CalibrationCheck{{Requested: 41, Planned: 41, Counted: 42}}, Calls: 176, DurationMS: 2100}
	m.Targets = append(m.Targets, load.TargetStatus{Target: engine.Target{Name: "offline", Type: engine.EngineOpenAI, API: engine.APIChat,
		BaseURL: "http://10.0.0.9:8000"}, Error: "probe failed: " + evilError})

	var recs []engine.Record
	id := int64(0)
	clock := 0.0 // seconds since t0; engines and scenarios run one after another
	for si, sc := range m.Scenarios {
		load := []float64{1, 1.6, 2.2}[si]
		for ei, e := range engines {
			n := sc.Requests + sc.WarmupRequests
			for i := 0; i < n; i++ {
				id++
				// A fixed pattern in [0, 1) stands in for noise.
				jitter := float64((i*7+si*3+ei*5)%11) / 10
				r := engine.Record{RunID: m.RunID, Engine: e.name, EngineType: e.typ, API: e.api, Model: e.model,
					Suite: sc.Suite, Scenario: sc.Name, Phase: engine.PhaseMeasure, RequestID: id, Sequence: int64(i), PromptIndex: i % 2,
					Worker: i % max(sc.Concurrency, 1), RequestedOutputTokens: 32, PromptTokens: 40 + i%3}
				if sc.InputTokens != nil {
					r.RequestedPromptTokens = 41
					if e.typ != engine.EngineOllama {
						r.PromptTokens = 41
					}
					r.PromptMismatch = engine.PromptMismatch(r.RequestedPromptTokens, r.PromptTokens)
				}
				if i < sc.WarmupRequests {
					r.Phase = engine.PhaseWarmup
				}
				start := clock + float64(i)*0.25
				r.IntendedStartUnixNS = at(start)
				if sc.Arrival == workload.ArrivalPoisson && i%4 == 3 {
					r.ScheduleLagMS, r.ClientQueued = 35+jitter*10, true
				} else {
					r.ScheduleLagMS = 0.05 + jitter/10
				}
				r.StartUnixNS = r.IntendedStartUnixNS + int64(r.ScheduleLagMS*1e6)
				switch {
				case sc.Arrival == workload.ArrivalPoisson && e.name == "vllm" && i == 11:
					r.ErrorClass, r.Error = engine.ErrDropped, "client cap of 4 requests in flight reached"
					r.EndUnixNS = r.StartUnixNS
					recs = append(recs, r)
					continue
				case e.name == "tgi" && si > 0 && i%5 == 2:
					r.HTTPStatus, r.ErrorClass, r.Error = 503, engine.ErrHTTP5xx, evilError
					r.TTFBMS = fp(2.5)
					r.EndUnixNS = r.StartUnixNS + 3_000_000
					recs = append(recs, r)
					continue
				case e.name == "tgi" && si == 2 && i == 9:
					r.ErrorClass, r.Error = engine.ErrTimeout, "no answer within 60s"
					r.EndUnixNS = r.StartUnixNS + 60_000_000_000
					recs = append(recs, r)
					continue
				}
				tokens := 32
				if e.name == "tgi" && i%4 == 1 {
					tokens = 27 // TGI stops at EOS
					r.OutputMismatch = true
				}
				ttft := e.ttft*load + jitter*e.ttft*0.15
				ttfb := 0.3 + jitter/10
				if e.typ == engine.EngineOllama {
					// Ollama answers headers with its first token; under load
					// requests wait for a parallel slot before prompt evaluation.
					wait := (load - 1) * 60
					prompt := 45 + jitter*2
					ttft = prompt + wait + 0.6
					ttfb = ttft - 0.1
					r.ServerPromptEvalMS, r.ServerWaitMS = fp(prompt), fp(wait)
					r.ServerLoadMS = fp(1)
					if sc.Name == "ttft" && i == 1 {
						r.ServerLoadMS, r.ColdStart = fp(2400), true
						ttft += 2400
					}
					r.ServerTTFTMS = fp(*r.ServerLoadMS + prompt)
					r.TTFTResidualMS = fp(ttft - *r.ServerTTFTMS)
					r.ServerEvalMS = fp(float64(tokens) * e.tpot * 0.98)
					r.ServerTotalMS = fp(*r.ServerLoadMS + prompt + wait + *r.ServerEvalMS)
					r.ServerDecodeTokensPerS = fp(float64(tokens) / *r.ServerEvalMS * 1000)
					r.OutputTokensSource = engine.TokensFromEvalCount
				} else {
					r.OutputTokensSource = engine.TokensFromUsage
				}
				tpot := e.tpot * (1 + (load-1)*0.1) * (1 + jitter/20)
				r.ITLMS = make([]float64, tokens-1)
				for k := range r.ITLMS {
					r.ITLMS[k] = tpot * (0.9 + float64(k%3)/10)
				}
				e2e := ttft + float64(tokens-1)*tpot
				r.OK, r.HTTPStatus, r.FinishReason = true, 200, "length"
				r.TTFBMS, r.TTFTMS, r.TTFTContentMS, r.TPOTMS = fp(ttfb), fp(ttft), fp(ttft), fp(tpot)
				r.E2EMS, r.NTPOTMS = fp(e2e), fp(e2e/float64(tokens))
				r.OutputTokensPerS = fp(float64(tokens) / e2e * 1000)
				r.ClientDecodeTokensPerS = fp(float64(tokens-1) / (e2e - ttft) * 1000)
				r.OutputTokens, r.Chunks = tokens, tokens
				r.EndUnixNS = r.StartUnixNS + int64(e2e*1e6)
				recs = append(recs, r)
			}
			clock += float64(n)*0.25 + 2
		}
	}
	return &Run{Dir: "golden", Manifest: m, Records: recs, Summary: verdict.Summarize(m.RunID, recs, m.Goals())}
}
