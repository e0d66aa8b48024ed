package load

import (
	"math/rand"
	"runtime"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

// Pacer yields the gap before the next open-loop arrival. Open loop is never
// paced by responses: a slow server cannot slow the arrivals down, so its
// slowness shows up as latency instead of hiding as fewer requests
// (coordinated omission).
type Pacer func() time.Duration

// NewPacer returns the arrival process of an open-loop scenario. Poisson
// arrivals draw exponential gaps from a seeded source so a run can be
// repeated exactly.
func NewPacer(a workload.Arrival, rate float64, seed int64) Pacer {
	mean := time.Duration(float64(time.Second) / rate)
	if a != workload.ArrivalPoisson {
		return func() time.Duration { return mean }
	}
	rng := rand.New(rand.NewSource(seed)) //nolint:gosec // reproducible schedule, not security
	return func() time.Duration {
		return time.Duration(rng.ExpFloat64() / rate * float64(time.Second))
	}
}

// spinWindow is how early a timer wakes before a send is due; the rest is
// waited by yielding. Go timers fire up to about a millisecond late under
// load, which would show up as schedule lag; yielding for the last stretch
// costs a little CPU per arrival and keeps sends within microseconds.
const spinWindow = 300 * time.Microsecond

// sleepUntil waits for t or for stop; it reports whether t was reached.
func sleepUntil(stop <-chan struct{}, timer *time.Timer, t time.Time) bool {
	if d := time.Until(t) - spinWindow; d > 0 {
		timer.Reset(d)
		select {
		case <-stop:
			if !timer.Stop() {
				<-timer.C
			}
			return false
		case <-timer.C:
		}
	}
	for time.Now().Before(t) {
		runtime.Gosched()
	}
	select {
	case <-stop:
		return false
	default:
		return true
	}
}
