package workload

import (
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
)

func TestParseTokenLengthRoundTripsAndNamesTheField(t *testing.T) {
	for _, s := range []string{"512", "uniform:256-1024", "normal:512,128", "lognormal:512,0.5"} {
		tl, err := ParseTokenLength(s, "--input-tokens")
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if tl.String() != s {
			t.Errorf("%s reads back as %s", s, tl)
		}
	}
	for _, s := range []string{"0", "-3", "abc", "uniform:1024-256", "uniform:1.5-4", "normal:512", "normal:0,1", "lognormal:512,-1", "zipf:1,2", "normal:NaN,1"} {
		if _, err := ParseTokenLength(s, "--input-tokens"); err == nil || !strings.Contains(err.Error(), "--input-tokens") {
			t.Errorf("%q: error %v should name the flag", s, err)
		}
	}
}

// The draws follow the distribution asked for, stay within [1, Max], and
// the same seed gives the same counts.
func TestTokenLengthDrawsFollowTheirDistribution(t *testing.T) {
	draw := func(spec string, max, n int, seed uint64) []int {
		tl, err := ParseTokenLength(spec, "t")
		if err != nil {
			t.Fatal(err)
		}
		tl.Max = max
		rng := rand.New(rand.NewPCG(seed, 1))
		out := make([]int, n)
		for i := range out {
			out[i] = tl.Draw(rng)
		}
		return out
	}
	const n = 20000
	mean := func(xs []int) float64 {
		s := 0.0
		for _, x := range xs {
			s += float64(x)
		}
		return s / float64(len(xs))
	}
	median := func(xs []int) float64 {
		c := append([]int(nil), xs...)
		sort.Ints(c)
		return float64(c[len(c)/2])
	}
	if xs := draw("512", 0, 10, 1); mean(xs) != 512 {
		t.Errorf("fixed: %v", xs)
	}
	u := draw("uniform:256-1024", 0, n, 1)
	lo, hi := u[0], u[0]
	for _, x := range u {
		lo, hi = min(lo, x), max(hi, x)
	}
	if lo != 256 || hi != 1024 || math.Abs(mean(u)-640) > 5 {
		t.Errorf("uniform: %d..%d mean %g", lo, hi, mean(u))
	}
	if m := mean(draw("normal:512,128", 0, n, 2)); math.Abs(m-512) > 4 {
		t.Errorf("normal mean %g", m)
	}
	if m := median(draw("lognormal:512,0.5", 0, n, 3)); math.Abs(m-512) > 12 {
		t.Errorf("lognormal median %g", m)
	}
	for _, x := range draw("normal:10,100", 50, n, 4) {
		if x < 1 || x > 50 {
			t.Fatalf("draw %d outside [1, 50]", x)
		}
	}
	a, b := draw("lognormal:512,0.5", 0, 50, 9), draw("lognormal:512,0.5", 0, 50, 9)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed, different draw %d: %d vs %d", i, a[i], b[i])
		}
	}
}
