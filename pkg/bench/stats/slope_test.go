package stats

import (
	"math"
	"testing"
)

func TestSlopeOfALineAndOfScatter(t *testing.T) {
	// y = 3x + 2 exactly, then with residuals that cancel: both slope 3.
	if s, ok := Slope([]float64{1, 2, 3, 4}, []float64{5, 8, 11, 14}); !ok || math.Abs(s-3) > 1e-12 {
		t.Errorf("line: %g %v", s, ok)
	}
	if s, ok := Slope([]float64{1, 2, 3}, []float64{6, 8, 12}); !ok || math.Abs(s-3) > 1e-12 {
		t.Errorf("scatter: %g %v", s, ok)
	}
	for _, c := range [][2][]float64{{{1}, {1}}, {{2, 2}, {1, 5}}, {{1, 2}, {1}}} {
		if _, ok := Slope(c[0], c[1]); ok {
			t.Errorf("slope of %v over %v is not defined", c[1], c[0])
		}
	}
}
