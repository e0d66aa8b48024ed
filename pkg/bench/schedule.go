package bench

import (
	"math/rand"
	"time"
)

// Pacer yields the gap before the next open-loop arrival. Open loop is never
// paced by responses: a slow server cannot slow the arrivals down, so its
// slowness shows up as latency instead of hiding as fewer requests
// (coordinated omission).
type Pacer func() time.Duration

// NewPacer returns the arrival process of an open-loop scenario. Poisson
// arrivals draw exponential gaps from a seeded source so a run can be
// repeated exactly.
func NewPacer(a Arrival, rate float64, seed int64) Pacer {
	mean := time.Duration(float64(time.Second) / rate)
	if a != ArrivalPoisson {
		return func() time.Duration { return mean }
	}
	rng := rand.New(rand.NewSource(seed)) //nolint:gosec // reproducible schedule, not security
	return func() time.Duration {
		return time.Duration(rng.ExpFloat64() / rate * float64(time.Second))
	}
}

// sleepUntil waits for t or for stop; it reports whether t was reached.
func sleepUntil(stop <-chan struct{}, timer *time.Timer, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		select {
		case <-stop:
			return false
		default:
			return true
		}
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
