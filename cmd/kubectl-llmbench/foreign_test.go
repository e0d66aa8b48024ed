package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/sim"
)

// Through the binary: while a simulated vLLM is benchmarked, another
// tenant sends it six requests in the middle of the load scenario. The
// reconciled window there is flagged (the engine finished more than the
// client sent) and gives no breakdown; the sequential scenario's window
// agrees with the client. `report --json`, from the journals alone,
// says the same.
func TestForeignTrafficIsFlaggedThroughTheBinary(t *testing.T) {
	s := sim.New(sim.Options{Seed: 8, TimeScale: 0.3})
	t.Cleanup(func() { s.Close() })
	direct, err := s.Start(context.Background(), engine.EngineVLLM, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	vllm := s.Handler(engine.EngineVLLM)
	var sent atomic.Int64
	var foreign sync.WaitGroup
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "completions") && sent.Add(1) == 9 {
			// Past the sequential scenario's 6 (a warm-up and 5), inside
			// the closed loop of 20 with no warm-up: after its start
			// mark, and long before its end.
			for i := 0; i < 6; i++ {
				foreign.Go(func() {
					body := `{"model":"meta-llama/Llama-3.1-8B-Instruct","messages":[{"role":"user","content":"another tenant"}],"max_tokens":3}`
					resp, err := http.Post(direct+"/v1/chat/completions", "application/json", strings.NewReader(body))
					if err != nil {
						t.Errorf("foreign request: %v", err)
						return
					}
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						t.Errorf("foreign request: HTTP %d", resp.StatusCode)
					}
				})
			}
		}
		vllm.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	out := t.TempDir()
	r := run(t, "run", "--target", "vllm="+front.URL, "--preset", "quick", "--iterations", "5", "--requests", "20", "--concurrency", "1", "--warmup", "0s", "--scrape-interval", "100ms", "--no-report", "--output-dir", out)
	foreign.Wait()
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	dir := runFolder(t, out)
	type window struct {
		Scenario       string    `json:"scenario"`
		ClientRequests int       `json:"client_requests"`
		ServerRequests *float64  `json:"server_requests"`
		CountMismatch  bool      `json:"count_mismatch"`
		Breakdown      *struct{} `json:"ttft_breakdown"`
		Unavailable    string    `json:"unavailable"`
	}
	check := func(from string) {
		var sum struct {
			EngineMetrics []window `json:"engine_metrics"`
		}
		readJSON(t, filepath.Join(dir, "summary.json"), &sum)
		var seq, load window
		for _, w := range sum.EngineMetrics {
			if w.Scenario == "ttft" {
				seq = w
			} else {
				load = w
			}
		}
		if seq.ServerRequests == nil || seq.CountMismatch || int(*seq.ServerRequests) != seq.ClientRequests || seq.Breakdown == nil {
			t.Errorf("%s: sequential window %+v, want server and client agreeing, with a breakdown", from, seq)
		}
		if load.ServerRequests == nil || !load.CountMismatch || load.Breakdown != nil || int(*load.ServerRequests) < load.ClientRequests+6 {
			t.Errorf("%s: load window %+v (server %v), want it flagged with the 6 foreign requests and no breakdown", from, load, deref(load.ServerRequests))
		}
	}
	check("run")
	if err := os.Remove(filepath.Join(dir, "summary.json")); err != nil {
		t.Fatal(err)
	}
	if r := run(t, "report", "--json", "--output-dir", out); r.code != 0 {
		t.Fatalf("report --json: exit %d\n%s", r.code, r.stderr)
	}
	check("report")
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}
