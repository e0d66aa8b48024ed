package run

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

func TestSlotsGiveEveryWorkerTheSameTimeline(t *testing.T) {
	start := time.Unix(1000, 0)
	timed := func(d time.Duration) workload.Scenario {
		return workload.Scenario{Arrival: workload.ArrivalClosed, Duration: d, WarmupDuration: time.Second}
	}
	p := Plan{Scenarios: []workload.Scenario{timed(10 * time.Second), timed(20 * time.Second)}}
	slots := p.Slots(start)
	// One target's run: (1+10+3) + (1+20+3) = 38 s; targets follow each other.
	for _, c := range []struct {
		i, k int
		want time.Duration
	}{{0, 0, 0}, {0, 1, 14 * time.Second}, {1, 0, 38 * time.Second}, {1, 1, 52 * time.Second}} {
		if got := slots(c.i, c.k).Sub(start); got != c.want {
			t.Errorf("target %d scenario %d at +%s, want +%s", c.i, c.k, got, c.want)
		}
	}
	p.Parallel = true
	if got := p.Slots(start)(1, 1).Sub(start); got != 14*time.Second {
		t.Errorf("in parallel, target 1's second scenario at +%s, want +14s", got)
	}
	// A scenario bounded by its request count alone ends the timeline.
	p = Plan{Scenarios: []workload.Scenario{timed(10 * time.Second), {Arrival: workload.ArrivalClosed, Requests: 50}, timed(5 * time.Second)}}
	slots = p.Slots(start)
	if !slots(0, 2).IsZero() || !slots(1, 0).IsZero() || slots(0, 1).Sub(start) != 14*time.Second {
		t.Errorf("after an unbounded scenario: %v %v %v", slots(0, 1), slots(0, 2), slots(1, 0))
	}
}

// Workers begin each scenario at its slot, not when their previous one
// happened to drain.
func TestWorkersBeginEveryScenarioAtItsSlot(t *testing.T) {
	cs := newCountedSim(t)
	targets := []engine.Target{{Name: "vllm", Type: engine.EngineVLLM, API: engine.APIChat, BaseURL: cs.URL}}
	a := workload.Scenario{Name: "a", Suite: workload.SuiteLoad, Arrival: workload.ArrivalClosed, Concurrency: 2, Duration: 500 * time.Millisecond, MaxTokens: 8}
	b := a
	b.Name = "b"
	plan := testPlan(targets, a, 2)
	plan.Scenarios = append(plan.Scenarios, b)
	dir, _, _ := distributed(t, context.Background(), plan, nil, nil)
	first := map[string]int64{}
	for _, r := range journalRecords(t, filepath.Join(dir, "requests.jsonl")) {
		key := r.Scenario + "/" + strconv.Itoa(*r.LoadWorker)
		if first[key] == 0 || r.IntendedStartUnixNS < first[key] {
			first[key] = r.IntendedStartUnixNS
		}
	}
	for _, w := range []string{"0", "1"} {
		gap := time.Duration(first["b/"+w] - first["a/"+w])
		// Scenario a's slot is its 0.5 s and 3 s of slack.
		if gap < 3400*time.Millisecond || gap > 5*time.Second {
			t.Errorf("worker %s began b %s after a, want its slot 3.5 s after", w, gap)
		}
	}
	if d := time.Duration(first["b/0"] - first["b/1"]).Abs(); d > 100*time.Millisecond {
		t.Errorf("the workers began b %s apart", d)
	}
}
