package live

import (
	"math"
	"slices"
)

// Window is how far back the rolling figures look.
const (
	Window      = 60 // seconds
	perBucket   = 64 // samples a second keeps of each metric
	SparkPoints = 30 // one per two seconds of the window
)

// bucket is one second of a lane's finished requests. Each metric keeps
// at most perBucket samples of the second (a reservoir), so the rolling
// percentiles cost the same at 10 and 10,000 requests a second; the run
// folder's summary is computed from every record, not from these.
type bucket struct {
	sec            int64 // unix second; a slot is reused once its second is gone
	done, failed   int
	tokens         int
	ttft, tpot, lg reservoir
}

type reservoir struct {
	n    int // offered
	vals [perBucket]float64
	kept int
}

// add keeps a uniform sample of what it is offered, deterministically:
// the same records always give the same figures.
func (r *reservoir) add(v float64) {
	r.n++
	if r.kept < perBucket {
		r.vals[r.kept] = v
		r.kept++
		return
	}
	// A multiplicative hash of the count stands in for a random draw.
	if j := int(uint64(r.n)*0x9E3779B97F4A7C15>>33) % r.n; j < perBucket {
		r.vals[j] = v
	}
}

// window is a ring of the last Window seconds.
type window struct {
	b [Window]bucket
}

// at is second sec's bucket, or nil when sec is older than the window
// ending at now or than the second its slot already holds.
func (w *window) at(sec, now int64) *bucket {
	if sec <= now-Window {
		return nil
	}
	b := &w.b[((sec%Window)+Window)%Window]
	switch {
	case b.sec > sec:
		return nil
	case b.sec < sec:
		*b = bucket{sec: sec}
	}
	return b
}

// since yields the buckets of the seconds in (now-span, now].
func (w *window) since(now, span int64) []*bucket {
	var out []*bucket
	for i := range w.b {
		b := &w.b[i]
		if b.sec > now-span && b.sec <= now && (b.done > 0 || b.failed > 0) {
			out = append(out, b)
		}
	}
	return out
}

// quantiles are the p50 and p95 of the samples bs keep of one metric;
// NaN when there are none.
func quantiles(bs []*bucket, pick func(*bucket) *reservoir) (p50, p95 float64) {
	var vs []float64
	for _, b := range bs {
		r := pick(b)
		vs = append(vs, r.vals[:r.kept]...)
	}
	if len(vs) == 0 {
		return math.NaN(), math.NaN()
	}
	slices.Sort(vs)
	return nearestRank(vs, 0.50), nearestRank(vs, 0.95)
}

// nearestRank is the q quantile of sorted vs by the nearest-rank rule
// (no interpolation: a shown value is one some request had).
func nearestRank(vs []float64, q float64) float64 {
	i := int(math.Ceil(q*float64(len(vs)))) - 1
	return vs[max(0, min(i, len(vs)-1))]
}
