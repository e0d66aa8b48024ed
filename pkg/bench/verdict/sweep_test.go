package verdict

import (
	"fmt"
	"testing"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/stats"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/summary"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

// Sustained is the highest level with every level up to it met.
func TestCapacityReadsTheSweep(t *testing.T) {
	lv := map[string]*workload.Level{"r1": {Kind: workload.LevelRate, Value: 1}, "r2": {Kind: workload.LevelRate, Value: 2}, "r4": {Kind: workload.LevelRate, Value: 4}, "r8": {Kind: workload.LevelRate, Value: 8}}
	mk := func(sc string, met bool) summary.Group {
		return summary.Group{Engine: "e", Scenario: sc, SLO: &summary.SLOResult{Met: met}, Metrics: map[string]stats.Stats{}}
	}
	// Out of order, and a lucky pass at 8 after a miss at 4.
	cs := capacities([]summary.Group{mk("r4", false), mk("r1", true), mk("r8", true), mk("r2", true), {Engine: "e", Scenario: "ttft"}}, lv)
	if len(cs) != 1 || len(cs[0].Levels) != 4 || cs[0].Levels[0].Value != 1 {
		t.Fatalf("%+v", cs)
	}
	c := cs[0]
	if c.Sustained == nil || *c.Sustained != 2 || c.FirstMissed == nil || *c.FirstMissed != 4 || c.Judged != "slo" {
		t.Fatalf("sustained %v first missed %v", c.Sustained, c.FirstMissed)
	}
}

// A prompt-length sweep fits TTFT against the prompt tokens the engine
// counted: 20 ms fixed and 60 µs a token are 60 ms per 1,000 tokens and
// 16,667 tokens/s. Length levels are not load levels.
func TestLengthSweepFitsThePrefillRate(t *testing.T) {
	lv := map[string]*workload.Level{}
	var groups []summary.Group
	for _, n := range []float64{2048, 128, 512} {
		sc := fmt.Sprintf("input_%g", n)
		lv[sc] = &workload.Level{Kind: workload.LevelInputTokens, Value: n}
		ttft := 20 + 0.06*n
		groups = append(groups, summary.Group{Engine: "e", Scenario: sc, Requests: 5, Succeeded: 5, OutputTokensTotal: 80,
			Metrics: map[string]stats.Stats{"prompt_tokens": {Count: 5, Mean: n}, "ttft_ms": {Count: 5, P50: ttft, P95: ttft + 3}}})
	}
	groups = append(groups, summary.Group{Engine: "e", Scenario: "ttft", Metrics: map[string]stats.Stats{}})
	if cs := capacities(groups, lv); len(cs) != 0 {
		t.Errorf("a length sweep read as capacity: %+v", cs)
	}
	ls := lengthSweeps(groups, lv)
	if len(ls) != 1 || len(ls[0].Levels) != 3 || ls[0].Levels[0].Value != 128 || ls[0].Levels[2].OutputTokensMean != 16 {
		t.Fatalf("%+v", ls)
	}
	f := ls[0].Fit
	if f == nil || f.TokensPerS == nil || !near(f.MSPer1KTokens, 60) || !near(*f.TokensPerS, 1000/0.06) || !near(f.InterceptMS, 20) || !near(f.R2, 1) {
		t.Fatalf("fit %+v", f)
	}
	// No growth (a prefix cache answered): a slope, no rate.
	for i := range groups[:3] {
		st := groups[i].Metrics["ttft_ms"]
		st.P50 = 30 - lv[groups[i].Scenario].Value/1000
		groups[i].Metrics["ttft_ms"] = st
	}
	if f := lengthSweeps(groups, lv)[0].Fit; f == nil || f.TokensPerS != nil {
		t.Errorf("flat fit %+v", f)
	}
	// One level: no line.
	if f := lengthSweeps(groups[:1], lv)[0].Fit; f != nil {
		t.Errorf("one level fitted: %+v", f)
	}
}

func near(a, b float64) bool { return a-b < 1e-6*max(1, b) && b-a < 1e-6*max(1, b) }
