package export

import (
	"strings"
	"testing"
)

// A distributed run's reports say where the load came from, flag the
// lost and the saturated workers among the warnings, and show node and
// error text (the cluster's, untrusted) as text.
func TestReportsSayWhereTheLoadCameFrom(t *testing.T) {
	run := reportFixture()
	run.Manifest.LoadFrom = &LoadFrom{Where: "inside the cluster", Namespace: "llm", Job: "llmbench-x", Image: "ghcr.io/llmbench/kubectl-llmbench:v1.2.3",
		Workers: []LoadWorker{
			{Index: 0, Pod: "p0", Node: "load-a", State: "done", Records: 120, LateMS: 0.4, CPUSeconds: 3, WallSeconds: 10, Cores: 4, CPUShare: 0.075, LagP50MS: 0.05, LagP99MS: 0.4},
			{Index: 1, Pod: "p1", Node: "gpu-<b>", State: "done", Records: 118, CPUSeconds: 9.5, WallSeconds: 10, Cores: 1, CPUShare: 0.95, Saturated: true, SharesNodeWith: []string{"vllm"}},
			{Index: 2, Pod: "p2", Node: "load-c", State: "lost", Error: "its Pod p2 went away mid-run ([evicted](http://x))", Records: 40},
		}}
	md, err := renderMarkdown(run, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := string(md)
	for _, want := range []string{"**Where the load came from**", "Measured from inside the cluster: 3 load worker(s) of Job llm/llmbench-x",
		"load worker(s)", "shared its node with vllm", "95% of 1 cores (saturated)",
		"Load worker 1 (node gpu-\\<b\\>) used 95% of its 1 cores", "Load worker 2 (node load-c) lost", "load workers inside the cluster (below)"} {
		if !strings.Contains(s, want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	if strings.Contains(s, "[evicted](http") || !strings.Contains(s, `\[evicted\](http\://x)`) || strings.Contains(s, "gpu-<b>") {
		t.Error("a node name or a worker's error is rendered as Markdown")
	}
	// A run from this machine says nothing of the kind.
	local, err := renderMarkdown(reportFixture(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(local), "Where the load came from") {
		t.Error("a local run's report speaks of load workers")
	}
}
