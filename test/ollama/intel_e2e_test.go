//go:build e2e && unix

package ollama_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// intelSummary holds the summary.json fields of Ollama-specific analysis.
type intelSummary struct {
	Groups []struct {
		Scenario string `json:"scenario"`
		Metrics  map[string]struct {
			Count int     `json:"count"`
			P50   float64 `json:"p50"`
		} `json:"metrics"`
		ColdStart *struct {
			Count  int `json:"count"`
			LoadMS struct {
				Max float64 `json:"max"`
			} `json:"server_load_ms"`
		} `json:"cold_start"`
		Reconciliation *struct {
			Requests     int `json:"requests"`
			ServerTTFTMS struct {
				P50 float64 `json:"p50"`
			} `json:"server_ttft_ms"`
			ServerDecode struct {
				P50 float64 `json:"p50"`
			} `json:"server_decode_tokens_per_s"`
			ClientDecode struct {
				P50 float64 `json:"p50"`
			} `json:"client_decode_tokens_per_s"`
		} `json:"reconciliation"`
	} `json:"groups"`
	Findings []struct {
		Scenario string `json:"scenario"`
		Kind     string `json:"kind"`
		Message  string `json:"message"`
	} `json:"findings"`
}

// TestColdStartQueueingAndReconciliation runs, on a fresh server, three
// sequential requests with no warm-up (the first pays the model load) and
// then 4 users at once. With OLLAMA_NUM_PARALLEL=1 the users queue inside
// the server and the summary must say so; with 4 they run together and it
// must not. Both servers report timings the summary reconciles.
func TestColdStartQueueingAndReconciliation(t *testing.T) {
	for _, parallel := range []int{1, 4} {
		for _, kind := range backendKinds {
			t.Run(fmt.Sprintf("parallel%d/%s", parallel, kind), func(t *testing.T) {
				b := startBackend(t, kind, parallel)
				cfg := filepath.Join(t.TempDir(), "intel.yaml")
				err := os.WriteFile(cfg, []byte(fmt.Sprintf("benchmark:\n  name: intel\nworkload:\n  system_prompt: %q\n  prompts:\n    - %q\n  max_tokens: 128\n  temperature: 0\n  seed: 42\n"+
					"test_scenarios:\n  ttft:\n    enabled: true\n    iterations: 3\n    warmup: 0\n  load_tests:\n    - name: users_4\n      arrival: closed\n      concurrent_users: 4\n      requests: 12\n",
					systemPrompt, userPrompt)), 0o644)
				if err != nil {
					t.Fatal(err)
				}
				out := t.TempDir()
				r := runBinary(t, 3*time.Minute, "run", "-f", cfg, "--target", "ollama="+b.url, "--model", "ollama=tiny", "--output-dir", out)
				if r.code != 0 {
					t.Fatalf("exit %d\n%s", r.code, r.stderr)
				}
				dir := runFolder(t, out)
				var s intelSummary
				readJSON(t, filepath.Join(dir, "summary.json"), &s)
				if len(s.Groups) != 2 {
					t.Fatalf("%d groups in summary.json, want ttft and users_4", len(s.Groups))
				}
				for _, g := range s.Groups {
					switch g.Scenario {
					case "ttft":
						if g.ColdStart == nil || g.ColdStart.Count != 1 || g.ColdStart.LoadMS.Max < 100 {
							t.Errorf("ttft: cold start %+v, want the first request's model load, ≥ 100 ms", g.ColdStart)
						}
						if n := g.Metrics["ttft_ms"].Count; n != 2 {
							t.Errorf("ttft: %d requests in the TTFT statistics, want 2 (the cold start excluded)", n)
						}
					case "users_4":
						if g.ColdStart != nil {
							t.Errorf("users_4: %d requests taken for cold starts (load up to %.0f ms); waiting for a slot is not a model load",
								g.ColdStart.Count, g.ColdStart.LoadMS.Max)
						}
					}
					rc := g.Reconciliation
					if rc == nil || rc.Requests == 0 || rc.ServerTTFTMS.P50 <= 0 || rc.ServerDecode.P50 <= 0 || rc.ClientDecode.P50 <= 0 {
						t.Errorf("%s: reconciliation %+v, want server and client figures", g.Scenario, rc)
					}
				}
				var queued []string
				for _, f := range s.Findings {
					if f.Kind == "server_queueing" {
						queued = append(queued, f.Scenario+": "+f.Message)
					}
				}
				if parallel == 1 && (len(queued) != 1 || !strings.HasPrefix(queued[0], "users_4:")) {
					t.Errorf("OLLAMA_NUM_PARALLEL=1 with 4 users: queueing findings %q, want one for users_4", queued)
				}
				if parallel == 4 && len(queued) != 0 {
					t.Errorf("OLLAMA_NUM_PARALLEL=4 with 4 users: queueing findings %q, want none", queued)
				}
				report, err := os.ReadFile(filepath.Join(dir, "report.md"))
				if err != nil {
					t.Fatal(err)
				}
				if parallel == 1 && !strings.Contains(string(report), "requests queued on the ollama server") {
					t.Error("report.md does not say that requests queued on the server")
				}
			})
		}
	}
}
