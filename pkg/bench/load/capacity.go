package load

import (
	"context"
	"math"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

// Capacity search: per engine, load levels grow geometrically (×2) from
// the start until the SLO is missed, then bisect between the last level
// met and the first missed until they are within CapacityPrecision.
const (
	CapacityMaxLevels = 10
	CapacityPrecision = 0.15 // stop when (missed-met)/missed is below this
	capacityMaxRate   = 4096
)

// CapacitySearch finds each engine's highest load level that still meets
// the template's SLO.
type CapacitySearch struct {
	// Kind is workload.LevelRate or workload.LevelConcurrency.
	Kind string
	// From is the first level; 1 when not set.
	From float64
	// Template shapes every level and carries the SLO.
	Template workload.Scenario
	// Visit hears each level the first time any engine reaches it,
	// before it runs, so its SLO can be judged.
	Visit func(workload.Scenario)
	// Met says whether target t met the SLO at level s, after s ran.
	Met func(t engine.Target, s workload.Scenario) bool
	// Judged, when set, hears every verdict as it is reached.
	Judged func(t engine.Target, s workload.Scenario, met bool)
}

// Start is the first level of the search.
func (c CapacitySearch) Start() float64 {
	if c.From > 0 {
		return c.From
	}
	return 1
}

// FindCapacity runs the search for every target, one after another, on
// the runner's sinks (which keep the journal), and returns the merged
// result and the scenarios visited in order.
func (r *Runner) FindCapacity(ctx context.Context, c CapacitySearch) (RunResult, []workload.Scenario) {
	targets, timeout, scenarios := r.Targets, r.Timeout, r.Scenarios
	// A saturated level must not drain its backlog for minutes: requests
	// still waiting well past every SLO limit time out and count as
	// misses, so the level ends soon after its duration.
	r.Timeout = min(timeout, levelTimeout(c.Template.SLO))
	// And a level ends as soon as its SLO can no longer hold.
	r.Guard = func(_ engine.Target, s workload.Scenario) func(*engine.Record) string { return SLOGuard(s) }
	defer func() { r.Targets, r.Timeout, r.Scenarios, r.Guard = targets, timeout, scenarios, nil }()
	merged := RunResult{Status: "complete"}
	visited := map[string]workload.Scenario{}
	var order []string
	for _, t := range targets {
		lo, hi := 0.0, math.Inf(1)
		v := c.Start()
		for step := 0; step < CapacityMaxLevels && ctx.Err() == nil; step++ {
			s, err := (workload.Sweep{Kind: c.Kind, Values: []float64{v}}).Expand([]workload.Scenario{c.Template}, "--find-capacity")
			if err != nil {
				break
			}
			sc := s[0]
			if _, ok := visited[sc.Name]; !ok {
				visited[sc.Name] = sc
				order = append(order, sc.Name)
				if c.Visit != nil {
					c.Visit(sc)
				}
			}
			r.Targets, r.Scenarios = []engine.Target{t}, []workload.Scenario{sc}
			res := r.Run(ctx)
			MergeResult(&merged, res)
			if len(res.Targets) == 1 && res.Targets[0].Error != "" {
				break // the engine did not answer its probe
			}
			met := c.Met(t, sc)
			if c.Judged != nil {
				c.Judged(t, sc, met)
			}
			if met {
				lo = v
			} else {
				hi = v
			}
			next, done := nextLevel(c.Kind, lo, hi, v)
			if done {
				break
			}
			v = next
		}
	}
	var levels []workload.Scenario
	for _, name := range order {
		levels = append(levels, visited[name])
	}
	return merged, levels
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
	if (hi-lo)/hi < CapacityPrecision {
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

// MergeResult folds r into m: the worst status, the widest span, every
// target once with all its aborted scenarios.
func MergeResult(m *RunResult, r RunResult) {
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
