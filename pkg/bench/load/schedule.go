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

// TracePacer replays a trace's arrivals: the gap before each next arrival
// is the trace's own. Offsets are absolute, so gaps never accumulate
// rounding; after the last entry it yields an hour (the caller stops
// first).
func TracePacer(entries []workload.TraceEntry) Pacer {
	i := 0
	return func() time.Duration {
		i++
		if i >= len(entries) {
			return time.Hour
		}
		return entries[i].Offset - entries[i-1].Offset
	}
}

// A send is waited for in three stretches. Go's timers wake up to about a
// millisecond late on Linux (the runtime's poller sleeps in whole
// milliseconds), which would show up as schedule lag, so the timer is set
// coarseWindow early; the rest is slept precisely (nanosleep, within tens
// of microseconds) but for spinWindow, which is waited by yielding. That
// keeps sends within microseconds for about 0.1 ms of CPU an arrival,
// where spinning the whole millisecond cost ten times more.
const (
	coarseWindow = 2 * time.Millisecond
	spinWindow   = 100 * time.Microsecond
)

// sleepUntil waits for t or for stop; it reports whether t was reached.
func sleepUntil(stop <-chan struct{}, timer *time.Timer, t time.Time) bool {
	if !waitTimer(stop, timer, t.Add(-coarseWindow)) {
		return false
	}
	if d := time.Until(t) - spinWindow; d > 0 {
		preciseSleep(d)
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

// waitTimer waits for about t (a millisecond late, at worst) or for stop;
// it reports whether stop did not come.
func waitTimer(stop <-chan struct{}, timer *time.Timer, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return true
	}
	timer.Reset(d)
	select {
	case <-stop:
		if !timer.Stop() {
			<-timer.C
		}
		return false
	case <-timer.C:
		return true
	}
}
