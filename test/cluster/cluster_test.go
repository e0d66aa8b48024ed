//go:build cluster

package cluster_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/cluster"
	"github.com/llmbench/kubectl-llmbench/pkg/export"
	"github.com/llmbench/kubectl-llmbench/pkg/placement"
	"github.com/llmbench/kubectl-llmbench/pkg/plugin"
	"github.com/llmbench/kubectl-llmbench/test/plugintest"
)

// runPlugin runs the real binary with a kubeconfig; it returns stdout,
// stderr and the exit code.
func runPlugin(t *testing.T, kubeconfig string, timeout time.Duration, args ...string) (string, string, int) {
	t.Helper()
	dir := t.TempDir()
	r := plugintest.Run(t, world.bin, plugintest.Options{Dir: dir, Env: []string{"NO_COLOR=1", "HOME=" + dir}, Limit: timeout}, append(args, "--kubeconfig", kubeconfig)...)
	return r.Stdout, r.Stderr, r.Code
}

func TestDiscoverFindsAllThreeThroughPortForward(t *testing.T) {
	ns := namespace(t, "discover")
	threeEngines(t, ns)
	out, stderr, code := runPlugin(t, world.kubeconfig, time.Minute, "discover", "-n", ns, "-o", "json")
	if code != 0 {
		t.Fatalf("discover exit %d\n%s", code, stderr)
	}
	var rows []plugin.DiscoveredEngine
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("discover -o json: %v\n%s", err, out)
	}
	want := map[string]struct {
		engine   engine.EngineType
		evidence placement.Evidence
	}{
		"vllm-llama": {engine.EngineVLLM, placement.ByLabel},
		"hf-textgen": {engine.EngineTGI, placement.ByImage},
		"ollama":     {engine.EngineOllama, placement.ByName},
	}
	if len(rows) != len(want) {
		t.Fatalf("found %d engines, want 3: %s", len(rows), out)
	}
	for _, r := range rows {
		w, ok := want[r.Service]
		if !ok {
			t.Errorf("unexpected engine %s", r.Service)
			continue
		}
		if r.Type != w.engine || r.Evidence != w.evidence {
			t.Errorf("%s: engine %s by %s, want %s by %s", r.Service, r.Type, r.Evidence, w.engine, w.evidence)
		}
		// No Route, Ingress or NodePort: auto falls through to the tunnel.
		if r.Health != "ok" || r.Access != placement.MethodPortForward {
			t.Errorf("%s: health %q via %q, want ok via port-forward", r.Service, r.Health, r.Access)
		}
		if len(r.Models) == 0 || r.EngineVersion == "" {
			t.Errorf("%s: the probe read no model (%v) or version (%q)", r.Service, r.Models, r.EngineVersion)
		}
		if r.ReadyPods != 1 || r.TotalPods != 1 {
			t.Errorf("%s: pods %d/%d, want 1/1", r.Service, r.ReadyPods, r.TotalPods)
		}
		if world.kubelet.Served(r.Service+"-0") == 0 {
			t.Errorf("%s: the fake kubelet forwarded nothing to its Pod", r.Service)
		}
	}
	table, stderr, code := runPlugin(t, world.kubeconfig, time.Minute, "discover", "-n", ns)
	if code != 0 {
		t.Fatalf("discover exit %d\n%s", code, stderr)
	}
	t.Logf("discover:\n%s", table)
	for _, s := range []string{"vllm-llama", "hf-textgen", "ollama", "port-forward", "ok", "1/1"} {
		if !strings.Contains(table, s) {
			t.Errorf("discover table lacks %q:\n%s", s, table)
		}
	}
}

