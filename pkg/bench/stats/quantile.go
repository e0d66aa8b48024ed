package stats

import (
	"math"
	"sort"

	"gonum.org/v1/gonum/stat/distuv"
)

// Interval is a two-sided confidence interval.
type Interval struct {
	Lo float64 `json:"lo"`
	Hi float64 `json:"hi"`
}

// Confidence of every interval the tool reports.
const Confidence = 0.95

// ReportedPercentiles are the percentiles summaries carry, with their
// names.
var ReportedPercentiles = []struct {
	Name string
	P    float64
}{{"p50", 50}, {"p90", 90}, {"p95", 95}, {"p99", 99}, {"p99.9", 99.9}}

// MinSamples is the fewest samples for which percentile p has a 95%
// confidence interval bounded on both sides: 6 for the median, 72 for
// p95, 368 for p99, 3,688 for p99.9. Below it the value is close to the
// extreme sample, and is marked so.
func MinSamples(p float64) int {
	q := p / 100
	alpha := (1 - Confidence) / 2
	// Both the lowest and the highest order statistic must leave room:
	// P(B = 0) = (1-q)^n ≤ alpha and P(B = n) = q^n ≤ alpha.
	n := 1.0
	for _, base := range []float64{q, 1 - q} {
		if base > 0 && base < 1 {
			n = math.Max(n, math.Ceil(math.Log(alpha)/math.Log(base)-1e-9))
		}
	}
	return int(n)
}

// QuantileCI is the distribution-free confidence interval of the p-th
// percentile from order statistics: the number of samples below the true
// quantile is Binomial(n, p/100), so [x(l), x(u)] covers it with
// probability at least conf. No resampling, so it is deterministic and
// exact for any distribution. ok is false when n is too small for the
// interval to be bounded on both sides (e.g. p99 from 50 samples).
func QuantileCI(sorted []float64, p, conf float64) (Interval, bool) {
	n := len(sorted)
	if n == 0 {
		return Interval{}, false
	}
	l, u := OrderStatisticRanks(n, p/100, conf)
	if l < 1 || u > n {
		return Interval{}, false
	}
	return Interval{Lo: sorted[l-1], Hi: sorted[u-1]}, true
}

// OrderStatisticRanks returns 1-based ranks l ≤ u with
// P(l ≤ B < u) ≥ conf for B ~ Binomial(n, q), splitting the miss evenly
// between the tails. l < 1 or u > n means no such rank exists.
func OrderStatisticRanks(n int, q, conf float64) (int, int) {
	alpha := (1 - conf) / 2
	b := distuv.Binomial{N: float64(n), P: q}
	// cdf(k) = P(B ≤ k) rises with k: binary searches find the ranks.
	// l is the largest rank with P(B ≤ l-1) ≤ alpha (0 when none).
	l := sort.Search(n+1, func(k int) bool { return b.CDF(float64(k)) > alpha })
	// u is the smallest rank with P(B ≤ u-1) ≥ 1-alpha (n+1 when none).
	u := sort.Search(n+1, func(k int) bool { return b.CDF(float64(k)) >= 1-alpha }) + 1
	return l, u
}
