package reconcile

import (
	"math"
	"sort"
	"strconv"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/scrape"
)

// hist is one histogram at one scrape, its series summed: vLLM labels
// each data-parallel engine apart, and the window is about the whole
// server.
type hist struct {
	bounds []float64 // ascending upper bounds, the last +Inf
	cum    []float64 // cumulative counts per bound
	sum    float64
	count  float64
}

// histOf reads name's buckets, _sum and _count from ss, keeping only the
// series whose labels include match.
func histOf(ss []scrape.Sample, name string, match map[string]string) (hist, bool) {
	byLE := map[float64]float64{}
	var h hist
	found := false
	for _, s := range ss {
		if !labelsMatch(s.Labels, match) {
			continue
		}
		switch s.Metric {
		case name + "_bucket":
			le, err := strconv.ParseFloat(s.Labels["le"], 64)
			if err != nil {
				continue
			}
			byLE[le] += s.Value
		case name + "_sum":
			h.sum += s.Value
			found = true
		case name + "_count":
			h.count += s.Value
			found = true
		}
	}
	if !found || len(byLE) == 0 {
		return hist{}, false
	}
	for le := range byLE {
		h.bounds = append(h.bounds, le)
	}
	sort.Float64s(h.bounds)
	for _, le := range h.bounds {
		h.cum = append(h.cum, byLE[le])
	}
	return h, true
}

func labelsMatch(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

// sub is h − before: what was observed between the two scrapes. False
// when the layouts differ or a count went down (the engine restarted).
func (h hist) sub(before hist) (hist, bool) {
	if len(h.bounds) != len(before.bounds) || h.count < before.count {
		return hist{}, false
	}
	d := hist{bounds: h.bounds, cum: make([]float64, len(h.cum)), sum: h.sum - before.sum, count: h.count - before.count}
	for i := range h.bounds {
		if h.bounds[i] != before.bounds[i] || h.cum[i] < before.cum[i] {
			return hist{}, false
		}
		d.cum[i] = h.cum[i] - before.cum[i]
	}
	return d, true
}

// quantile interpolates linearly inside the bucket holding rank q·count,
// as Prometheus' histogram_quantile does: the lowest bucket starts at 0,
// and a rank in the +Inf bucket reads as the highest finite bound.
func (h hist) quantile(q float64) float64 {
	if h.count <= 0 || len(h.bounds) == 0 {
		return math.NaN()
	}
	rank := q * h.count
	i := sort.Search(len(h.cum), func(i int) bool { return h.cum[i] >= rank })
	if i >= len(h.bounds) {
		i = len(h.bounds) - 1
	}
	if math.IsInf(h.bounds[i], 1) {
		if i == 0 {
			return math.NaN()
		}
		return h.bounds[i-1]
	}
	lower, below := 0.0, 0.0
	if i > 0 {
		lower, below = h.bounds[i-1], h.cum[i-1]
	}
	in := h.cum[i] - below
	if in <= 0 {
		return h.bounds[i]
	}
	return lower + (h.bounds[i]-lower)*(rank-below)/in
}

// inFirstBucket says the quantile's rank falls in the lowest bucket,
// where interpolating from 0 invents a spread the engine did not report
// (vLLM's phase buckets start at 300 ms): there it is only known to be at
// most the bound.
func (h hist) inFirstBucket(q float64) bool {
	return h.count > 0 && len(h.cum) > 1 && h.cum[0] >= q*h.count
}

func (h hist) mean() float64 {
	if h.count <= 0 {
		return math.NaN()
	}
	return h.sum / h.count
}

// counterOf sums name's series whose labels include match.
func counterOf(ss []scrape.Sample, name string, match map[string]string) (float64, bool) {
	v, found := 0.0, false
	for _, s := range ss {
		if s.Metric == name && labelsMatch(s.Labels, match) {
			v += s.Value
			found = true
		}
	}
	return v, found
}

// gaugeOf is name's value: the sum of its series, or with mean their
// average (a fraction such as KV-cache usage per engine).
func gaugeOf(ss []scrape.Sample, name string, mean bool) (float64, bool) {
	v, n := 0.0, 0
	for _, s := range ss {
		if s.Metric == name && !math.IsNaN(s.Value) {
			v += s.Value
			n++
		}
	}
	if n == 0 {
		return 0, false
	}
	if mean {
		v /= float64(n)
	}
	return v, true
}
