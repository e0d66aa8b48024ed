package verdict

import (
	"math/rand/v2"
	"testing"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/metric"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/stats"
)

// Three engines: fast and twin draw from one distribution, slow from one
// 50% slower. fast vs slow is significant; fast vs twin is a tie, and the
// verdict on TTFT p50 (fast just ahead of twin) must say so.
func TestComparisonsTellWinsFromTies(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var recs []engine.Record
	add := func(name string, scale float64) {
		for i := range 80 {
			ttft := scale * (100 + 20*r.NormFloat64())
			e2e := ttft + 400
			recs = append(recs, engine.Record{Engine: name, Scenario: "s", Phase: engine.PhaseMeasure, OK: true, TTFTMS: f(ttft), E2EMS: f(e2e),
				OutputTokens: 10, StartUnixNS: int64(i) * 1e6, EndUnixNS: int64(i)*1e6 + 1e6})
		}
	}
	add("fast", 1)
	add("twin", 1)
	add("slow", 1.5)
	s := Summarize("run", recs, nil)
	byPair := map[string]Comparison{}
	for _, c := range s.Comparisons {
		if c.Metric == metric.TTFT {
			byPair[c.A+"-"+c.B] = c
		}
	}
	if c := byPair["fast-slow"]; !c.Significant || c.Faster != "fast" || c.DiffMS < 30 || c.DiffPct < 20 {
		t.Fatalf("fast vs slow: %+v", c)
	}
	if c := byPair["twin-slow"]; !c.Significant || c.Faster != "twin" {
		t.Fatalf("twin vs slow: %+v", c)
	}
	if c := byPair["fast-twin"]; c.Significant || c.Faster != "" || c.PAdjusted < stats.Alpha {
		t.Fatalf("fast vs twin drawn from one distribution: %+v", c)
	}
	for _, f := range s.Fastest {
		if f.Metric != metric.TTFT || f.Stat != "p50" {
			continue
		}
		if f.RunnerUp == "slow" || f.Engine == "slow" {
			t.Fatalf("slow should be last: %+v", f)
		}
		if f.Evidence != EvidenceTie || f.PValue == nil {
			t.Fatalf("fast and twin are a tie, the verdict must say so: %+v", f)
		}
	}
}

func TestHolmAdjustment(t *testing.T) {
	cs := []Comparison{{Test: stats.RankTest{P: 0.01}}, {Test: stats.RankTest{P: 0.04}}, {Test: stats.RankTest{P: 0.03}}}
	holm(cs)
	// Sorted: 0.01×3 = 0.03, 0.03×2 = 0.06, 0.04×1 = 0.04 → 0.06 (monotone).
	want := []float64{0.03, 0.06, 0.06}
	for i, c := range cs {
		if d := c.PAdjusted - want[i]; d > 1e-12 || d < -1e-12 {
			t.Fatalf("adjusted %v, want %v", []float64{cs[0].PAdjusted, cs[1].PAdjusted, cs[2].PAdjusted}, want)
		}
	}
	if !cs[0].Significant || cs[1].Significant || cs[2].Significant {
		t.Fatalf("only the first survives: %+v", cs)
	}
}
