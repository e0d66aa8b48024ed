package run

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/load"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/sim"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
	"github.com/llmbench/kubectl-llmbench/pkg/export"
)

// simTargets serves the vLLM and Ollama simulators on loopback.
func simTargets(t *testing.T) []engine.Target {
	t.Helper()
	s := sim.New(sim.Options{Seed: 7})
	t.Cleanup(func() { s.Close() })
	var targets []engine.Target
	for _, typ := range []engine.EngineType{engine.EngineVLLM, engine.EngineOllama} {
		url, err := s.Start(context.Background(), typ, "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		targets = append(targets, engine.Target{Name: string(typ), Type: typ, API: engine.DefaultAPI(typ), BaseURL: url, Access: "simulator"})
	}
	return targets
}

func baseConfig(t *testing.T, targets []engine.Target) Config {
	return Config{
		Name: "Unit Run!", OutputDir: t.TempDir(), Targets: targets,
		Prompts: []engine.Request{{Messages: []engine.Message{{Role: "user", Content: "Say hello."}}}},
		Weights: workload.DefaultWeights, HTTP: engine.NewHTTPClient(engine.HTTPOptions{}),
		Timeout: 10 * time.Second, Grace: time.Second, Seed: 1, UniquePrompts: true,
		Manifest: export.Manifest{Tool: "kubectl-llmbench", Command: []string{"run", "--simulate"}},
	}
}

// The files a run leaves agree with what it returned: every request is in
// the journal, the summary rebuilt from the journal counts what the one
// kept in memory counts, and the manifest is finished with the models the
// probes resolved.
func TestRunWritesAFolderThatAgreesWithItsResult(t *testing.T) {
	cfg := baseConfig(t, simTargets(t))
	cfg.Scenarios = []workload.Scenario{{Name: "ttft", Suite: workload.SuiteTTFT, Arrival: workload.ArrivalSequential, Concurrency: 1, Requests: 4, WarmupRequests: 1, MaxTokens: 8}}
	var out bytes.Buffer
	cfg.Out = &out
	startedDir := ""
	cfg.Started = func(dir string, _ *slog.Logger) { startedDir = dir }
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	// What the caller logs after the run (reports, tunnels closing) still
	// reaches run.log until it closes the result.
	res.Log.Info("after the run")
	if err := res.Close(); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(res.Dir, "run.log")); err != nil || !strings.Contains(string(b), "after the run") || !strings.Contains(string(b), "run finished") {
		t.Errorf("run.log (%v):\n%s", err, b)
	}
	if res.Status != "complete" || !strings.HasPrefix(filepath.Base(res.Dir), "test_unit-run_") || res.RunID != filepath.Base(res.Dir) {
		t.Fatalf("status %s, dir %s, id %s", res.Status, res.Dir, res.RunID)
	}
	if startedDir != res.Dir {
		t.Errorf("Started heard %q, the run is in %q", startedDir, res.Dir)
	}
	if !strings.Contains(out.String(), "Run "+res.RunID+": 2 engine(s) × 1 scenario(s)") {
		t.Errorf("announcement: %q", out.String())
	}
	for _, f := range []string{export.ManifestFile, export.JournalFile, export.SummaryFile, "run.log"} {
		if _, err := os.Stat(filepath.Join(res.Dir, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	stored, err := export.LoadRun(res.Dir)
	if err != nil {
		t.Fatal(err)
	}
	m := stored.Manifest
	if m.Status != "complete" || m.EndedAt == "" || m.RunID != res.RunID || len(m.Targets) != 2 || m.Host.CPUs == 0 || m.Tool != "kubectl-llmbench" {
		t.Fatalf("manifest: %+v", m)
	}
	for _, ts := range m.Targets {
		if ts.Target.Model == "" || ts.Error != "" {
			t.Errorf("target %s: model %q error %q", ts.Target.Name, ts.Target.Model, ts.Error)
		}
	}
	if len(res.Summary.Groups) != 2 || len(stored.Summary.Groups) != 2 {
		t.Fatalf("groups: %d in memory, %d from the journal", len(res.Summary.Groups), len(stored.Summary.Groups))
	}
	for i, g := range res.Summary.Groups {
		j := stored.Summary.Groups[i]
		if g.Requests != 4 || g.Succeeded != 4 || g.Warmup != 1 || j.Requests != g.Requests || j.Succeeded != g.Succeeded || j.Warmup != g.Warmup {
			t.Errorf("%s: in memory %d/%d (+%d warm-up), from the journal %d/%d (+%d)", g.Engine, g.Succeeded, g.Requests, g.Warmup, j.Succeeded, j.Requests, j.Warmup)
		}
	}
}

// A capacity search's levels join the manifest's scenarios and each
// verdict is announced; with an SLO nothing can miss, the search doubles
// to the level cap.
func TestRunSearchesCapacityAndRecordsItsLevels(t *testing.T) {
	targets := simTargets(t)[:1]
	cfg := baseConfig(t, targets)
	slo, err := workload.ParseSLO("e2e_p50=60s", "test")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Capacity = &load.CapacitySearch{Kind: workload.LevelConcurrency, From: 1, Template: workload.Scenario{
		Name: "load", Suite: workload.SuiteLoad, Arrival: workload.ArrivalClosed, Concurrency: 1, Requests: 3, MaxTokens: 4, SLO: slo}}
	var out bytes.Buffer
	cfg.Out = &out
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	if len(res.Scenarios) < 2 {
		t.Fatalf("levels: %+v", res.Scenarios)
	}
	stored, err := export.LoadRun(res.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored.Manifest.Scenarios) != len(res.Scenarios) {
		t.Errorf("manifest has %d scenarios, the run %d", len(stored.Manifest.Scenarios), len(res.Scenarios))
	}
	if n := strings.Count(out.String(), ": SLO met"); n != len(res.Scenarios) {
		t.Errorf("%d verdicts announced for %d levels:\n%s", n, len(res.Scenarios), out.String())
	}
	if strings.Contains(out.String(), "missed") {
		t.Errorf("a level missed a 60 s median:\n%s", out.String())
	}
}
