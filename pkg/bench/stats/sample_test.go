package stats

import (
	"math"
	"math/rand/v2"
	"testing"
)

// lognormal latencies around 100 ms with a long tail, plus negatives and
// zeros the way a residual metric has them.
func latencies(n int, seed uint64, negatives bool) []float64 {
	rng := rand.New(rand.NewPCG(seed, 7))
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = math.Exp(math.Log(100) + 0.6*rng.NormFloat64())
		if negatives && i%5 == 0 {
			xs[i] = -xs[i] / 10
		}
		if negatives && i%97 == 0 {
			xs[i] = 0
		}
	}
	return xs
}

func within(t *testing.T, what string, got, want, rel float64) {
	t.Helper()
	if math.Abs(got-want) > rel*math.Abs(want)+1e-12 {
		t.Errorf("%s = %v, want %v within %.2g%%", what, got, want, rel*100)
	}
}

// Past the exact limit, every percentile and interval bound stays within
// the bins' relative error of the exact value, and the moments stay exact.
func TestSampleFoldsWithinBinError(t *testing.T) {
	for _, negatives := range []bool{false, true} {
		xs := latencies(200_000, 1, negatives)
		s := &Sample{limit: 1000}
		for _, x := range xs {
			s.Add(x)
		}
		if s.Exact() || s.Len() != len(xs) {
			t.Fatalf("200,000 values past a limit of 1,000: exact %v, len %d", s.Exact(), s.Len())
		}
		got := s.Stats()
		want := Describe(append([]float64(nil), xs...))
		if !got.Approximate || want.Approximate {
			t.Errorf("approximate: folded %v, exact %v", got.Approximate, want.Approximate)
		}
		if got.Count != want.Count || got.Min != want.Min || got.Max != want.Max {
			t.Errorf("count/min/max %v/%v/%v, want %v/%v/%v", got.Count, got.Min, got.Max, want.Count, want.Min, want.Max)
		}
		within(t, "mean", got.Mean, want.Mean, 1e-9)
		within(t, "stddev", got.StdDev, want.StdDev, 1e-9)
		for _, rp := range ReportedPercentiles {
			within(t, rp.Name, got.At(rp.P), want.At(rp.P), BinRelativeError)
			g, w := got.CI95[rp.Name], want.CI95[rp.Name]
			within(t, rp.Name+" lo", g.Lo, w.Lo, BinRelativeError)
			within(t, rp.Name+" hi", g.Hi, w.Hi, BinRelativeError)
		}
		if len(got.Unresolved) != 0 {
			t.Errorf("unresolved %v from 200,000 values", got.Unresolved)
		}
	}
}

// A million values cost a histogram of the values' range, not a slice of
// a million.
func TestSampleMemoryDoesNotGrowWithCount(t *testing.T) {
	s := &Sample{}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 1_000_000 {
		s.Add(math.Exp(math.Log(20) + rng.NormFloat64()))
	}
	if s.exact != nil || s.hist == nil {
		t.Fatal("a million values were kept exactly")
	}
	// e^±5σ around 20 ms spans ~2,000 bins of 1%.
	if n := len(s.hist.pos.counts) + len(s.hist.neg.counts); n > 3000 {
		t.Errorf("%d bins for a million values", n)
	}
	if s.hist.n != 1_000_000 {
		t.Errorf("histogram holds %d values", s.hist.n)
	}
}

// Merging folded samples equals folding all of their values.
func TestSampleMerge(t *testing.T) {
	xs := latencies(30_000, 5, true)
	whole := &Sample{limit: 100}
	a, b := &Sample{limit: 100}, &Sample{limit: 100}
	for i, x := range xs {
		whole.Add(x)
		if i < 10_000 {
			a.Add(x)
		} else {
			b.Add(x)
		}
	}
	small := &Sample{}
	small.Add(42)
	small.Add(-1)
	a.Merge(b)
	a.Merge(small)
	whole.Add(42)
	whole.Add(-1)
	ga, gw := a.Stats(), whole.Stats()
	if ga.Count != gw.Count || ga.Min != gw.Min || ga.Max != gw.Max || ga.P50 != gw.P50 || ga.P99 != gw.P99 || ga.CI95["p95"] != gw.CI95["p95"] {
		t.Errorf("merged %+v\nwhole  %+v", ga, gw)
	}
	within(t, "merged mean", ga.Mean, gw.Mean, 1e-9)
	within(t, "merged stddev", ga.StdDev, gw.StdDev, 1e-9)
}

// Below the limit nothing changes: Describe and an added Sample agree to
// the bit.
func TestSampleExactMatchesDescribe(t *testing.T) {
	xs := latencies(5000, 9, true)
	s := &Sample{}
	for _, x := range xs {
		s.Add(x)
	}
	got, want := s.Stats(), Describe(append([]float64(nil), xs...))
	if !s.Exact() || got.P50 != want.P50 || got.P999 != want.P999 || got.Mean != want.Mean || got.StdDev != want.StdDev || got.CI95["p99"] != want.CI95["p99"] {
		t.Errorf("exact sample %+v\nDescribe %+v", got, want)
	}
	s.Add(math.NaN())
	if s.Len() != len(xs) {
		t.Error("NaN was counted")
	}
}

// The rank test on binned samples agrees with the exact one: the same
// verdict on a real 3% shift and on none (the same requests in another
// order), and nearly the same p-value on a shift at the edge of noise.
func TestMannWhitneyBinned(t *testing.T) {
	a := latencies(20_000, 11, false)
	for _, c := range []struct {
		name  string
		shift func(i int) float64
	}{
		{"3% slower", func(i int) float64 { return a[i] * 1.03 }},
		{"no change", func(i int) float64 { return a[len(a)-1-i] }},
		{"0.5% slower", func(i int) float64 { return a[(i+1)%len(a)] * 1.005 }},
	} {
		b := make([]float64, len(a))
		for i := range b {
			b[i] = c.shift(i)
		}
		exact := MannWhitney(a, b)
		sa, sb := &Sample{limit: 500}, &Sample{limit: 500}
		for i := range a {
			sa.Add(a[i])
			sb.Add(b[i])
		}
		binned := MannWhitneySamples(sa, sb)
		if (exact.P < Alpha) != (binned.P < Alpha) || math.Abs(binned.P-exact.P) > 0.1*exact.P+1e-6 {
			t.Errorf("%s: p exact %.3g, binned %.3g", c.name, exact.P, binned.P)
		}
		t.Logf("%s: p exact %.3g, binned %.3g", c.name, exact.P, binned.P)
		within(t, c.name+": P(A lower)", binned.ProbLower, exact.ProbLower, 0.01)
	}
}

// Folding two million values goes fast and allocates next to nothing
// after the exact part.
func BenchmarkSampleAdd(b *testing.B) {
	xs := latencies(1<<20, 13, false)
	b.ReportAllocs()
	s := &Sample{}
	b.ResetTimer()
	for i := range b.N {
		s.Add(xs[i&(1<<20-1)])
	}
}
