package stats

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

func TestOrderStatisticRanksByHand(t *testing.T) {
	// Median of 10: P(B ≤ 1) = 11/1024 ≤ 0.025 < P(B ≤ 2) = 56/1024, and
	// P(B ≤ 7) = 968/1024 < 0.975 ≤ P(B ≤ 8) = 1013/1024, so the interval is
	// [x(2), x(9)] with coverage 1 - 2·11/1024 = 97.85%.
	if l, u := OrderStatisticRanks(10, 0.5, 0.95); l != 2 || u != 9 {
		t.Fatalf("median of 10: ranks %d..%d, want 2..9", l, u)
	}
	// p90 of 20: P(B ≤ 14) = 0.0113 ≤ 0.025 < P(B ≤ 15) = 0.0432, and
	// P(B ≤ 19) = 0.8784 < 0.975 ≤ P(B ≤ 20) = 1: the upper rank would be
	// 21, beyond the data.
	if l, u := OrderStatisticRanks(20, 0.9, 0.95); l != 15 || u != 21 {
		t.Fatalf("p90 of 20: ranks %d..%d, want 15..21", l, u)
	}
}

func TestQuantileCINeedsEnoughSamples(t *testing.T) {
	xs := make([]float64, 50)
	for i := range xs {
		xs[i] = float64(i)
	}
	if _, ok := QuantileCI(xs, 99, Confidence); ok {
		t.Fatal("p99 from 50 samples must not get an interval")
	}
	if ci, ok := QuantileCI(xs, 50, Confidence); !ok || ci.Lo >= 24.5 || ci.Hi <= 24.5 {
		t.Fatalf("median of 0..49: %+v %v", ci, ok)
	}
	for _, c := range []struct {
		p float64
		n int
	}{{50, 6}, {90, 36}, {95, 72}, {99, 368}, {99.9, 3688}} {
		if got := MinSamples(c.p); got != c.n {
			t.Errorf("MinSamples(%g) = %d, want %d", c.p, got, c.n)
		}
		// The interval exists from exactly that many samples on.
		xs := make([]float64, c.n)
		for i := range xs {
			xs[i] = float64(i)
		}
		if _, ok := QuantileCI(xs, c.p, Confidence); !ok {
			t.Errorf("p%g: no interval from %d samples", c.p, c.n)
		}
		if _, ok := QuantileCI(xs[:c.n-1], c.p, Confidence); ok {
			t.Errorf("p%g: an interval from %d samples", c.p, c.n-1)
		}
	}
}

// Over many seeded trials, ~95% of the intervals (at least 95%: order
// statistics are conservative) contain the true quantile of the
// distribution they were drawn from.
func TestQuantileCICoverage(t *testing.T) {
	cases := []struct {
		name string
		n    int
		p    float64
		draw func(r *rand.Rand) float64
		true float64
	}{
		{"exponential p95, n=200", 200, 95, func(r *rand.Rand) float64 { return r.ExpFloat64() }, math.Log(20)},
		{"exponential p50, n=40", 40, 50, func(r *rand.Rand) float64 { return r.ExpFloat64() }, math.Log(2)},
		{"lognormal p99, n=1000", 1000, 99, func(r *rand.Rand) float64 { return math.Exp(r.NormFloat64()) }, math.Exp(2.3263478740408408)},
		{"normal p90, n=7000", 7000, 90, func(r *rand.Rand) float64 { return r.NormFloat64() }, 1.2815515655446004},
	}
	const trials = 400
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			covered := 0
			xs := make([]float64, c.n)
			for seed := range trials {
				r := rand.New(rand.NewPCG(uint64(seed), 99))
				for i := range xs {
					xs[i] = c.draw(r)
				}
				sort.Float64s(xs)
				ci, ok := QuantileCI(xs, c.p, Confidence)
				if !ok {
					t.Fatal("no interval")
				}
				if ci.Lo <= c.true && c.true <= ci.Hi {
					covered++
				}
			}
			// Binomial(400, 0.95) is within [0.925, 0.99] with probability
			// far above 99.9%; the intervals are built to cover at least 95%.
			if rate := float64(covered) / trials; rate < 0.925 || rate > 0.995 {
				t.Fatalf("coverage %.3f, want about 0.95", rate)
			}
		})
	}
}
