package stats

import "math"

// Stats describes one metric's distribution over successful measured
// requests. Percentiles interpolate linearly between order statistics (the
// numpy default, as vLLM bench serve uses).
type Stats struct {
	Count  int     `json:"count"`
	Min    float64 `json:"min"`
	Mean   float64 `json:"mean"`
	StdDev float64 `json:"stddev"`
	P50    float64 `json:"p50"`
	P90    float64 `json:"p90"`
	P95    float64 `json:"p95"`
	P99    float64 `json:"p99"`
	P999   float64 `json:"p99_9"`
	Max    float64 `json:"max"`
	// CI95 holds the 95% confidence interval of each percentile (p50,
	// p90, p95, p99, p99.9) that the sample size can bound.
	CI95 map[string]Interval `json:"ci95,omitempty"`
	// Unresolved lists the percentiles with too few samples for an
	// interval (see MinSamples: p95 needs 72): the value is shown, but it
	// sits among the most extreme samples and is not a stable estimate.
	Unresolved []string `json:"unresolved,omitempty"`
	// Approximate marks a metric with more values than ExactSampleLimit:
	// its percentiles and intervals were read from a histogram and are
	// within BinRelativeError (0.5%); count, min, max, mean and standard
	// deviation stay exact.
	Approximate bool `json:"approximate,omitempty"`
}

// Describe computes Stats; it sorts xs in place.
func Describe(xs []float64) Stats { return NewSampleOf(xs).Stats() }

// Resolved reports whether percentile p (by name, "p95") rests on enough
// samples to be more than the extreme value.
func (s Stats) Resolved(name string) bool {
	for _, u := range s.Unresolved {
		if u == name {
			return false
		}
	}
	return s.Count > 0
}

// Percentile of sorted xs, p in [0,100], linear interpolation.
func Percentile(sorted []float64, p float64) float64 {
	n := len(sorted)
	if n == 0 {
		return math.NaN()
	}
	if n == 1 {
		return sorted[0]
	}
	rank := p / 100 * float64(n-1)
	lo := int(math.Floor(rank))
	if lo >= n-1 {
		return sorted[n-1]
	}
	frac := rank - float64(lo)
	return sorted[lo] + frac*(sorted[lo+1]-sorted[lo])
}

// At returns the statistic for a percentile the Stats hold.
func (s Stats) At(p float64) float64 {
	switch p {
	case 50:
		return s.P50
	case 90:
		return s.P90
	case 95:
		return s.P95
	case 99:
		return s.P99
	case 99.9:
		return s.P999
	case 100:
		return s.Max
	case 0:
		return s.Min
	}
	return math.NaN()
}
