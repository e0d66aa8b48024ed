//go:build e2e && unix

package ollama_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/llmbench/kubectl-llmbench/test/ollama"
)

// TestTinyModelsOnRealOllama pins what the EOS bias was tuned for
// (test/ollama/README.md): "tiny" always runs to num_predict; "tiny-stop"
// ends with done_reason "stop" well before 512 tokens, greedy (the
// binary's temperature 0) and sampled (Ollama's 0.8, OpenAI's 1.0), for
// prompts as long as the binary's default /api/generate prompt.
func TestTinyModelsOnRealOllama(t *testing.T) {
	s := ollama.Start(t, 1)
	prompts := []string{"hi", userPrompt, request(1).Prompt()}
	generate := func(model, prompt string, temp float64, seed int) (eval int, reason string) {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"model": model, "prompt": prompt, "stream": false,
			"options": map[string]any{"num_predict": stopMaxTokens, "temperature": temp, "seed": seed}})
		resp, err := (&http.Client{Timeout: time.Minute}).Post(s.URL+"/api/generate", "application/json", strings.NewReader(string(body)))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var o struct {
			Done       bool   `json:"done"`
			DoneReason string `json:"done_reason"`
			EvalCount  int    `json:"eval_count"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&o); err != nil || !o.Done {
			t.Fatalf("%s %q T=%g: %v, done %v", model, prompt, temp, err, o.Done)
		}
		return o.EvalCount, o.DoneReason
	}
	for _, temp := range []float64{0, 0.8, 1} {
		for _, p := range prompts {
			var stops []int
			for seed := 1; seed <= 4; seed++ {
				n, reason := generate("tiny-stop", p, temp, seed)
				if reason != "stop" || n >= 400 {
					t.Errorf("tiny-stop, %d-byte prompt, T=%g seed %d: %s after %d tokens, want stop before 400", len(p), temp, seed, reason, n)
				}
				stops = append(stops, n)
				if temp == 0 {
					break // greedy: the seed changes nothing
				}
			}
			t.Logf("tiny-stop, %3d-byte prompt, T=%.1f: eval_count %v", len(p), temp, stops)
			if n, reason := generate("tiny", p, temp, 1); reason != "length" || n != stopMaxTokens {
				t.Errorf("tiny, %d-byte prompt, T=%g: %s after %d tokens, want length after %d", len(p), temp, reason, n, stopMaxTokens)
			}
		}
	}
}
