package export

import (
	"math"
	"testing"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
)

// Tokens are spread over each answer's streaming time, and the rate read
// back from the bins is the tokens over the time they took.
func TestThroughputOverTimeSpreadsEachAnswer(t *testing.T) {
	d := &chartData{tokens: map[seriesKey]map[int64]float64{}}
	k := seriesKey{"vllm", "load"}
	const start = int64(1_700_000_000_000_000_000)
	ttft := 200.0
	// 40 tokens from 0.2 s to 2.2 s: 20 tokens/s; a second answer doubles
	// the rate from 1.2 s on.
	d.addTokens(k, &engine.Record{StartUnixNS: start, TTFTMS: &ttft, EndUnixNS: start + 2200e6, OutputTokens: 40})
	d.addTokens(k, &engine.Record{StartUnixNS: start + 1000e6, TTFTMS: &ttft, EndUnixNS: start + 2200e6, OutputTokens: 20})
	sum := 0.0
	for _, v := range d.tokens[k] {
		sum += v
	}
	if math.Abs(sum-60) > 1e-9 {
		t.Fatalf("bins hold %g tokens, want 60", sum)
	}
	xys := rebin(d.tokens[k], start)
	for _, p := range xys {
		want := 20.0
		if p.X > 1.2 {
			want = 40
		}
		if math.Abs(p.Y-want) > 1e-6 {
			t.Errorf("at %.2f s: %.3f tokens/s, want %g", p.X, p.Y, want)
		}
	}
	if len(xys) != 4 {
		t.Errorf("%d points for 2 s in half-second steps, want 4", len(xys))
	}
}
