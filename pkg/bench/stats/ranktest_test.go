package stats

import (
	"math"
	"testing"
)

// Reference values: exact p-values by enumerating every arrangement
// (itertools.combinations over the ranks), the normal approximation by
// the textbook formula with tie and continuity correction, both computed
// independently of this code.
func TestMannWhitneyReferenceValues(t *testing.T) {
	rep := func(xs []float64, k int) []float64 {
		var out []float64
		for range k {
			out = append(out, xs...)
		}
		return out
	}
	cases := []struct {
		name  string
		a, b  []float64
		u, p  float64
		exact bool
	}{
		{"separated 3 vs 3", []float64{1, 2, 3}, []float64{4, 5, 6}, 9, 0.1, true},
		{"interleaved 4 vs 4", []float64{1, 3, 5, 7}, []float64{2, 4, 6, 8}, 10, 0.6857142857142857, true},
		{"5 vs 6", []float64{1.1, 2.2, 3.3, 4.4, 9.9}, []float64{5.5, 6.6, 7.7, 8.8, 10.1, 11.2}, 26, 0.05194805194805195, true},
		{"ties, 21 vs 21", rep([]float64{1, 2, 2, 3, 3, 3, 4}, 3), rep([]float64{2, 3, 4, 4, 5, 5, 6}, 3), 441 - 76.5, 0.0002189709630782212, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := MannWhitney(c.a, c.b)
			if r.U != c.u || r.Exact != c.exact || math.Abs(r.P-c.p) > 1e-9 {
				t.Fatalf("U %g p %.12g exact %v; want U %g p %.12g exact %v", r.U, r.P, r.Exact, c.u, c.p, c.exact)
			}
			// Swapping the samples mirrors U and keeps p.
			s := MannWhitney(c.b, c.a)
			if s.U != float64(len(c.a)*len(c.b))-c.u || math.Abs(s.P-r.P) > 1e-12 {
				t.Fatalf("swapped: U %g p %g", s.U, s.P)
			}
		})
	}
}

func TestMannWhitneyNoDifference(t *testing.T) {
	same := []float64{5, 5, 5, 5}
	if r := MannWhitney(same, same); r.P != 1 || r.ProbLower != 0.5 {
		t.Fatalf("identical constant samples: %+v", r)
	}
	if r := MannWhitney(nil, same); r.P != 1 {
		t.Fatalf("empty sample: %+v", r)
	}
}
