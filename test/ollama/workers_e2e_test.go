//go:build e2e && unix

package ollama_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/load"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
	"github.com/llmbench/kubectl-llmbench/pkg/export"
	"github.com/llmbench/kubectl-llmbench/pkg/run"
	"github.com/llmbench/kubectl-llmbench/test/ollama"
)

// TestLoadWorkersAgainstRealOllama runs what run --in-cluster runs in its
// Pods, two `kubectl-llmbench worker` processes of the real binary, against
// a real Ollama, collected by the plugin's Collector into one run folder:
// every request the closed loop asked for comes home once, answered, with
// Ollama's own token counts.
func TestLoadWorkersAgainstRealOllama(t *testing.T) {
	srv := ollama.Start(t, 2)
	const requests = 6
	target := engine.Target{Name: "ollama", Type: engine.EngineOllama, API: engine.APIOllamaChat, BaseURL: srv.URL, Model: "tiny"}
	scenario := workload.Scenario{Name: "closed", Suite: workload.SuiteLoad, Arrival: workload.ArrivalClosed, Concurrency: 2, Requests: requests, MaxTokens: 16}
	plan := run.Plan{Workers: 2, Targets: []engine.Target{target}, Scenarios: []workload.Scenario{scenario},
		Prompts: []engine.Request{{Messages: []engine.Message{{Role: "user", Content: "Say hello."}}}},
		Timeout: 2 * time.Minute, Grace: 5 * time.Second, Seed: 3, UniquePrompts: true, StartTolerance: 5 * time.Second, Linger: 2 * time.Minute}

	cfg := run.Config{Name: "workers", OutputDir: t.TempDir(), Targets: plan.Targets, Scenarios: plan.Scenarios, Prompts: plan.Prompts,
		Weights: workload.DefaultWeights, HTTP: engine.NewHTTPClient(engine.HTTPOptions{}), Timeout: plan.Timeout, Grace: plan.Grace, Seed: plan.Seed,
		Manifest: export.Manifest{Tool: "kubectl-llmbench"}}
	var dataDirs []string
	cfg.Remote = func(ctx context.Context, runID string, sink load.Sink, man *export.Manifest) load.RunResult {
		plan.RunID = runID
		b, err := run.EncodePlan(plan)
		if err != nil {
			t.Fatal(err)
		}
		var remotes []run.Remote
		for i := range plan.Workers {
			dir := t.TempDir()
			planFile := filepath.Join(dir, "plan.json")
			if err := os.WriteFile(planFile, b, 0o644); err != nil {
				t.Fatal(err)
			}
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := l.Addr().String()
			l.Close()
			token := fmt.Sprintf("token-%d", i)
			cmd := exec.Command(binary, "worker", "--plan", planFile, "--output-dir", filepath.Join(dir, "data"), "--listen", addr)
			cmd.Env = append(os.Environ(), fmt.Sprintf("JOB_COMPLETION_INDEX=%d", i), "NODE_NAME=node-"+fmt.Sprint(i), "POD_NAME=w-"+fmt.Sprint(i), "LLMBENCH_CONTROL_TOKEN="+token)
			cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
			dataDirs = append(dataDirs, filepath.Join(dir, "data"))
			remotes = append(remotes, run.Remote{Index: i, Pod: "w-" + fmt.Sprint(i), Node: "node-" + fmt.Sprint(i), BaseURL: "http://" + addr,
				HTTP: &http.Client{Timeout: 30 * time.Second}, Token: token})
		}
		c := &run.Collector{Workers: remotes, Sink: sink, Poll: 100 * time.Millisecond, Grace: plan.Grace}
		rctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if err := c.Ready(rctx); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Begin(ctx); err != nil {
			t.Fatal(err)
		}
		workers := c.Follow(ctx, make(chan struct{}))
		c.Release(ctx)
		man.LoadFrom = &export.LoadFrom{Where: "inside the cluster", Workers: workers}
		return run.MergeResults(plan.Targets, c.Results(), false)
	}
	res, err := run.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	if res.Status != "complete" {
		t.Fatalf("status %s: %+v", res.Status, res.Targets)
	}
	f, err := os.Open(filepath.Join(res.Dir, export.JournalFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seqs := map[int64]bool{}
	perWorker := map[int]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var r engine.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		if !r.OK || r.OutputTokensSource != engine.TokensFromEvalCount || r.OutputTokens != 16 || r.TTFTMS == nil || r.LoadWorker == nil {
			t.Fatalf("request %d: ok %v, %d tokens from %q, ttft %v, worker %v (%s)", r.RequestID, r.OK, r.OutputTokens, r.OutputTokensSource, r.TTFTMS, r.LoadWorker, r.Error)
		}
		if seqs[r.Sequence] {
			t.Fatalf("sequence %d twice", r.Sequence)
		}
		seqs[r.Sequence] = true
		perWorker[*r.LoadWorker]++
	}
	if len(seqs) != requests || perWorker[0] != requests/2 || perWorker[1] != requests/2 {
		t.Fatalf("%d requests came home (%v by worker), want %d split evenly", len(seqs), perWorker, requests)
	}
	for i, d := range dataDirs {
		if n := countLines(t, filepath.Join(d, export.JournalFile)); n != perWorker[i] {
			t.Fatalf("worker %d journaled %d requests, %d came home", i, n, perWorker[i])
		}
	}
}

func countLines(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		n++
	}
	return n
}
