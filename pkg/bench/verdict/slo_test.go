package verdict

import (
	"math"
	"strings"
	"testing"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/metric"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/summary"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

func TestParseSLO(t *testing.T) {
	s, err := workload.ParseSLO("ttft_p95=500ms, tpot_p99.9=50, e2e_ms_p90=2s, error_rate=1%", "--slo")
	if err != nil {
		t.Fatal(err)
	}
	want := []workload.SLOTarget{{Metric: metric.TTFT, Percentile: 95, MaxMS: 500}, {Metric: metric.TPOT, Percentile: 99.9, MaxMS: 50}, {Metric: metric.E2E, Percentile: 90, MaxMS: 2000}}
	if len(s.Targets) != 3 || s.MaxErrorRate == nil || *s.MaxErrorRate != 0.01 {
		t.Fatalf("%+v", s)
	}
	for i, w := range want {
		if s.Targets[i] != w {
			t.Errorf("target %d: %+v, want %+v", i, s.Targets[i], w)
		}
	}
	if got := s.String(); got != "ttft p95 ≤ 500 ms, tpot p99.9 ≤ 50 ms, e2e p90 ≤ 2s, errors ≤ 1%" {
		t.Errorf("String: %q", got)
	}
	for spec, wantErr := range map[string]string{
		"ttft=500ms":             "with a percentile",
		"ttft_p95":               "METRIC_pNN=LIMIT",
		"latency_p95=1s":         "ttft, tpot, itl, e2e",
		"ttft_p100=1s":           "between 0 and 100",
		"ttft_p95=fast":          "positive duration",
		"ttft_p95=-5":            "positive duration",
		"error_rate=150%":        "between 0% and 100%",
		"ttft_p95=1s,ttft_p95=2": "twice",
	} {
		if _, err := workload.ParseSLO(spec, "--slo"); err == nil || !strings.Contains(err.Error(), wantErr) || !strings.Contains(err.Error(), "--slo") {
			t.Errorf("%q: error %v, want one naming --slo and saying %q", spec, err, wantErr)
		}
	}
}

// Ten requests: seven fast, two slow on TTFT, one failed. The SLO
// ttft p80 ≤ 100 ms counts the failure as infinitely slow.
func TestSLOAttainmentAndGoodput(t *testing.T) {
	var recs []engine.Record
	for i := range 10 {
		r := engine.Record{Engine: "e", Scenario: "s", Phase: engine.PhaseMeasure, OK: true, OutputTokens: 20,
			TTFTMS: f(50), TPOTMS: f(10), E2EMS: f(240), StartUnixNS: int64(i) * 1e9, EndUnixNS: int64(i)*1e9 + 5e8}
		switch i {
		case 7, 8:
			r.TTFTMS = f(150)
		case 9:
			r.OK, r.ErrorClass, r.TTFTMS, r.TPOTMS, r.E2EMS = false, engine.ErrHTTP5xx, nil, nil, nil
		}
		recs = append(recs, r)
	}
	slo, _ := workload.ParseSLO("ttft_p70=100ms,tpot_p95=20ms,error_rate=5%", "test")
	g := SummarizeWith("r", recs, summary.Objectives{SLOs: map[string]*workload.SLO{"s": slo}}).Groups[0]
	res := g.SLO
	if res == nil {
		t.Fatal("no SLO result")
	}
	if res.MetRequests != 7 || math.Abs(res.Attainment-0.7) > 1e-12 {
		t.Fatalf("met %d attainment %g, want 7 and 0.7", res.MetRequests, res.Attainment)
	}
	// Window: first send at 0 s, last end at 9.5 s.
	if math.Abs(res.GoodputRequestsPerS-7/9.5) > 1e-9 || math.Abs(res.GoodputTokensPerS-140/9.5) > 1e-9 {
		t.Fatalf("goodput %g req/s %g tok/s", res.GoodputRequestsPerS, res.GoodputTokensPerS)
	}
	// TTFT sorted with the failure as +Inf: 50×7, 150, 150, +Inf; p70 is at
	// rank 6.3, between 50 and 150: 80 ms ≤ 100: met.
	ttft := res.Targets[0]
	if ttft.Value == nil || math.Abs(*ttft.Value-80) > 1e-9 || !ttft.Met {
		t.Fatalf("ttft target: %+v", ttft)
	}
	// One failure in ten is a 10% error rate: the 5% budget is blown.
	if res.Errors == nil || res.Errors.Met || res.Met {
		t.Fatalf("error budget: %+v, overall met %v", res.Errors, res.Met)
	}
}

func TestSLOFromConfig(t *testing.T) {
	c := workload.Default()
	c.Workload.SLO = "ttft_p95=1s"
	c.TestScenarios.LoadTests = []workload.LoadTest{{Name: "chat", Arrival: "closed", ConcurrentUsers: 2, DurationSeconds: 5, SLO: "e2e_p99=5s"}}
	sc, err := c.Scenarios("all")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sc {
		want := "ttft p95 ≤ 1s"
		if s.Name == "chat" {
			want = "e2e p99 ≤ 5s"
		}
		if s.SLO == nil || s.SLO.String() != want {
			t.Errorf("%s: SLO %v, want %s", s.Name, s.SLO, want)
		}
	}
	c.TestScenarios.LoadTests[0].SLO = "e2e=5s"
	if _, err := c.Scenarios("all"); err == nil || !strings.Contains(err.Error(), "test_scenarios.load_tests[0].slo") {
		t.Fatalf("a bad scenario SLO must name its field: %v", err)
	}
}
