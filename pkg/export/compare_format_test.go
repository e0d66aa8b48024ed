package export

import (
	"testing"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/metric"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/verdict"
)

func TestDiffValuesCarryTheMetricsUnit(t *testing.T) {
	for _, c := range []struct {
		metric string
		v      float64
		signed bool
		want   string
	}{
		{verdict.MetricErrorRate, 0.123, false, "12.3%"},
		{verdict.MetricErrorRate, 0.02, true, "+2.0 pp"},
		{metric.TokensPerS, 5, false, "5.0 tok/s"},
		{metric.TokensPerS, -5, true, "-5.0 tok/s"},
		{metric.TTFT, 3.25, false, "3.2 ms"},
		{metric.TTFT, -3, true, "-3.0 ms"},
		{metric.E2E, 0, true, "+0.0 ms"},
	} {
		var got string
		if c.signed {
			got = diffDelta(verdict.DiffRow{Metric: c.metric}, c.v)
		} else {
			got = diffValue(verdict.DiffRow{Metric: c.metric}, c.v)
		}
		if got != c.want {
			t.Errorf("%s %v (signed %v) = %q, want %q", c.metric, c.v, c.signed, got, c.want)
		}
	}
}
