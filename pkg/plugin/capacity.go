package plugin

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/load"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/summary"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

// Capacity search: per engine, load levels grow geometrically (×2) from
// the start until the SLO is missed, then bisect between the last level
// met and the first missed until they are within capacityPrecision.
const (
	capacityMaxLevels = 10
	capacityPrecision = 0.15 // stop when (missed-met)/missed is below this
	capacityMaxRate   = 4096
)

// capacityRun runs the search for every target, one after another, on the
// shared runner (its sinks keep the journal), and returns the merged
// result and the scenarios visited.
func (o *RunOptions) capacityRun(ctx context.Context, runner *load.Runner, summarizer *summary.Summarizer, progress *progress, tmpl workload.Scenario) (load.RunResult, []workload.Scenario) {
	targets, timeout := runner.Targets, runner.Timeout
	// A saturated level must not drain its backlog for minutes: requests
	// still waiting well past every SLO limit time out and count as
	// misses, so the level ends soon after its duration.
	runner.Timeout = min(timeout, levelTimeout(tmpl.SLO))
	// And a level ends as soon as its SLO can no longer hold.
	runner.Guard = func(_ engine.Target, s workload.Scenario) func(*engine.Record) string { return load.SLOGuard(s) }
	defer func() { runner.Targets, runner.Timeout, runner.Guard = targets, timeout, nil }()
	merged := load.RunResult{Status: "complete"}
	visited := map[string]workload.Scenario{}
	var order []string
	for _, t := range targets {
		lo, hi := 0.0, math.Inf(1)
		v := o.capacityStart()
		for step := 0; step < capacityMaxLevels && ctx.Err() == nil; step++ {
			s, err := (workload.Sweep{Kind: o.findCapacity, Values: []float64{v}}).Expand([]workload.Scenario{tmpl}, "--find-capacity")
			if err != nil {
				break
			}
			sc := s[0]
			if _, ok := visited[sc.Name]; !ok {
				visited[sc.Name] = sc
				order = append(order, sc.Name)
				summarizer.Judge([]workload.Scenario{sc})
			}
			progress.expect(sc.Name, sc.ExpectedRequests())
			runner.Targets, runner.Scenarios = []engine.Target{t}, []workload.Scenario{sc}
			res := runner.Run(ctx)
			mergeResult(&merged, res)
			if len(res.Targets) == 1 && res.Targets[0].Error != "" {
				break // the engine did not answer its probe
			}
			g, ok := summarizer.Group(t.Name, sc.Name)
			met := ok && g.SLO != nil && g.SLO.Met
			fmt.Fprintf(o.ErrOut, "%s at %s: SLO %s\n", t.Name, sc.Level, map[bool]string{true: "met", false: "missed"}[met])
			if met {
				lo = v
			} else {
				hi = v
			}
			next, done := nextLevel(o.findCapacity, lo, hi, v)
			if done {
				break
			}
			v = next
		}
	}
	var scenarios []workload.Scenario
	for _, name := range order {
		scenarios = append(scenarios, visited[name])
	}
	return merged, scenarios
}

// levelTimeout is max(10 s, 4 × the largest limit of the SLO).
func levelTimeout(slo *workload.SLO) time.Duration {
	longest := 0.0
	if slo != nil {
		for _, t := range slo.Targets {
			longest = math.Max(longest, t.MaxMS)
		}
	}
	return max(10*time.Second, time.Duration(4*longest*float64(time.Millisecond)))
}

func (o *RunOptions) capacityStart() float64 {
	if o.capacityFrom > 0 {
		return o.capacityFrom
	}
	return 1
}

// nextLevel doubles until a miss, then bisects; done when the bracket is
// tight, the lowest level missed, or the ceiling is reached.
func nextLevel(kind string, lo, hi, v float64) (float64, bool) {
	if math.IsInf(hi, 1) {
		if v*2 > capacityMaxRate {
			return 0, true
		}
		return v * 2, false
	}
	if lo == 0 {
		return 0, true // even the first level missed
	}
	if (hi-lo)/hi < capacityPrecision {
		return 0, true
	}
	mid := (lo + hi) / 2
	if kind == workload.LevelConcurrency {
		mid = math.Floor(mid)
		if mid <= lo {
			return 0, true
		}
	} else {
		mid = math.Round(mid*100) / 100
	}
	return mid, false
}

func mergeResult(m *load.RunResult, r load.RunResult) {
	if r.Status != "complete" && m.Status == "complete" {
		m.Status = r.Status
	}
	if m.StartUnixNS == 0 || r.StartUnixNS < m.StartUnixNS {
		m.StartUnixNS = r.StartUnixNS
	}
	if r.EndUnixNS > m.EndUnixNS {
		m.EndUnixNS = r.EndUnixNS
	}
	if r.InterruptedUnixNS != 0 && (m.InterruptedUnixNS == 0 || r.InterruptedUnixNS < m.InterruptedUnixNS) {
		m.InterruptedUnixNS = r.InterruptedUnixNS
	}
	m.RecordErrors += r.RecordErrors
	if m.FirstRecordError == "" {
		m.FirstRecordError = r.FirstRecordError
	}
	for _, t := range r.Targets {
		found := false
		for i := range m.Targets {
			if m.Targets[i].Target.Name == t.Target.Name {
				m.Targets[i].Aborted = append(m.Targets[i].Aborted, t.Aborted...)
				found = true
			}
		}
		if !found {
			m.Targets = append(m.Targets, t)
		}
	}
}
