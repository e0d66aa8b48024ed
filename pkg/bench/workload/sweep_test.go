package workload

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseSweep(t *testing.T) {
	sw, err := ParseSweep("rate=8, 1,2,4", "--sweep")
	if err != nil || sw.Kind != LevelRate || len(sw.Values) != 4 || sw.Values[0] != 1 || sw.Values[3] != 8 {
		t.Fatalf("%+v %v", sw, err)
	}
	if sw, err := ParseSweep("users=1,2", "--sweep"); err != nil || sw.Kind != LevelConcurrency {
		t.Fatalf("%+v %v", sw, err)
	}
	for spec, want := range map[string]string{"qps=1,2": "rate=1,2,4,8", "rate=1,x": `"x" is not a level`, "concurrency=1.5": "whole numbers", "rate=2,2": "twice", "rate=0": "> 0"} {
		if _, err := ParseSweep(spec, "--sweep"); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "--sweep") {
			t.Errorf("%s: %v", spec, err)
		}
	}
}

func TestSweepExpandsTheLoadScenario(t *testing.T) {
	c := Default()
	c.Workload.SLO = "ttft_p95=1s"
	c.TestScenarios.LoadTests = []LoadTest{{Name: "chat", Arrival: "closed", ConcurrentUsers: 4, DurationSeconds: 7, ThinkTime: Duration{Duration: 2e8}}, {Name: "other", Rate: 3, DurationSeconds: 1}}
	c.TestScenarios.Sweep = "rate=2,4"
	sc, err := c.Scenarios("all")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range sc {
		names = append(names, s.Name)
		if s.Suite != SuiteLoad {
			continue
		}
		if s.Arrival != ArrivalPoisson || s.Level == nil || s.Rate != s.Level.Value || s.Duration.Seconds() != 7 || s.Concurrency != 0 || s.ThinkTime != 0 || s.SLO == nil {
			t.Errorf("%s: %+v", s.Name, s)
		}
	}
	if strings.Join(names, ",") != "ttft,rate_2rps,rate_4rps" {
		t.Fatalf("scenarios %v: the sweep replaces the load tests, the TTFT suite stays", names)
	}
	c.TestScenarios.Sweep = "concurrency=1,8"
	sc, _ = c.Scenarios("load")
	if len(sc) != 2 || sc[1].Name != "users_8" || sc[1].Arrival != ArrivalClosed || sc[1].Concurrency != 8 || sc[1].ThinkTime == 0 {
		t.Fatalf("%+v", sc)
	}
	if _, err := c.Scenarios("ttft"); err == nil || !strings.Contains(err.Error(), "no load scenario") {
		t.Fatalf("sweeping without a load scenario: %v", err)
	}
}

// A length sweep keeps the load scenario's shape and sets each level's
// prompt (or answer) length.
func TestLengthSweepShapesEachLevel(t *testing.T) {
	sw, err := ParseSweep("input-tokens=2048,128,512", "--sweep")
	if err != nil || sw.Kind != LevelInputTokens || sw.Values[0] != 128 {
		t.Fatalf("%+v %v", sw, err)
	}
	for spec, want := range map[string]string{"input_tokens=1.5": "whole numbers", "output_tokens=20000000": "up to 10000000", "tokens=5": "input_tokens=128,512,2048"} {
		if _, err := ParseSweep(spec, "--sweep"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v", spec, err)
		}
	}
	c := Default()
	c.TestScenarios.LoadTests = []LoadTest{{Name: "chat", Arrival: "closed", ConcurrentUsers: 4, Requests: 9}}
	c.TestScenarios.Sweep = "input_tokens=128,2048"
	sc, err := c.Scenarios("load")
	if err != nil {
		t.Fatal(err)
	}
	if len(sc) != 2 || sc[0].Name != "input_128" || sc[1].Name != "input_2048" {
		t.Fatalf("%+v", sc)
	}
	for _, s := range sc {
		if s.Arrival != ArrivalClosed || s.Concurrency != 4 || s.Requests != 9 || s.InputTokens == nil ||
			s.InputTokens.String() != fmt.Sprint(s.Level.Value) || !s.Level.IsLength() {
			t.Errorf("%s: %+v", s.Name, s)
		}
	}
	c.TestScenarios.Sweep = "output_tokens=16,256"
	if sc, err = c.Scenarios("load"); err != nil || sc[1].Name != "output_256" || sc[1].MaxTokens != 256 || sc[1].OutputTokens.String() != "256" {
		t.Fatalf("%+v %v", sc, err)
	}
}
