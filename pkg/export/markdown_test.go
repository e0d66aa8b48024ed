package export

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/llmbench/kubectl-llmbench/templates"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

const markdownGolden = "testdata/report.md.golden"

// TestGoldenReportMarkdown pins report.md for the fixed fixture run.
// After an intended change: go test ./pkg/export -run Golden -update
func TestGoldenReportMarkdown(t *testing.T) {
	dir := t.TempDir()
	if err := writeMarkdown(dir, reportFixture(), mustFixtureCharts(t)); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, markdownFile))
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(markdownGolden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(markdownGolden)
	if err != nil {
		t.Fatalf("%v; create it with -update", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("report.md differs from %s (rerun with -update if the change is intended):\n%s", markdownGolden, firstDiff(string(want), string(got)))
	}
	for _, c := range []string{chartTTFTBox, ChartTTFTHistogram, ChartPercentiles, ChartTTFTOverTime, ChartThroughputVsLoad, ChartComparison} {
		ref := "](charts/" + c + ".png)"
		if !strings.Contains(string(got), ref) {
			t.Errorf("report.md does not reference %s", ref)
		}
		if b, err := os.ReadFile(filepath.Join(dir, ChartsDir, c+".png")); err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
			t.Errorf("charts/%s.png missing or not a PNG: %v", c, err)
		}
	}
}

// Same run, same text (the charts' own determinism is tested apart).
func TestMarkdownIsDeterministic(t *testing.T) {
	a, err := renderMarkdown(reportFixture(), mustFixtureCharts(t))
	if err != nil {
		t.Fatal(err)
	}
	b, err := renderMarkdown(reportFixture(), mustFixtureCharts(t))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("two renderings of the same run differ")
	}
}

func TestMarkdownShowsUntrustedTextAsText(t *testing.T) {
	md, err := renderMarkdown(reportFixture(), nil)
	if err != nil {
		t.Fatal(err)
	}
	s := string(md)
	// The command is shown verbatim, inside a code block, where Markdown
	// is not interpreted.
	i, j := strings.Index(s, "## Reproduce"), strings.Index(s, "## Metric definitions")
	if i < 0 || j < i || !strings.Contains(s[i:j], "```sh\nkubectl-llmbench run ") {
		t.Fatal("the Reproduce section has no fenced command")
	}
	s = s[:i] + s[j:]
	// An unescaped character is one without a backslash before it.
	for _, bad := range []string{"<script", "](http", "`rm", "[click", "\n# not"} {
		if regexp.MustCompile(`(^|[^\\])` + regexp.QuoteMeta(bad)).MatchString(s) {
			t.Errorf("report.md contains %q unescaped", bad)
		}
	}
	if !strings.Contains(s, `\<script\>alert(1)\</script\>\|\[click\](http\://evil.example/x)`) {
		t.Error("the hostile model name is not shown escaped")
	}
}

// The definitions block must say what docs/metrics.md says.
func TestDefinitionsAreTheDocs(t *testing.T) {
	docs, err := os.ReadFile("../../docs/metrics.md")
	if err != nil {
		t.Skip("docs/metrics.md not found:", err)
	}
	embedded, err := templates.FS.ReadFile("metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(docs, embedded) {
		t.Error("templates/metrics.md differs from docs/metrics.md: run go generate ./templates")
	}
}

// firstDiff shows the first differing line with a little context.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return "line " + strconv.Itoa(i+1) + ":\n- " + wl + "\n+ " + gl
		}
	}
	return "(same lines, different bytes)"
}
