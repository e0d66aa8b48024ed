package verdict

import (
	"strings"
	"testing"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/stats"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/summary"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

func TestParseSweep(t *testing.T) {
	sw, err := workload.ParseSweep("rate=8, 1,2,4", "--sweep")
	if err != nil || sw.Kind != workload.LevelRate || len(sw.Values) != 4 || sw.Values[0] != 1 || sw.Values[3] != 8 {
		t.Fatalf("%+v %v", sw, err)
	}
	if sw, err := workload.ParseSweep("users=1,2", "--sweep"); err != nil || sw.Kind != workload.LevelConcurrency {
		t.Fatalf("%+v %v", sw, err)
	}
	for spec, want := range map[string]string{"qps=1,2": "rate=1,2,4,8", "rate=1,x": `"x" is not a level`, "concurrency=1.5": "whole numbers", "rate=2,2": "twice", "rate=0": "> 0"} {
		if _, err := workload.ParseSweep(spec, "--sweep"); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "--sweep") {
			t.Errorf("%s: %v", spec, err)
		}
	}
}

func TestSweepExpandsTheLoadScenario(t *testing.T) {
	c := workload.Default()
	c.Workload.SLO = "ttft_p95=1s"
	c.TestScenarios.LoadTests = []workload.LoadTest{{Name: "chat", Arrival: "closed", ConcurrentUsers: 4, DurationSeconds: 7, ThinkTime: workload.Duration{Duration: 2e8}}, {Name: "other", Rate: 3, DurationSeconds: 1}}
	c.TestScenarios.Sweep = "rate=2,4"
	sc, err := c.Scenarios("all")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range sc {
		names = append(names, s.Name)
		if s.Suite != workload.SuiteLoad {
			continue
		}
		if s.Arrival != workload.ArrivalPoisson || s.Level == nil || s.Rate != s.Level.Value || s.Duration.Seconds() != 7 || s.Concurrency != 0 || s.ThinkTime != 0 || s.SLO == nil {
			t.Errorf("%s: %+v", s.Name, s)
		}
	}
	if strings.Join(names, ",") != "ttft,rate_2rps,rate_4rps" {
		t.Fatalf("scenarios %v: the sweep replaces the load tests, the TTFT suite stays", names)
	}
	c.TestScenarios.Sweep = "concurrency=1,8"
	sc, _ = c.Scenarios("load")
	if len(sc) != 2 || sc[1].Name != "users_8" || sc[1].Arrival != workload.ArrivalClosed || sc[1].Concurrency != 8 || sc[1].ThinkTime == 0 {
		t.Fatalf("%+v", sc)
	}
	if _, err := c.Scenarios("ttft"); err == nil || !strings.Contains(err.Error(), "no load scenario") {
		t.Fatalf("sweeping without a load scenario: %v", err)
	}
}

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
