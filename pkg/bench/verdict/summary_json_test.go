package verdict

import (
	"encoding/json"
	"testing"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/summary"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

// summary.json must encode whatever the run measured: encoding/json
// refuses NaN and ±Inf, and a failed write would lose the summary.
func TestDegenerateRunsStillEncode(t *testing.T) {
	ok := func(name string, cold bool) engine.Record {
		return engine.Record{Engine: name, Scenario: "s", Phase: engine.PhaseMeasure, OK: true, ColdStart: cold, OutputTokens: 1,
			TTFTMS: f(10), E2EMS: f(10), StartUnixNS: 1, EndUnixNS: 2}
	}
	failed := engine.Record{Engine: "a", Scenario: "s", Phase: engine.PhaseMeasure, ErrorClass: engine.ErrConnect}
	slo, _ := workload.ParseSLO("ttft_p95=5ms,tpot_p50=1ms,itl_p99=1ms,error_rate=1%", "test")
	cases := map[string][]engine.Record{
		"every success a cold start":  {ok("a", true), ok("a", true), failed, ok("b", false)},
		"every request failed":        {failed, failed},
		"one request":                 {ok("a", false)},
		"one-token answers, no TPOT":  {ok("a", false), ok("b", false), ok("b", false)},
		"nothing measured (warm-up)":  {{Engine: "a", Scenario: "s", Phase: engine.PhaseWarmup}},
		"zero-length window, no time": {{Engine: "a", Scenario: "s", Phase: engine.PhaseMeasure, OK: true}},
	}
	for name, recs := range cases {
		t.Run(name, func(t *testing.T) {
			levels := map[string]*workload.Level{"s": {Kind: workload.LevelRate, Value: 2}}
			s := SummarizeWith("r", recs, summary.Objectives{SLOs: map[string]*workload.SLO{"s": slo}, Levels: levels})
			if _, err := json.Marshal(s); err != nil {
				t.Fatalf("summary.json would not encode: %v", err)
			}
		})
	}
}

func TestDegenerateComparisonsStillEncode(t *testing.T) {
	cold := engine.Record{RunID: "x", Engine: "a", Scenario: "s", Phase: engine.PhaseMeasure, OK: true, ColdStart: true, TTFTMS: f(10), E2EMS: f(10)}
	failed := engine.Record{RunID: "y", Engine: "a", Scenario: "s", Phase: engine.PhaseMeasure, ErrorClass: engine.ErrConnect}
	zero := engine.Record{RunID: "y", Engine: "a", Scenario: "s", Phase: engine.PhaseMeasure, OK: true, TTFTMS: f(0), E2EMS: f(0), TPOTMS: f(0), OutputTokensPerS: f(0)}
	for name, pair := range map[string][2][]engine.Record{
		"cold vs failed": {{cold}, {failed}},
		"failed vs zero": {{failed}, {zero, zero}},
		"zero vs zero":   {{zero}, {zero}},
		"empty":          {nil, nil},
	} {
		d := CompareRuns(pair[0], pair[1], RegressionOptions{})
		if _, err := json.Marshal(d); err != nil {
			t.Errorf("%s: comparison.json would not encode: %v", name, err)
		}
	}
}
