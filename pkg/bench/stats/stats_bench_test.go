package stats

import (
	"math/rand/v2"
	"testing"
)

// Describe on a million samples (the pooled ITL of a large run): sorting
// dominates; the five order-statistic intervals must not.
func BenchmarkDescribe1M(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	src := make([]float64, 1_000_000)
	for i := range src {
		src[i] = r.ExpFloat64() * 10
	}
	xs := make([]float64, len(src))
	b.ReportAllocs()
	for b.Loop() {
		copy(xs, src)
		Describe(xs)
	}
}

func BenchmarkQuantileCI1M(b *testing.B) {
	xs := make([]float64, 1_000_000)
	for i := range xs {
		xs[i] = float64(i)
	}
	for b.Loop() {
		for _, p := range ReportedPercentiles {
			QuantileCI(xs, p.P, Confidence)
		}
	}
}
