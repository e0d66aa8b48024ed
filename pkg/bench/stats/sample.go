package stats

import (
	"math"
	"sort"
)

// ExactSampleLimit is how many values of one metric in one group a Sample
// keeps exactly. Past it the values fold into a log-bucketed histogram
// whose size depends on the range of the values, not on their number, so
// a long stress run or a pooled ITL of millions of gaps costs kilobytes.
// Every quick and standard run, and most stress runs, stay exact.
const ExactSampleLimit = 1 << 16

// BinRelativeError bounds the error of a value read from the histogram:
// any value in a bin is within 0.5% of the bin's representative.
const BinRelativeError = 0.005

var (
	binGamma    = (1 + BinRelativeError) / (1 - BinRelativeError)
	binLogGamma = math.Log(binGamma)
)

// binZero is the magnitude below which a value counts as zero in the
// histogram (latencies are milliseconds: a femtosecond).
const binZero = 1e-12

// Sample holds the values of one metric: exactly while they number at
// most ExactSampleLimit, then as a histogram with BinRelativeError.
// Min, max, mean and standard deviation stay exact either way. The zero
// value is an empty sample.
type Sample struct {
	n        int
	min, max float64
	// mean and m2 follow Welford's update; exact samples recompute them
	// in two passes, as Describe always has.
	mean, m2 float64

	exact  []float64
	sorted bool
	// limit is ExactSampleLimit unless set (tests; Describe adopts any
	// length).
	limit int
	hist  *logHistogram
}

// NewSampleOf adopts xs (it is sorted in place later) as an exact sample,
// whatever its length.
func NewSampleOf(xs []float64) *Sample {
	s := &Sample{limit: -1}
	for _, x := range xs {
		s.observe(x)
	}
	s.exact = xs
	return s
}

// Add records one value. NaN is ignored: it has no rank.
func (s *Sample) Add(x float64) {
	if math.IsNaN(x) {
		return
	}
	s.observe(x)
	if s.hist != nil {
		s.hist.add(x, 1)
		return
	}
	s.exact = append(s.exact, x)
	s.sorted = false
	limit := s.limit
	if limit == 0 {
		limit = ExactSampleLimit
	}
	if limit > 0 && len(s.exact) > limit {
		s.fold()
	}
}

func (s *Sample) observe(x float64) {
	if s.n == 0 || x < s.min {
		s.min = x
	}
	if s.n == 0 || x > s.max {
		s.max = x
	}
	s.n++
	d := x - s.mean
	s.mean += d / float64(s.n)
	s.m2 += d * (x - s.mean)
}

// fold moves the exact values into a histogram for good.
func (s *Sample) fold() {
	s.hist = &logHistogram{}
	for _, x := range s.exact {
		s.hist.add(x, 1)
	}
	s.exact, s.sorted = nil, false
}

// Len is the number of values added.
func (s *Sample) Len() int {
	if s == nil {
		return 0
	}
	return s.n
}

// Exact reports whether every order statistic is an observed value.
func (s *Sample) Exact() bool { return s == nil || s.hist == nil }

// Merge adds every value of o.
func (s *Sample) Merge(o *Sample) {
	if o == nil || o.n == 0 {
		return
	}
	if o.hist == nil {
		for _, x := range o.exact {
			s.Add(x)
		}
		return
	}
	if s.hist == nil {
		s.fold()
	}
	// Chan et al.'s pairwise update keeps mean and variance exact.
	n := float64(s.n + o.n)
	d := o.mean - s.mean
	s.m2 += o.m2 + d*d*float64(s.n)*float64(o.n)/n
	s.mean += d * float64(o.n) / n
	if s.n == 0 || o.min < s.min {
		s.min = o.min
	}
	if s.n == 0 || o.max > s.max {
		s.max = o.max
	}
	s.n += o.n
	s.hist.merge(o.hist)
}

func (s *Sample) sortExact() {
	if !s.sorted {
		sort.Float64s(s.exact)
		s.sorted = true
	}
}

// At is the order statistic of 0-based rank k.
func (s *Sample) At(k int) float64 {
	if s.hist == nil {
		s.sortExact()
		return s.exact[k]
	}
	return math.Min(s.max, math.Max(s.min, s.hist.at(k)))
}

// Percentile interpolates linearly between order statistics (the numpy
// default), p in [0, 100]; NaN when empty.
func (s *Sample) Percentile(p float64) float64 {
	if s.Len() == 0 {
		return math.NaN()
	}
	if s.hist == nil {
		s.sortExact()
		return Percentile(s.exact, p)
	}
	rank := p / 100 * float64(s.n-1)
	lo := int(math.Floor(rank))
	if lo >= s.n-1 {
		return s.max
	}
	a, b := s.At(lo), s.At(lo+1)
	return a + (rank-float64(lo))*(b-a)
}

// QuantileCI is QuantileCI on the sample's order statistics; from a
// histogram the bounds carry its BinRelativeError.
func (s *Sample) QuantileCI(p, conf float64) (Interval, bool) {
	n := s.Len()
	if n == 0 {
		return Interval{}, false
	}
	l, u := OrderStatisticRanks(n, p/100, conf)
	if l < 1 || u > n {
		return Interval{}, false
	}
	return Interval{Lo: s.At(l - 1), Hi: s.At(u - 1)}, true
}

// Max is the largest observation, exact in either mode.
func (s *Sample) Max() float64 { return s.max }

// Mean of the values; NaN when empty.
func (s *Sample) Mean() float64 {
	if s.Len() == 0 {
		return math.NaN()
	}
	return s.mean
}

