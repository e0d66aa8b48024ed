package stats

import (
	"math"
	"testing"
)

func TestPercentileInterpolatesLikeNumpy(t *testing.T) {
	xs := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	// numpy.percentile(range(1, 11), [50, 90, 95, 99]) = 5.5, 9.1, 9.55, 9.91
	for p, want := range map[float64]float64{0: 1, 50: 5.5, 90: 9.1, 95: 9.55, 99: 9.91, 100: 10} {
		if got := Percentile(xs, p); math.Abs(got-want) > 1e-9 {
			t.Errorf("p%g = %g, want %g", p, got, want)
		}
	}
	if !math.IsNaN(Percentile(nil, 50)) {
		t.Error("percentile of nothing must be NaN, not a number")
	}
}
