package verdict

import (
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
