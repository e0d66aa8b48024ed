package export

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"golang.org/x/net/html"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/verdict"
)

const hostileEngine = "<img src=x onerror=alert(1)>|**[click](http://evil.example/x)**\n# not a heading"

// compareFixture: "good" unchanged, a hostile engine name 30% slower in
// TTFT, one engine only in each run.
func compareFixture() verdict.RunDiff {
	gen := func(runID string, seed uint64, slow float64, engines ...string) []engine.Record {
		rng := rand.New(rand.NewPCG(seed, 1))
		var out []engine.Record
		for _, e := range engines {
			for i := 0; i < 200; i++ {
				scale := 1.0
				if e == hostileEngine {
					scale = slow
				}
				ttft := 100 * math.Exp(0.3*rng.NormFloat64()) * scale
				tpot := 20 * math.Exp(0.2*rng.NormFloat64())
				e2e := ttft + 63*tpot
				tps := 64 / e2e * 1000
				out = append(out, engine.Record{RunID: runID, Engine: e, Model: "m", Scenario: "chat|<b>x</b>", Phase: engine.PhaseMeasure,
					OK: true, TTFTMS: &ttft, TPOTMS: &tpot, E2EMS: &e2e, OutputTokensPerS: &tps})
			}
		}
		return out
	}
	return verdict.CompareRuns(gen("test_a_20260101_000000", 1, 1, "good", hostileEngine, "gone"),
		gen("test_b_20260101_000000", 2, 1.3, "good", hostileEngine, "new"), verdict.RegressionOptions{})
}

func TestDiffTableMarksRegressions(t *testing.T) {
	var b bytes.Buffer
	if err := WriteDiff(&b, compareFixture(), "table"); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"test_a_20260101_000000 (base)", "test_b_20260101_000000 (current)",
		"ttft_ms p50", "ttft_ms p95", "error rate", "REGRESSION (p=<0.001)", "REGRESSION (95% CI excludes 0)",
		"only in the base run, not compared: gone in chat|<b>x</b>", "only in the current run, not compared: new in chat|<b>x</b>",
		"significant regression(s)", "worst: <img"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	// The name's line break never reaches the terminal.
	if strings.Contains(out, "\n# not a heading") {
		t.Errorf("a control character of a name reached the terminal:\n%s", out)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "good") && strings.Contains(line, "REGRESSION") {
			t.Errorf("an unchanged engine is marked: %s", line)
		}
	}
}

func TestDiffJSONRoundTrips(t *testing.T) {
	d := compareFixture()
	var b bytes.Buffer
	if err := WriteDiff(&b, d, "json"); err != nil {
		t.Fatal(err)
	}
	var back verdict.RunDiff
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if len(back.Rows) != len(d.Rows) || len(back.Regressions(10)) == 0 || back.Regressions(10)[0].Engine != hostileEngine {
		t.Errorf("JSON lost the regression: %+v", back.Regressions(10))
	}
	var raw struct {
		Rows []map[string]any `json:"rows"`
	}
	json.Unmarshal(b.Bytes(), &raw)
	for _, key := range []string{"worse_pct", "delta", "delta_ci95", "evidence", "regression", "p_adjusted"} {
		if _, ok := raw.Rows[0][key]; !ok {
			t.Errorf("row lacks %q: %v", key, raw.Rows[0])
		}
	}
	b.Reset()
	if err := writeDiffJSON(&b, verdict.RunDiff{}); err != nil || !strings.Contains(b.String(), `"rows": []`) {
		t.Errorf("empty comparison: %v %s", err, b.String())
	}
	if err := WriteDiff(&b, d, "pdf"); err == nil || !strings.Contains(err.Error(), "table, json, md") {
		t.Errorf("unknown format: %v", err)
	}
}

// The Markdown renders every hostile name as its own text, and bolds
// only the regressions.
func TestDiffMarkdownEscapesNames(t *testing.T) {
	var b bytes.Buffer
	if err := WriteDiff(&b, compareFixture(), "md"); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	gm := goldmark.New(goldmark.WithExtensions(extension.Table, extension.Strikethrough))
	if err := gm.Convert(b.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(&out)
	if err != nil {
		t.Fatal(err)
	}
	engines := map[string]int{}
	regressionCells := 0
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		switch n.Data {
		case "html", "head", "body", "h2", "h3", "p", "ul", "li", "table", "thead", "tbody", "tr", "th":
		case "td":
			if n.PrevSibling == nil || (n.PrevSibling.Type == html.TextNode && n.PrevSibling.PrevSibling == nil) {
				engines[textOf(n)]++ // the first cell of a row
			}
		case "strong":
			if strings.HasPrefix(textOf(n), "REGRESSION") {
				regressionCells++
			}
		default:
			t.Errorf("the comparison rendered a <%s> element:\n%s", n.Data, b.String())
		}
	}
	if engines[oneLine(hostileEngine)] == 0 || engines["good"] == 0 {
		t.Errorf("engine cells %v: the hostile name must render as its own text", engines)
	}
	if regressionCells == 0 {
		t.Errorf("no bold REGRESSION verdict:\n%s", b.String())
	}
	if strings.Contains(b.String(), "**good**") {
		t.Error("an unchanged engine is bold")
	}
	if !strings.Contains(b.String(), `only in the base run, not compared: gone in chat\|\<b\>x\</b\>`) {
		t.Errorf("the scenario name in the notes is not escaped:\n%s", b.String())
	}
}