// Stats describes the sample.
func (s *Sample) Stats() Stats {
	if s.Len() == 0 {
		return Stats{}
	}
	st := Stats{Count: s.n, Min: s.min, Max: s.max, Approximate: s.hist != nil,
		P50: s.Percentile(50), P90: s.Percentile(90), P95: s.Percentile(95), P99: s.Percentile(99), P999: s.Percentile(99.9)}
	if s.hist == nil {
		st.Mean, st.StdDev = meanSD(s.exact)
	} else {
		st.Mean = s.mean
		if s.n > 1 {
			st.StdDev = math.Sqrt(s.m2 / float64(s.n-1))
		}
	}
	for _, rp := range ReportedPercentiles {
		ci, ok := s.QuantileCI(rp.P, Confidence)
		if ok {
			if st.CI95 == nil {
				st.CI95 = map[string]Interval{}
			}
			st.CI95[rp.Name] = ci
		}
		if s.n < MinSamples(rp.P) || !ok {
			st.Unresolved = append(st.Unresolved, rp.Name)
		}
	}
	return st
}

// meanSD in two passes, which loses less precision than one.
func meanSD(xs []float64) (float64, float64) {
	var sum float64
	for _, x := range xs {
		sum += x
	}
	mean := sum / float64(len(xs))
	var sq float64
	for _, x := range xs {
		sq += (x - mean) * (x - mean)
	}
	if len(xs) < 2 {
		return mean, 0
	}
	return mean, math.Sqrt(sq / float64(len(xs)-1))
}

// bins lists the sample as ascending (value, count) runs: equal values
// of an exact sample form one run, a histogram gives one per bin. The
// rank test reads ties from them.
func (s *Sample) bins() []Bin {
	if s.Len() == 0 {
		return nil
	}
	if s.hist != nil {
		return s.hist.bins()
	}
	s.sortExact()
	var out []Bin
	for i := 0; i < len(s.exact); {
		j := i
		for j < len(s.exact) && s.exact[j] == s.exact[i] {
			j++
		}
		out = append(out, Bin{Value: s.exact[i], Count: j - i})
		i = j
	}
	return out
}

// binned returns s as a histogram (a copy for an exact sample), so two
// samples compared by rank share the same bins.
func (s *Sample) binnedBins() []Bin {
	if s.hist != nil {
		return s.hist.bins()
	}
	h := &logHistogram{}
	for _, x := range s.exact {
		h.add(x, 1)
	}
	return h.bins()
}

// Bin is a value with the number of observations at it: exact values
// with their multiplicity, or a histogram bin at its representative value.
type Bin struct {
	Value float64
	Count int
}

// logHistogram counts values in bins whose bounds grow by binGamma, the
// DDSketch layout: a value x > 0 goes to bin ceil(log_γ x), whose every
// value is within BinRelativeError of 2γ^i/(γ+1). Negative values mirror
// the positive ones; magnitudes below binZero count as zero.
type logHistogram struct {
	pos, neg denseBins
	zero     int
	n        int
}

func binIndex(x float64) int { return int(math.Ceil(math.Log(x) / binLogGamma)) }

func binValue(i int) float64 { return 2 * math.Pow(binGamma, float64(i)) / (binGamma + 1) }

func (h *logHistogram) add(x float64, c int) {
	h.n += c
	switch {
	case x > binZero:
		h.pos.add(binIndex(x), c)
	case x < -binZero:
		h.neg.add(binIndex(-x), c)
	default:
		h.zero += c
	}
}

func (h *logHistogram) merge(o *logHistogram) {
	h.n += o.n
	h.zero += o.zero
	h.pos.merge(&o.pos)
	h.neg.merge(&o.neg)
}

// bins in ascending value order.
func (h *logHistogram) bins() []Bin {
	var out []Bin
	for i := len(h.neg.counts) - 1; i >= 0; i-- {
		if c := h.neg.counts[i]; c > 0 {
			out = append(out, Bin{Value: -binValue(h.neg.offset + i), Count: c})
		}
	}
	if h.zero > 0 {
		out = append(out, Bin{Value: 0, Count: h.zero})
	}
	for i, c := range h.pos.counts {
		if c > 0 {
			out = append(out, Bin{Value: binValue(h.pos.offset + i), Count: c})
		}
	}
	return out
}

// at returns the representative of the bin holding 0-based rank k.
func (h *logHistogram) at(k int) float64 {
	seen := 0
	for i := len(h.neg.counts) - 1; i >= 0; i-- {
		if seen += h.neg.counts[i]; k < seen {
			return -binValue(h.neg.offset + i)
		}
	}
	if seen += h.zero; k < seen {
		return 0
	}
	for i, c := range h.pos.counts {
		if seen += c; k < seen {
			return binValue(h.pos.offset + i)
		}
	}
	return math.NaN()
}

// denseBins is a run of counts from bin index offset on; a range of
// latencies from 1 µs to 1 hour spans about 2,200 bins.
type denseBins struct {
	offset int
	counts []int
}

func (d *denseBins) add(i, c int) {
	switch {
	case len(d.counts) == 0:
		d.offset = i
		d.counts = []int{0}
	case i < d.offset:
		grown := make([]int, d.offset-i+len(d.counts))
		copy(grown[d.offset-i:], d.counts)
		d.counts, d.offset = grown, i
	case i >= d.offset+len(d.counts):
		d.counts = append(d.counts, make([]int, i-d.offset-len(d.counts)+1)...)
	}
	d.counts[i-d.offset] += c
}

func (d *denseBins) merge(o *denseBins) {
	for i, c := range o.counts {
		if c > 0 {
			d.add(o.offset+i, c)
		}
	}
}
