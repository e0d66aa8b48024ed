package export

import (
	"strings"
	"testing"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/metric"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/summary"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/verdict"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

// The executive brief leads with capacity and names SLO misses as risks.
func TestBriefCarriesCapacityAndSLOMisses(t *testing.T) {
	run := reportFixture()
	sustained, missed := 8.0, 16.0
	run.Summary.Capacity = []verdict.Capacity{{Engine: "vllm", Kind: workload.LevelRate, Judged: "slo", Sustained: &sustained, FirstMissed: &missed,
		Levels: []verdict.LevelStats{{Value: 8}, {Value: 16}}}}
	v := 912.0
	run.Summary.Groups[1].SLO = &summary.SLOResult{Attainment: 0.4, Targets: []summary.SLOTargetResult{{SLOTarget: workload.SLOTarget{Metric: metric.TTFT, Percentile: 95, MaxMS: 500}, Value: &v}}}
	b := buildBrief(run)
	if len(b.Reasons) == 0 || b.Reasons[0] != "vllm sustains 8 req/s within the SLO (missed at 16 req/s)." {
		t.Fatalf("reasons: %q", b.Reasons)
	}
	joined := strings.Join(b.Risks, "\n")
	if !strings.Contains(joined, "missed its SLO") || !strings.Contains(joined, "ttft p95 ≤ 500 ms: 912.0 ms") {
		t.Fatalf("risks: %s", joined)
	}
}
