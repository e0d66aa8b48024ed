//go:build e2e && unix

package ollama_test

import (
	"path/filepath"
	"testing"

	"github.com/llmbench/kubectl-llmbench/test/plugintest"
)

// TestExactPromptLengths: with --input-tokens, Ollama (no tokenize
// endpoint) is calibrated with one-token probes, and every prompt it
// evaluates is exactly the drawn length in the tiny model's own tokenizer
// (SentencePiece, one token a byte), on every endpoint, real and simulated.
func TestExactPromptLengths(t *testing.T) {
	for _, kind := range backendKinds {
		t.Run(kind, func(t *testing.T) {
			b := startBackend(t, kind, 4)
			for _, ep := range endpoints {
				t.Run(ep.name, func(t *testing.T) {
					r, recs := runOK(t, b, ep, "tiny", "--suite", "load", "--concurrency", "4", "--requests", "8",
						"--input-tokens", "uniform:40-1200", "--max-tokens", "4")
					if len(recs) != 8 {
						t.Errorf("%d records, want 8", len(recs))
					}
					type shaped struct {
						Requested int  `json:"requested_prompt_tokens"`
						Mismatch  bool `json:"prompt_mismatch"`
					}
					for i, s := range plugintest.ReadJournal[shaped](t, r.dir) {
						rec := recs[i]
						if !rec.OK || s.Requested < 40 || s.Requested > 1200 || rec.PromptTokens != s.Requested || s.Mismatch {
							t.Errorf("#%d: ok %v, requested %d prompt tokens, %s counted %d (mismatch %v) %s",
								rec.Sequence, rec.OK, s.Requested, kind, rec.PromptTokens, s.Mismatch, rec.Error)
						}
					}
					var man struct {
						Targets []struct {
							Calibration *struct {
								Method string `json:"method"`
								Exact  bool   `json:"exact"`
								Base   int    `json:"base_tokens"`
								Checks []struct {
									Requested, Counted int
								} `json:"checks"`
							} `json:"prompt_calibration"`
						} `json:"targets"`
					}
					plugintest.ReadJSON(t, filepath.Join(r.dir, "manifest.json"), &man)
					if len(man.Targets) != 1 || man.Targets[0].Calibration == nil {
						t.Fatalf("manifest targets: %+v", man.Targets)
					}
					c := man.Targets[0].Calibration
					t.Logf("%s %s: calibration %+v", kind, ep.name, *c)
					if c.Method != "probe" || !c.Exact || len(c.Checks) != 2 || c.Base < 10 {
						t.Errorf("calibration %+v, want exact probes", *c)
					}
				})
			}
		})
	}
}

// TestSharedPrefixOnOllama: prompts that share a prefix of 300 tokens
// reach Ollama with that prefix; whether Ollama reuses its slot's KV cache
// shows as prompt_eval_count short by at most the prefix (recorded as
// cached_tokens) or as the full count. Either way nothing is flagged as
// a mismatch, and the run says which it was.
func TestSharedPrefixOnOllama(t *testing.T) {
	for _, kind := range backendKinds {
		t.Run(kind, func(t *testing.T) {
			b := startBackend(t, kind, 1)
			r, recs := runOK(t, b, endpoints[0], "tiny", "--suite", "load", "--concurrency", "1", "--requests", "6",
				"--shared-prefix-tokens", "300", "--max-tokens", "2")
			type shaped struct {
				Requested int    `json:"requested_prompt_tokens"`
				Prefix    int    `json:"shared_prefix_tokens"`
				Mismatch  bool   `json:"prompt_mismatch"`
				Cached    *int   `json:"cached_tokens"`
				Source    string `json:"cached_tokens_source"`
			}
			hits := 0
			for i, s := range plugintest.ReadJournal[shaped](t, r.dir) {
				rec := recs[i]
				if !rec.OK || s.Prefix != 300 || s.Requested != 300+64 || s.Mismatch {
					t.Errorf("#%d: %+v %+v", rec.Sequence, rec, s)
				}
				switch {
				case s.Cached == nil && rec.PromptTokens == s.Requested:
				case s.Cached != nil && s.Source == "prompt_eval_shortfall" && rec.PromptTokens+*s.Cached == s.Requested:
					hits++
				default:
					t.Errorf("#%d: %d prompt tokens of %d, cached %v (%s)", rec.Sequence, rec.PromptTokens, s.Requested, s.Cached, s.Source)
				}
			}
			for i, s := range plugintest.ReadJournal[shaped](t, r.dir) {
				t.Logf("#%d: requested %d, prompt_tokens %d, cached %v", recs[i].Sequence, s.Requested, recs[i].PromptTokens, s.Cached)
			}
			t.Logf("%s: %d of %d requests reported a prefix served from the KV cache", kind, hits, len(recs))
		})
	}
}
