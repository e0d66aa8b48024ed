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

// ShardPacer is the arrival process of a generator's part of an open-loop
// scenario (s is already its Part), the delay of its first arrival from
// the scenario's start, and how many arrivals it has (-1: until the window
// or the request count ends it). Each part is such that all parts together
// are the whole's process: a superposition of independent Poisson
// processes of rate r/N is Poisson of rate r, so each part draws from its
// own seed; constant rate parts are phase-shifted by 1/r so their sends
// interleave evenly; a trace's part is its entries i, i+N, … at their own
// offsets.
func ShardPacer(s workload.Scenario, seed int64, sh workload.Shard) (pace Pacer, first time.Duration, arrivals int) {
	if tr := s.Trace; tr != nil {
		if sh.Whole() {
			return TracePacer(tr.Entries), 0, len(tr.Entries)
		}
		n := sh.Share(len(tr.Entries))
		if n == 0 {
			return func() time.Duration { return time.Hour }, 0, 0
		}
		own := make([]workload.TraceEntry, 0, n)
		for i := sh.Index; i < len(tr.Entries); i += sh.Count {
			own = append(own, tr.Entries[i])
		}
		return TracePacer(own), own[0].Offset - tr.Entries[0].Offset, n
	}
	if sh.Whole() {
		return NewPacer(s.Arrival, s.Rate, seed), 0, -1
	}
	if s.Arrival == workload.ArrivalPoisson {
		// Memoryless: a part's first arrival is one gap after the start,
		// or all N parts would send together at it.
		pace = NewPacer(s.Arrival, s.Rate, shardSeed(seed, sh.Index))
		return pace, pace(), -1
	}
	whole := s.Rate * float64(sh.Count)
	return NewPacer(s.Arrival, s.Rate, seed), time.Duration(float64(sh.Index) / whole * float64(time.Second)), -1
}

// shardSeed gives each generator's Poisson process its own seed, fixed by
// the run's seed and the generator's index.
func shardSeed(seed int64, index int) int64 {
	return seed ^ int64(uint64(index+1)*0x9E3779B97F4A7C15>>1)
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
