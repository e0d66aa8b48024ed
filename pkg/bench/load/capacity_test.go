package load

import (
	"math"
	"testing"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

func TestNextLevelDoublesThenBisects(t *testing.T) {
	inf := math.Inf(1)
	steps := []struct {
		kind      string
		lo, hi, v float64
		next      float64
		done      bool
	}{
		{workload.LevelRate, 1, inf, 1, 2, false},      // met: double
		{workload.LevelRate, 4, 8, 8, 6, false},        // first miss: bisect
		{workload.LevelRate, 4, 4.5, 4.5, 0, true},     // within 15%: stop
		{workload.LevelRate, 0, 1, 1, 0, true},         // the first level missed
		{workload.LevelRate, 4096, inf, 4096, 0, true}, // ceiling
		{workload.LevelConcurrency, 4, 6, 6, 5, false},
		{workload.LevelConcurrency, 5, 6, 6, 0, true}, // no whole user between
	}
	for _, s := range steps {
		next, done := nextLevel(s.kind, s.lo, s.hi, s.v)
		if next != s.next || done != s.done {
			t.Errorf("%s lo %g hi %g v %g: next %g done %v, want %g %v", s.kind, s.lo, s.hi, s.v, next, done, s.next, s.done)
		}
	}
}

func TestLevelTimeout(t *testing.T) {
	slo, _ := workload.ParseSLO("ttft_p95=500ms,e2e_p99=5s", "test")
	if got := levelTimeout(slo); got != 20*time.Second {
		t.Errorf("4 × 5 s: got %s", got)
	}
	slo, _ = workload.ParseSLO("ttft_p95=200ms", "test")
	if got := levelTimeout(slo); got != 10*time.Second {
		t.Errorf("floor of 10 s: got %s", got)
	}
}
