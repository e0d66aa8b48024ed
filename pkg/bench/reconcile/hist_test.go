package reconcile

import (
	"math"
	"strings"
	"testing"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/scrape"
)

func parse(t *testing.T, text string) []scrape.Sample {
	t.Helper()
	ss, err := scrape.Parse(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	return ss
}

// Two data-parallel engines' series are summed, the window is the delta,
// and quantiles interpolate as histogram_quantile does: rank 0.5·10 = 5
// lands in (0.1, 0.5] holding observations 3..8, so 0.1 + 0.4·(5−2)/6.
func TestHistogramDeltaAndQuantile(t *testing.T) {
	before := parse(t, `# TYPE x histogram
x_bucket{engine="0",le="0.1"} 1
x_bucket{engine="0",le="0.5"} 1
x_bucket{engine="0",le="+Inf"} 1
x_sum{engine="0"} 0.05
x_count{engine="0"} 1
`)
	after := parse(t, `# TYPE x histogram
x_bucket{engine="0",le="0.1"} 2
x_bucket{engine="0",le="0.5"} 5
x_bucket{engine="0",le="+Inf"} 6
x_sum{engine="0"} 3.05
x_count{engine="0"} 6
x_bucket{engine="1",le="0.1"} 1
x_bucket{engine="1",le="0.5"} 4
x_bucket{engine="1",le="+Inf"} 5
x_sum{engine="1"} 2
x_count{engine="1"} 5
`)
	a, _ := histOf(after, "x", nil)
	b, _ := histOf(before, "x", nil)
	d, ok := a.sub(b)
	if !ok || d.count != 10 || math.Abs(d.sum-5) > 1e-12 {
		t.Fatalf("delta %+v ok=%v", d, ok)
	}
	if got, want := d.quantile(0.5), 0.1+0.4*3/6; math.Abs(got-want) > 1e-12 {
		t.Errorf("p50 %v, want %v", got, want)
	}
	if got := d.quantile(0.99); got != 0.5 {
		t.Errorf("p99 in the +Inf bucket reads %v, want the highest finite bound 0.5", got)
	}
	if d.inFirstBucket(0.5) || !d.inFirstBucket(0.2) {
		t.Error("first-bucket test wrong")
	}
	if _, ok := b.sub(a); ok {
		t.Error("a histogram that went backwards (a restart) gave a delta")
	}
}

// A window whose server counts exceed the client's names the mismatch,
// and a TTFT mostly spent queueing is a finding that cites the metric.
func TestFindingsCiteTheMetric(t *testing.T) {
	n := 40.0
	w := Window{Engine: "tgi", Scenario: "c16", ClientRequests: 20, ServerRequests: &n, CountMismatch: true,
		Phases:    []Phase{{Name: PhaseQueue, Metric: "tgi_request_queue_duration"}},
		Breakdown: &Breakdown{ClientTTFTMS: 100, Parts: []Part{{Name: "network_client", MS: 5, Share: .05}, {Name: "queue", MS: 71, Share: .71}, {Name: "prefill", MS: 24, Share: .24}}},
		Gauges:    []Gauge{{Name: GaugeWaiting, Metric: "tgi_queue_size", First: 0, Last: 9, Max: 12}, {Name: GaugeKVCache, Metric: "vllm:kv_cache_usage_perc", Max: 0.95}}}
	got := map[string]string{}
	for _, f := range Findings([]Window{w}) {
		got[f.Kind] = f.Message
	}
	for kind, want := range map[string]string{
		"server_request_count": "finished 40 requests during c16, the client 20",
		"ttft_queue":           "mostly queueing in the engine: 71% (71.0 ms), from tgi_request_queue_duration",
		"waiting_growing":      "grew from 0 to 9",
		"kv_cache_pressure":    "reached 95%",
	} {
		if !strings.Contains(got[kind], want) {
			t.Errorf("%s: %q lacks %q", kind, got[kind], want)
		}
	}
}
