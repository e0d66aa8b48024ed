package verdict

import (
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/metric"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/summary"
)

// A long run folded record by record: a million requests of 64 tokens
// (64 million ITL gaps) across 3 engines. retained-MiB is the heap the
// Summarizer holds afterwards; it must stay flat as the run grows.
func BenchmarkSummarizer1M(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	recs := make([]engine.Record, 3)
	for i := range recs {
		ttft, tpot, e2e := 0.0, 0.0, 0.0
		recs[i] = engine.Record{Engine: []string{"vllm", "tgi", "ollama"}[i], Scenario: "load", OK: true,
			TTFTMS: &ttft, TPOTMS: &tpot, E2EMS: &e2e, OutputTokens: 64, ITLMS: make([]float64, 63)}
	}
	b.ReportAllocs()
	var retained float64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		sz := summary.NewSummarizer("bench", summary.Objectives{})
		for i := range 1_000_000 {
			rec := &recs[i%3]
			*rec.TTFTMS = 40 + r.ExpFloat64()*20
			*rec.TPOTMS = 8 + r.ExpFloat64()
			*rec.E2EMS = *rec.TTFTMS + 63**rec.TPOTMS
			for j := range rec.ITLMS {
				rec.ITLMS[j] = r.ExpFloat64() * 8
			}
			rec.StartUnixNS, rec.EndUnixNS = int64(i)*1e6, int64(i)*1e6+int64(*rec.E2EMS*1e6)
			sz.Add(rec)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		retained = float64(after.HeapInuse-min(before.HeapInuse, after.HeapInuse)) / (1 << 20)
		if s := SummaryOf(sz); s.Groups[0].Metrics[metric.ITL].Count != 333_334*63 {
			b.Fatalf("ITL count %d", s.Groups[0].Metrics[metric.ITL].Count)
		}
		runtime.KeepAlive(sz)
	}
	b.ReportMetric(retained, "retained-MiB")
}