func TestRunDiscoversAndBenchmarksThroughPortForward(t *testing.T) {
	ns := namespace(t, "run")
	threeEngines(t, ns)
	results := filepath.Join(t.TempDir(), "results")
	out, stderr, code := runPlugin(t, world.kubeconfig, 3*time.Minute, "run", "-n", ns, "--preset", "quick", "--duration", "2s", "--iterations", "3", "--format", "json,md", "--output-dir", results)
	if code != 0 {
		t.Fatalf("run exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
	if strings.Contains(out+stderr, "sk-do-not-leak") {
		t.Error("the engine's --api-key argument reached the output")
	}
	i := strings.Index(out, "Results: ")
	if i < 0 {
		t.Fatalf("no results folder in output:\n%s", out)
	}
	dir := strings.Fields(out[i+len("Results: "):])[0]
	run, err := export.LoadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	checkRun(t, run, ns)
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"**Cluster**", "run/vllm-llama", "Measured from outside the cluster", "same way", "NVIDIA-H100-80GB-HBM3"} {
		if !bytes.Contains(md, []byte(want)) {
			t.Errorf("report.md lacks %q", want)
		}
	}
}

func checkRun(t *testing.T, run *export.Run, ns string) {
	t.Helper()
	c := run.Manifest.Cluster
	if c == nil {
		t.Fatal("manifest has no cluster section")
	}
	if c.Namespace != ns || !strings.HasPrefix(c.ServerVersion, "v1.") || c.Server == "" {
		t.Errorf("cluster: namespace %q server %q version %q", c.Namespace, c.Server, c.ServerVersion)
	}
	if len(c.Engines) != 3 {
		t.Fatalf("cluster engines: %d, want 3", len(c.Engines))
	}
	for _, e := range c.Engines {
		if e.Access != placement.MethodPortForward || e.Image == "" || len(e.Nodes) != 1 || e.GPUCount != 1 || e.GPUProduct != "NVIDIA-H100-80GB-HBM3" {
			t.Errorf("engine metadata incomplete: %+v", e)
		}
		for _, a := range e.Args {
			if strings.Contains(a, "sk-do-not-leak") {
				t.Errorf("%s: secret argument recorded: %v", e.Target, e.Args)
			}
		}
	}
	ok := map[string]int{}
	for _, g := range run.Summary.Groups {
		ok[g.Engine] += g.Succeeded
	}
	for _, e := range []string{"vllm", "tgi", "ollama"} {
		if ok[e] == 0 {
			t.Errorf("no successful request for %s through the port-forward: %v", e, ok)
		}
	}
	for _, tg := range run.Manifest.Targets {
		if tg.Target.Access != "port-forward" || !strings.HasPrefix(tg.Target.BaseURL, "http://127.0.0.1:") {
			t.Errorf("target %s: access %q url %q", tg.Target.Name, tg.Target.Access, tg.Target.BaseURL)
		}
	}
}

// assertNotInTree fails if any file under dir contains s.
func assertNotInTree(t *testing.T, dir, s string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(s)) {
			t.Errorf("%s contains the secret", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Missing RBAC is named: the verb, the resource and how to check it.
func TestMissingRBACIsNamed(t *testing.T) {
	ns := namespace(t, "rbac")
	nobody, err := world.env.AddUser(envtest.User{Name: "nobody"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kc, err := writeKubeconfig(nobody, "nobody")
	if err != nil {
		t.Fatal(err)
	}
	for _, cmd := range [][]string{{"discover", "-n", ns}, {"run", "-n", ns, "--dry-run"}} {
		_, stderr, code := runPlugin(t, kc, time.Minute, cmd...)
		if code == 0 || !strings.Contains(stderr, "cannot list services") || !strings.Contains(stderr, "kubectl auth can-i list services -n rbac") {
			t.Errorf("%v: exit %d, want a message naming list services:\n%s", cmd, code, stderr)
		}
	}
}

// Two vLLMs equally trusted are shown, not guessed; --service picks.
func TestAmbiguityNeedsService(t *testing.T) {
	ns := namespace(t, "twins")
	node(t, "gpu-a", "NVIDIA-H100-80GB-HBM3")
	for _, n := range []string{"vllm-a", "vllm-b"} {
		deployEngine(t, ns, engineSpec{name: n, engine: engine.EngineVLLM, svcLabels: map[string]string{"llmbench.io/engine": "vllm"}, node: "gpu-a"})
	}
	_, stderr, code := runPlugin(t, world.kubeconfig, time.Minute, "run", "-n", ns, "--dry-run")
	if code == 0 || !strings.Contains(stderr, "twins/vllm-a") || !strings.Contains(stderr, "twins/vllm-b") || !strings.Contains(stderr, "--service") {
		t.Fatalf("exit %d, want both named and --service suggested:\n%s", code, stderr)
	}
	out, stderr, code := runPlugin(t, world.kubeconfig, time.Minute, "run", "-n", ns, "--dry-run", "--service", "vllm-b")
	if code != 0 || !strings.Contains(out, "via port-forward (pod vllm-b-0 port") || !strings.Contains(out, "not opened in a dry run") || !strings.Contains(stderr, "twins/vllm-b") {
		t.Fatalf("--service vllm-b: exit %d\n%s\n%s", code, out, stderr)
	}
	// A dry run sends nothing: no probe, no tunnel.
	if n := world.kubelet.Served("vllm-b-0"); n != 0 {
		t.Errorf("a dry run opened %d port-forward(s) to vllm-b-0", n)
	}
}

// validate passes the layout the Helm charts produce, and fails each
// broken one with the check that names the problem.
func TestValidateLayouts(t *testing.T) {
	healthy := namespace(t, "healthy")
	threeEngines(t, healthy)
	out, stderr, code := runPlugin(t, world.kubeconfig, time.Minute, "validate", "-n", healthy, "-o", "json")
	if code != 0 {
		t.Fatalf("healthy layout: exit %d\n%s\n%s", code, out, stderr)
	}
	var rep cluster.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Failed() != 0 || rep.Passed() == 0 {
		t.Fatalf("healthy layout: %d passed, %d failed: %+v", rep.Passed(), rep.Failed(), rep.Checks)
	}

	broken := namespace(t, "broken")
	node(t, "gpu-a", "NVIDIA-H100-80GB-HBM3")
	node(t, "gpu-b", "NVIDIA-H100-80GB-HBM3")
	// vLLM and TGI share a node; Ollama has no GPU limit and crash-loops.
	deployEngine(t, broken, engineSpec{name: "vllm", engine: engine.EngineVLLM, svcLabels: map[string]string{"llmbench.io/engine": "vllm"}, node: "gpu-a", gpus: 1})
	deployEngine(t, broken, engineSpec{name: "tgi", engine: engine.EngineTGI, svcLabels: map[string]string{"llmbench.io/engine": "tgi"}, node: "gpu-a", gpus: 1})
	deployEngine(t, broken, engineSpec{name: "ollama", engine: engine.EngineOllama, svcLabels: map[string]string{"llmbench.io/engine": "ollama"}, node: "gpu-b", crashLoop: true})
	out, stderr, code = runPlugin(t, world.kubeconfig, time.Minute, "validate", "-n", broken, "-o", "json")
	if code != 1 {
		t.Fatalf("broken layout: exit %d, want 1\n%s\n%s", code, out, stderr)
	}
	rep = cluster.Report{}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	failed := map[string]string{}
	for _, c := range rep.Checks {
		if c.Status == cluster.Fail {
			failed[c.Name+" "+c.Engine] = c.Detail
		}
	}
	for key, words := range map[string][]string{
		cluster.CheckSeparateNodes + " ":             {"gpu-a", "tgi", "vllm"},
		cluster.CheckGPUResources + " broken/ollama": {"nvidia.com/gpu"},
		cluster.CheckPodsReady + " broken/ollama":    {"ollama-0"},
		cluster.CheckRestarts + " broken/ollama":     {"CrashLoopBackOff"},
	} {
		d, ok := failed[key]
		if !ok {
			t.Errorf("no failed %q check; failed: %v", key, failed)
			continue
		}
		for _, w := range words {
			if !strings.Contains(d, w) {
				t.Errorf("%s: detail %q lacks %q", key, d, w)
			}
		}
	}
	table, _, code := runPlugin(t, world.kubeconfig, time.Minute, "validate", "-n", broken)
	t.Logf("validate on a broken layout:\n%s", table)
	if code != 1 || !strings.Contains(table, "fail") || !strings.Contains(table, "failed") {
		t.Errorf("table output: exit %d\n%s", code, table)
	}
}

// The live commands find the engines the same way run does: race and
// inspect through port-forwards opened by discovery.
func TestLiveCommandsDiscoverEngines(t *testing.T) {
	ns := namespace(t, "live")
	threeEngines(t, ns)
	out, stderr, code := runPlugin(t, world.kubeconfig, 2*time.Minute, "race", "-n", ns, "--max-tokens", "8", "How do I fix a crashing pod?")
	if code != 0 {
		t.Fatalf("race exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
	for _, want := range []string{"Discovering engines in namespace", "measured through a port-forward"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("race stderr lacks %q:\n%s", want, stderr)
		}
	}
	for _, want := range []string{"--- vllm ---", "--- tgi ---", "--- ollama ---", "Finish · first word:", "longer for the first word"} {
		if !strings.Contains(strings.ToLower(out), strings.ToLower(want)) {
			t.Errorf("race output lacks %q:\n%s", want, out)
		}
	}
	out, stderr, code = runPlugin(t, world.kubeconfig, 2*time.Minute, "inspect", "-n", ns, "--engines", "ollama", "--max-tokens", "4")
	if code != 0 || !strings.Contains(out, "/api/chat") || !strings.Contains(out, "Dialects") {
		t.Errorf("inspect exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
	if strings.Contains(out+stderr, "sk-do-not-leak") {
		t.Error("the engine's --api-key argument reached the output")
	}
}
