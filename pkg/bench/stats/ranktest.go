package stats

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// Alpha is the significance level of every engine comparison.
const Alpha = 0.05

// RankTest is a two-sided Mann-Whitney U test of whether one engine's
// per-request values tend to be lower than another's. It assumes nothing
// about the shape of the distributions, which latencies need.
type RankTest struct {
	// U counts pairs (a, b) with a < b, ties counting one half.
	U float64 `json:"u"`
	// P is the two-sided p-value: exact for small samples without ties,
	// else the normal approximation with tie and continuity correction.
	P     float64 `json:"p_value"`
	Exact bool    `json:"exact,omitempty"`
	// ProbLower is U/(n_a·n_b): the chance that a random request of A is
	// faster than one of B (0.5: neither tends to be faster).
	ProbLower float64 `json:"prob_a_lower"`
}

// exactLimit bounds the exact distribution's table (n_a·n_b states per
// sample size).
const exactLimit = 20

// MannWhitney tests a against b. Empty samples give P = 1.
func MannWhitney(a, b []float64) RankTest {
	return MannWhitneySamples(NewSampleOf(append([]float64(nil), a...)), NewSampleOf(append([]float64(nil), b...)))
}

// MannWhitneySamples tests a against b. Exact samples are ranked value by
// value; when either was folded into a histogram both are binned alike
// and values sharing a bin are ties, which the variance corrects for.
func MannWhitneySamples(a, b *Sample) RankTest {
	n1, n2 := a.Len(), b.Len()
	if n1 == 0 || n2 == 0 {
		return RankTest{P: 1, ProbLower: 0.5}
	}
	var ba, bb []Bin
	if a.Exact() && b.Exact() {
		ba, bb = a.bins(), b.bins()
	} else {
		ba, bb = a.binnedBins(), b.binnedBins()
	}
	return MannWhitneyBins(ba, bb, n1, n2)
}

// MannWhitneyBins ranks two ascending runs of (value, count) together,
// equal values sharing their average rank.
func MannWhitneyBins(a, b []Bin, n1, n2 int) RankTest {
	n := n1 + n2
	var rankSumB, tieTerm float64
	ties := false
	below := 0 // values ranked so far
	for i, j := 0, 0; i < len(a) || j < len(b); {
		var ca, cb int
		switch {
		case j == len(b) || (i < len(a) && a[i].Value < b[j].Value):
			ca = a[i].Count
			i++
		case i == len(a) || b[j].Value < a[i].Value:
			cb = b[j].Count
			j++
		default:
			ca, cb = a[i].Count, b[j].Count
			i++
			j++
		}
		t := ca + cb
		avg := float64(below) + float64(t+1)/2
		rankSumB += float64(cb) * avg
		if t > 1 {
			ties = true
			ft := float64(t)
			tieTerm += ft*ft*ft - ft
		}
		below += t
	}
	// U of "a below b" is U of b counted from the top: the pairs where b
	// ranks above a.
	u := rankSumB - float64(n2*(n2+1))/2
	res := RankTest{U: u, ProbLower: u / float64(n1*n2)}
	mu := float64(n1*n2) / 2
	if !ties && n1 <= exactLimit && n2 <= exactLimit {
		res.P, res.Exact = exactMannWhitneyP(n1, n2, u), true
		return res
	}
	sigma := math.Sqrt(float64(n1*n2) / 12 * (float64(n+1) - tieTerm/float64(n*(n-1))))
	if sigma == 0 {
		res.P = 1
		return res
	}
	d := math.Abs(u-mu) - 0.5
	if d < 0 {
		d = 0
	}
	res.P = math.Min(1, 2*distuv.UnitNormal.Survival(d/sigma))
	return res
}

// exactMannWhitneyP is P(|U - μ| ≥ |u - μ|) under the null, from the
// count of rank arrangements giving each U (no ties).
func exactMannWhitneyP(n1, n2 int, u float64) float64 {
	maxU := n1 * n2
	// f[i][j][k]: arrangements of i a's and j b's with U = k, where the
	// largest element is either an a (adding j pairs) or a b.
	f := make([][][]float64, n1+1)
	for i := range f {
		f[i] = make([][]float64, n2+1)
		for j := range f[i] {
			f[i][j] = make([]float64, i*j+1)
			if i == 0 || j == 0 {
				f[i][j][0] = 1
				continue
			}
			for k := range f[i][j] {
				// Largest is an a: it sits above all j b's, so those pairs
				// are not "a below b"; largest is a b: it is above all i a's.
				if k < len(f[i-1][j]) {
					f[i][j][k] += f[i-1][j][k]
				}
				if k-i >= 0 && k-i < len(f[i][j-1]) {
					f[i][j][k] += f[i][j-1][k-i]
				}
			}
		}
	}
	mu := float64(maxU) / 2
	obs := math.Abs(u - mu)
	var tail, total float64
	for k, c := range f[n1][n2] {
		total += c
		if math.Abs(float64(k)-mu) >= obs-1e-9 {
			tail += c
		}
	}
	return tail / total
}
