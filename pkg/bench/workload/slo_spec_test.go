package workload

import (
	"strings"
	"testing"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/metric"
)

func TestParseSLO(t *testing.T) {
	s, err := ParseSLO("ttft_p95=500ms, tpot_p99.9=50, e2e_ms_p90=2s, error_rate=1%", "--slo")
	if err != nil {
		t.Fatal(err)
	}
	want := []SLOTarget{{Metric: metric.TTFT, Percentile: 95, MaxMS: 500}, {Metric: metric.TPOT, Percentile: 99.9, MaxMS: 50}, {Metric: metric.E2E, Percentile: 90, MaxMS: 2000}}
	if len(s.Targets) != 3 || s.MaxErrorRate == nil || *s.MaxErrorRate != 0.01 {
		t.Fatalf("%+v", s)
	}
	for i, w := range want {
		if s.Targets[i] != w {
			t.Errorf("target %d: %+v, want %+v", i, s.Targets[i], w)
		}
	}
	if got := s.String(); got != "ttft p95 ≤ 500 ms, tpot p99.9 ≤ 50 ms, e2e p90 ≤ 2s, errors ≤ 1%" {
		t.Errorf("String: %q", got)
	}
	for spec, wantErr := range map[string]string{
		"ttft=500ms":             "with a percentile",
		"ttft_p95":               "METRIC_pNN=LIMIT",
		"latency_p95=1s":         "ttft, tpot, itl, e2e",
		"ttft_p100=1s":           "between 0 and 100",
		"ttft_p95=fast":          "positive duration",
		"ttft_p95=-5":            "positive duration",
		"error_rate=150%":        "between 0% and 100%",
		"ttft_p95=1s,ttft_p95=2": "twice",
	} {
		if _, err := ParseSLO(spec, "--slo"); err == nil || !strings.Contains(err.Error(), wantErr) || !strings.Contains(err.Error(), "--slo") {
			t.Errorf("%q: error %v, want one naming --slo and saying %q", spec, err, wantErr)
		}
	}
}

func TestSLOFromConfig(t *testing.T) {
	c := Default()
	c.Workload.SLO = "ttft_p95=1s"
	c.TestScenarios.LoadTests = []LoadTest{{Name: "chat", Arrival: "closed", ConcurrentUsers: 2, DurationSeconds: 5, SLO: "e2e_p99=5s"}}
	sc, err := c.Scenarios("all")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sc {
		want := "ttft p95 ≤ 1s"
		if s.Name == "chat" {
			want = "e2e p99 ≤ 5s"
		}
		if s.SLO == nil || s.SLO.String() != want {
			t.Errorf("%s: SLO %v, want %s", s.Name, s.SLO, want)
		}
	}
	c.TestScenarios.LoadTests[0].SLO = "e2e=5s"
	if _, err := c.Scenarios("all"); err == nil || !strings.Contains(err.Error(), "test_scenarios.load_tests[0].slo") {
		t.Fatalf("a bad scenario SLO must name its field: %v", err)
	}
}
