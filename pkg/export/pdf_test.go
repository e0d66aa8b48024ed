package export

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/metric"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/reconcile"
)

// popplerTool finds a poppler-utils program. CI installs them and must run
// these checks; elsewhere the test skips with a hint.
func popplerTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not found: CI must install poppler-utils", name)
		}
		t.Skipf("%s not found: apt-get install poppler-utils to run the PDF checks", name)
	}
	return p
}

func TestPDFIsSearchableAndAnswersWhichEngine(t *testing.T) {
	run := reportFixture()
	dir := t.TempDir()
	if err := writePDF(dir, run); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, pdfFile)
	info, err := exec.Command(popplerTool(t, "pdfinfo"), path).CombinedOutput()
	if err != nil {
		t.Fatalf("pdfinfo rejects the PDF: %v\n%s", err, info)
	}
	pages := regexp.MustCompile(`(?m)^Pages:\s+(\d+)`).FindSubmatch(info)
	if pages == nil {
		t.Fatalf("pdfinfo gave no page count:\n%s", info)
	}
	if n, _ := strconv.Atoi(string(pages[1])); n < 2 || n > 5 {
		t.Errorf("%d pages; an executive report has 2 to 5", n)
	}
	out, err := exec.Command(popplerTool(t, "pdftotext"), "-layout", path, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	txt := string(out)
	want := []string{"Verdict", "serves your chat users fastest", "Scorecard", "Recommendation", "Risks and caveats", "Methodology",
		"Cost at measured throughput", "USD per 1M output", "Human impact (estimate)", "An estimate, not a measurement"}
	for _, c := range costs(run) {
		want = append(want, usd(*c.PerMillionTokensUSD))
	}
	for _, e := range []string{"vllm", "tgi", "ollama"} {
		want = append(want, e)
	}
	for _, g := range run.Summary.Groups {
		if st := g.Metrics[metric.TTFT]; st.Count > 0 {
			want = append(want, fmt.Sprintf("%.1f ms", st.P50))
		}
	}
	for _, w := range want {
		if !strings.Contains(txt, w) {
			t.Errorf("the PDF's text lacks %q", w)
		}
	}
	if t.Failed() {
		t.Logf("PDF text:\n%s", txt)
	}
}

func TestPDFTextIsDeterministic(t *testing.T) {
	tool := popplerTool(t, "pdftotext")
	var texts [2][]byte
	for i := range texts {
		dir := t.TempDir()
		if err := writePDF(dir, reportFixture()); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(tool, filepath.Join(dir, pdfFile), "-").Output()
		if err != nil {
			t.Fatal(err)
		}
		texts[i] = out
	}
	if !bytes.Equal(texts[0], texts[1]) {
		t.Error("the same run gave two PDFs with different text")
	}
}

func TestPDFSafeText(t *testing.T) {
	for in, want := range map[string]string{"ttft p95 ≤ 100 ms": "ttft p95 <= 100 ms", "a\nb": "a b", "日本": "??", "café × 2": "café x 2"} {
		if got := pdfSafe(in); got != want {
			t.Errorf("pdfSafe(%q) = %q, want %q", in, got, want)
		}
	}
}

// The PDF tells a manager where each engine's time to first token went,
// from the engine's own metrics, with its GPUs beside it.
func TestPDFSaysWhereTheTimeWent(t *testing.T) {
	run := reportFixture()
	run.Summary.EngineMetrics = []reconcile.Window{{Engine: "tgi", Scenario: "load", GPUs: 2,
		GPU: []reconcile.Gauge{{Name: reconcile.GPUUtil, Metric: "DCGM_FI_DEV_GPU_UTIL", Mean: 43, Max: 61}},
		Breakdown: &reconcile.Breakdown{ClientTTFTMS: 120, Parts: []reconcile.Part{
			{Name: "network_client", MS: 6, Share: 0.05}, {Name: "queue", MS: 85.2, Share: 0.71}, {Name: "prefill", MS: 28.8, Share: 0.24}}}}}
	dir := t.TempDir()
	if err := writePDF(dir, run); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(popplerTool(t, "pdftotext"), "-layout", filepath.Join(dir, pdfFile), "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	txt := string(out)
	for _, w := range []string{"Where the time went", "120.0 ms", "71% (85.2 ms)", "24% (28.8 ms)", "5% (6.0 ms)", "43% of 2 GPU(s)"} {
		if !strings.Contains(txt, w) {
			t.Errorf("the PDF's text lacks %q", w)
		}
	}
	if t.Failed() {
		t.Logf("PDF text:\n%s", txt)
	}
}
