package load

import (
	"fmt"
	"math"
	"sync"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/metric"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

// guardMinRequests is how many measured requests a level sends before its
// guard may end it: below that a run of misses is not yet a trend.
const guardMinRequests = 20

// SLOGuard watches one engine at one level of a capacity search and says
// when the level's SLO can no longer hold: more requests have already
// missed a target (or failed) than its percentile allows of every request
// the level can still send. A saturated engine then stops queueing for the
// rest of the level's duration; the level is judged on what it sent, which
// misses the SLO either way. Nil when the scenario has no SLO. Safe for
// concurrent use.
func SLOGuard(s workload.Scenario) func(*engine.Record) string {
	if s.SLO == nil {
		return nil
	}
	g := &sloGuard{s: s, misses: make([]int, len(s.SLO.Targets))}
	return g.observe
}

type sloGuard struct {
	mu       sync.Mutex
	s        workload.Scenario
	measured int
	failed   int
	misses   []int // per target
	first    int64 // first measured send
}

func (g *sloGuard) observe(r *engine.Record) string {
	if !r.Sent() {
		return ""
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.measured == 0 || r.StartUnixNS < g.first {
		g.first = r.StartUnixNS
	}
	g.measured++
	if !r.OK {
		g.failed++
	}
	for i, t := range g.s.SLO.Targets {
		if !r.OK {
			g.misses[i]++
		} else if v, ok := workload.RequestValue(r, t); ok && v > t.MaxMS {
			g.misses[i]++
		}
	}
	if g.measured < guardMinRequests {
		return ""
	}
	total, ok := g.mostRequests(r.EndUnixNS)
	if !ok {
		return ""
	}
	for i, t := range g.s.SLO.Targets {
		// A request's own ITL percentile is not the pooled one the SLO
		// reads: only per-request metrics are judged early.
		if t.Metric == metric.ITL {
			continue
		}
		if allowed := (1 - t.Percentile/100) * total; float64(g.misses[i]) > allowed {
			return fmt.Sprintf("stopped early: SLO %s can no longer hold (%d of %d requests missed it; at most %.0f of the ≤%.0f this level can send may)",
				t, g.misses[i], g.measured, math.Floor(allowed), total)
		}
	}
	if m := g.s.SLO.MaxErrorRate; m != nil {
		if allowed := *m * total; float64(g.failed) > allowed {
			return fmt.Sprintf("stopped early: error rate ≤ %g%% can no longer hold (%d of %d requests failed)", *m*100, g.failed, g.measured)
		}
	}
	return ""
}

// mostRequests bounds how many measured requests the level can send in
// all, generously: a Poisson count three standard deviations above its
// mean, or a closed loop's pace so far kept up to the end of its duration
// (and slower engines only send fewer). ok is false while too little of
// a duration has passed to project from.
func (g *sloGuard) mostRequests(now int64) (float64, bool) {
	s := g.s
	switch s.Arrival {
	case workload.ArrivalSequential:
		return float64(s.Requests), true
	case workload.ArrivalTrace:
		if s.Trace != nil {
			return float64(s.Trace.Requests), true
		}
	case workload.ArrivalConstant, workload.ArrivalPoisson:
		n := s.Rate * s.Duration.Seconds()
		if s.Requests > 0 && (s.Duration == 0 || float64(s.Requests) < n) {
			return float64(s.Requests), true
		}
		return n + 3*math.Sqrt(n) + 1, true
	}
	if s.Duration == 0 {
		return float64(s.Requests), true
	}
	elapsed := float64(now - g.first)
	if elapsed < 0.25*float64(s.Duration) {
		return 0, false
	}
	// Pace so far, over the whole duration, plus the requests in flight
	// when it ends.
	return float64(g.measured)*float64(s.Duration)/elapsed + float64(s.Concurrency), true
}
