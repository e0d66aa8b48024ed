package verdict

import (
	"math"
	"testing"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/summary"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

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
