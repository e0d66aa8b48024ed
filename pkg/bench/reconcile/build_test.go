package reconcile

import (
	"fmt"
	"math"
	"testing"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/scrape"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/stats"
)

func vllmPage(t *testing.T, requests, gaps int) []scrape.Sample {
	return parse(t, fmt.Sprintf(`# TYPE vllm:inter_token_latency_seconds histogram
vllm:inter_token_latency_seconds_bucket{engine="0",le="0.01"} 0
vllm:inter_token_latency_seconds_bucket{engine="0",le="+Inf"} %d
vllm:inter_token_latency_seconds_sum{engine="0"} %g
vllm:inter_token_latency_seconds_count{engine="0"} %d
# TYPE vllm:request_success_total counter
vllm:request_success_total{engine="0",finished_reason="length"} %d
`, gaps, float64(gaps)*0.02, gaps, requests))
}

// Past the first itlHead measured records the gaps fold into one sample,
// and the window's client ITL is still every gap of every request in it:
// the same statistics as all the gaps taken one by one.
func TestClientITLPoolsEveryGapPastTheHead(t *testing.T) {
	b := NewBuilder()
	const n, per = itlHead + 500, 5
	var all []float64
	warm := &engine.Record{Engine: "vllm", Scenario: "load", Phase: engine.PhaseWarmup, EndUnixNS: 100, ITLMS: []float64{99, 99}}
	if err := b.Write(warm); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		gaps := make([]float64, per)
		for j := range gaps {
			gaps[j] = 10 + float64((i*7+j*3)%23)
		}
		all = append(all, gaps...)
		if err := b.Write(&engine.Record{Engine: "vllm", Scenario: "load", EndUnixNS: int64(1000 + i), ITLMS: gaps}); err != nil {
			t.Fatal(err)
		}
	}
	ss := []scrape.Scrape{
		{Engine: "vllm", UnixNS: 50, Scenario: "load", Edge: scrape.EdgeStart, Samples: vllmPage(t, 0, 0)},
		{Engine: "vllm", UnixNS: 500, Samples: vllmPage(t, 1, 2)},
		{Engine: "vllm", UnixNS: 1_000_000, Scenario: "load", Edge: scrape.EdgeEnd, Samples: vllmPage(t, 1+n, 2+n*per)},
	}
	ws := b.Windows(ss)
	if len(ws) != 1 || ws[0].Unavailable != "" || len(ws[0].Notes) != 0 {
		t.Fatalf("windows %+v", ws)
	}
	p, ok := ws[0].Phase(PhaseITL)
	if !ok || p.Client == nil {
		t.Fatalf("no client ITL: %+v", p)
	}
	want := stats.NewSampleOf(all).Stats()
	got := *p.Client
	if got.Count != want.Count || math.Abs(got.Mean-want.Mean) > 1e-9 || got.P50 != want.P50 || got.P99 != want.P99 || got.Max != want.Max {
		t.Errorf("client ITL %+v, want every measured gap %+v (the warm-up's excluded)", got, want)
	}
	if ws[0].ClientRequests != n || *ws[0].ServerRequests != float64(n) {
		t.Errorf("counts client %d server %v, want %d", ws[0].ClientRequests, *ws[0].ServerRequests, n)
	}
}
