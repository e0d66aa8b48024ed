package verdict

import (
	"math"
	"strings"
	"testing"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/metric"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/stats"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/summary"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

func group(engine string, ttft, tpot, tput, errRate float64) summary.Group {
	return summary.Group{Engine: engine, Scenario: "s", Requests: 100, Succeeded: int(100 * (1 - errRate)), ErrorRate: errRate, OutputTokensPerS: tput,
		Metrics: map[string]stats.Stats{metric.TTFT: {Count: 100, P50: ttft, P95: 2 * ttft, P99: 3 * ttft, Unresolved: []string{"p99"}}, metric.TPOT: {Count: 100, P50: tpot}}}
}

func TestRankScoresByHand(t *testing.T) {
	// a: best TTFT, TPOT and throughput, 10% errors; b: twice the TTFT,
	// 1.25× the TPOT, 80% of the throughput, no errors. Spread p95/p50 = 2
	// for both (p99 has too few samples).
	gs := []summary.Group{group("a", 100, 8, 100, 0.1), group("b", 200, 10, 80, 0)}
	r := Rank(gs, workload.DefaultWeights)
	// a: 0.30·1 + 0.25·1 + 0.20·1 + 0.15·0.9 + 0.10·1 = 0.985
	// b: 0.30·0.5 + 0.25·0.8 + 0.20·0.8 + 0.15·1 + 0.10·1 = 0.76
	if r[0].Engine != "a" || math.Abs(r[0].Score-0.985) > 1e-9 || math.Abs(r[1].Score-0.76) > 1e-9 {
		t.Fatalf("ranking %+v", r)
	}
	if len(r[0].Components) != 5 || r[0].Components[4].Name != "TTFT p95/p50" || r[1].Components[0].Score != 0.5 {
		t.Fatalf("components %+v", r[1].Components)
	}
	// Weighing errors alone puts b first.
	w, err := workload.ParseWeights("error_rate=1", "--weights")
	if err != nil {
		t.Fatal(err)
	}
	if r := Rank(gs, w); r[0].Engine != "b" {
		t.Fatalf("errors only: %+v", r)
	}
}

func TestRankPutsMissedSLOsLast(t *testing.T) {
	a, b := group("a", 100, 8, 100, 0), group("b", 200, 10, 80, 0)
	a.SLO, b.SLO = &summary.SLOResult{Met: false}, &summary.SLOResult{Met: true}
	r := Rank([]summary.Group{a, b}, workload.DefaultWeights)
	if r[0].Engine != "b" || r[0].SLOMet == nil || !*r[0].SLOMet || *r[1].SLOMet || r[1].Rank != 2 {
		t.Fatalf("the faster engine missed its SLO and must rank below: %+v", r)
	}
	dead := group("c", 0, 0, 0, 1)
	dead.Succeeded = 0
	if r := Rank([]summary.Group{dead, a}, workload.DefaultWeights); r[1].Engine != "c" || r[1].Unranked == "" {
		t.Fatalf("an engine with no success is unranked, last: %+v", r)
	}
}

func TestParseWeightsErrors(t *testing.T) {
	for spec, want := range map[string]string{"speed=1": "ttft, tpot", "ttft=-1": "≥ 0", "ttft=0": "every weight is 0"} {
		if _, err := workload.ParseWeights(spec, "--weights"); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "--weights") {
			t.Errorf("%s: %v", spec, err)
		}
	}
}

// Engines that ran different scenarios (a capacity search) are scored on
// the ones they share: a level only one engine reached scores it 1 and
// would flatter it.
func TestRankUsesSharedScenarios(t *testing.T) {
	a1, b1 := group("a", 200, 8, 100, 0), group("b", 100, 8, 100, 0)
	a2 := group("a", 100, 8, 100, 0)
	a2.Scenario = "only_a"
	r := Rank([]summary.Group{a1, b1, a2}, workload.Weights{TTFT: 1})
	if r[0].Engine != "b" || math.Abs(r[1].Score-0.5) > 1e-9 {
		t.Fatalf("a scores 0.5 on the shared scenario, not the mean with its solo level: %+v", r)
	}
}
