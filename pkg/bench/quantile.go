package bench

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

// MinSamples is the fewest samples for which percentile p is more than
// the maximum in disguise: p99 needs 100, p99.9 needs 1000.
func MinSamples(p float64) int {
	if p <= 50 {
		return 1
	}
	return int(math.Ceil(100/(100-p) - 1e-9))
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
	l, u := orderStatisticRanks(n, p/100, conf)
	if l < 1 || u > n {
		return Interval{}, false
	}
	return Interval{Lo: sorted[l-1], Hi: sorted[u-1]}, true
}

// orderStatisticRanks returns 1-based ranks l ≤ u with
// P(l ≤ B < u) ≥ conf for B ~ Binomial(n, q), splitting the miss evenly
// between the tails. l < 1 or u > n means no such rank exists.
func orderStatisticRanks(n int, q, conf float64) (int, int) {
	alpha := (1 - conf) / 2
	b := distuv.Binomial{N: float64(n), P: q}
	// cdf(k) = P(B ≤ k) rises with k: binary searches find the ranks.
	// l is the largest rank with P(B ≤ l-1) ≤ alpha (0 when none).
	l := sort.Search(n+1, func(k int) bool { return b.CDF(float64(k)) > alpha })
	// u is the smallest rank with P(B ≤ u-1) ≥ 1-alpha (n+1 when none).
	u := sort.Search(n+1, func(k int) bool { return b.CDF(float64(k)) >= 1-alpha }) + 1
	return l, u
}
