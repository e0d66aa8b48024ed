//go:build fidelity

package fidelity

import (
	"encoding/json"
	"fmt"
	"math"
	"testing"
)

// TestPrefillRateMatchesTheSimulators: each simulator charges a fixed
// prefill cost per prompt token (vLLM 60 µs, TGI 80 µs, Ollama 200 µs), so
// a prompt-length sweep through the binary, with prompts shaped in each
// engine's tokenizer, must read back 16,667, 12,500 and 5,000 tokens/s. The
// whole chain is checked: calibration, exact lengths, TTFT stamps, the fit.
// A fidelity check, not a unit test: a busy machine's sleeps overshoot.
func TestPrefillRateMatchesTheSimulators(t *testing.T) {
	b, _ := runSummary(t, "run", "--simulate", "--suite", "load", "--sweep", "input_tokens=128,1024,4096", "--concurrency", "1",
		"--requests", "8", "--warmup", "0s", "--output-tokens", "4")
	var s struct {
		Lengths []struct {
			Engine string `json:"engine"`
			Fit    *struct {
				TokensPerS *float64 `json:"tokens_per_s"`
				R2         float64  `json:"r2"`
			} `json:"fit"`
		} `json:"length_sweep"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"vllm": 1e6 / 60, "tgi": 1e6 / 80, "ollama": 1e6 / 200}
	if len(s.Lengths) != len(want) {
		t.Fatalf("length sweep of %d engines: %s", len(s.Lengths), b)
	}
	for _, ls := range s.Lengths {
		if ls.Fit == nil || ls.Fit.TokensPerS == nil {
			t.Errorf("%s: no prefill rate", ls.Engine)
			continue
		}
		got, w := *ls.Fit.TokensPerS, want[ls.Engine]
		errPct := 100 * (got - w) / w
		fmt.Printf("prefill rate on the simulated %s: %.0f tokens/s (model %.0f, %+.1f%%, R² %.4f)\n", ls.Engine, got, w, errPct, ls.Fit.R2)
		if math.Abs(errPct) > 5 || ls.Fit.R2 < 0.99 {
			t.Errorf("%s: prefill %.0f tokens/s, want %.0f ± 5%% on a straight line", ls.Engine, got, w)
		}
	}
}
