package export

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/verdict"
	"github.com/llmbench/kubectl-llmbench/templates"
)

// pageScriptsOf returns the text of each <script> of a page by id.
func pageScriptsOf(t *testing.T, page []byte) map[string]string {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for n := range doc.Descendants() {
		if n.Type == html.ElementNode && n.Data == "script" {
			out[attr(n, "id")] = textOf(n)
		}
	}
	return out
}

func chartDataOf(t *testing.T, page []byte) interactiveData {
	t.Helper()
	var d interactiveData
	if err := json.Unmarshal([]byte(pageScriptsOf(t, page)["llmbench-chart-data"]), &d); err != nil {
		t.Fatalf("the page's chart data is not JSON: %v", err)
	}
	return d
}

// The CSP names exactly the page's two executable inline scripts, by the
// sha256 of their bytes as the browser sees them.
func TestHTMLScriptHashesMatchTheScripts(t *testing.T) {
	page := writeFixtureHTML(t)
	m := regexp.MustCompile(`<meta http-equiv="Content-Security-Policy" content="([^"]*)">`).FindSubmatch(page)
	if m == nil {
		t.Fatal("no CSP meta element")
	}
	csp := html.UnescapeString(string(m[1]))
	if !strings.HasPrefix(csp, "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src ") {
		t.Fatalf("CSP is %q", csp)
	}
	got := strings.Fields(strings.TrimPrefix(csp, "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src "))
	scripts := pageScriptsOf(t, page)
	var want []string
	for _, id := range []string{"llmbench-uplot", "llmbench-report-js"} {
		sum := sha256.Sum256([]byte(scripts[id]))
		want = append(want, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("CSP script-src %v, want the hashes of uPlot and report.js %v", got, want)
	}
	for _, unsafe := range []string{"unsafe-inline'; img", "unsafe-eval", "strict-dynamic", "*"} {
		if strings.Contains(strings.TrimPrefix(csp, "default-src 'none'; style-src 'unsafe-inline'"), unsafe) {
			t.Errorf("CSP %q allows %s", csp, unsafe)
		}
	}
	// The embedded files are the vendored ones, byte for byte.
	for id, file := range map[string]string{"llmbench-uplot": "vendor/uplot/uPlot.iife.min.js", "llmbench-report-js": "report.js"} {
		b, err := templates.FS.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if scripts[id] != string(b) {
			t.Errorf("the page's %s is not %s as embedded", id, file)
		}
	}
}

// The TTFT series of each engine is exactly its records' TTFT, with their
// request ids and scenarios, in send order.
func TestHTMLChartDataIsTheRecords(t *testing.T) {
	run := reportFixture()
	d := chartDataOf(t, writeFixtureHTML(t))
	type point struct {
		ttft     float64
		id       int64
		scenario string
	}
	want := map[string][]point{}
	first := int64(-1)
	recs := append([]engine.Record(nil), run.Records...)
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].StartUnixNS < recs[j].StartUnixNS })
	for _, r := range recs {
		if !r.Sent() {
			continue
		}
		if first < 0 || r.StartUnixNS < first {
			first = r.StartUnixNS
		}
		if r.OK && !r.ColdStart && r.TTFTMS != nil {
			want[r.Engine] = append(want[r.Engine], point{*r.TTFTMS, r.RequestID, r.Scenario})
		}
	}
	got := map[string][]point{}
	tt := d.TTFT
	if tt == nil || len(tt.StartS) != len(tt.TTFTMS) || len(tt.Engine) != len(tt.TTFTMS) || len(tt.RequestID) != len(tt.TTFTMS) || len(tt.Scenario) != len(tt.TTFTMS) {
		t.Fatalf("ttft_over_run is missing or ragged: %+v", tt)
	}
	for i := range tt.TTFTMS {
		if i > 0 && tt.StartS[i] < tt.StartS[i-1] {
			t.Fatalf("ttft_over_run is not in send order at %d", i)
		}
		e := d.Engines[tt.Engine[i]].Name
		got[e] = append(got[e], point{tt.TTFTMS[i], tt.RequestID[i], d.Scenarios[tt.Scenario[i]]})
	}
	for i, e := range d.Engines {
		if fmt.Sprint(got[e.Name]) != fmt.Sprint(want[e.Name]) {
			t.Errorf("%s: the chart's TTFT points\n%v\nare not the records'\n%v", e.Name, got[e.Name], want[e.Name])
		}
		if tt.Total[i] != len(want[e.Name]) || tt.Shown[i] != tt.Total[i] {
			t.Errorf("%s: total %d shown %d, want both %d", e.Name, tt.Total[i], tt.Shown[i], len(want[e.Name]))
		}
		col := engineColor(i) // the fixture's engines are the manifest's first three
		if e.Color != fmt.Sprintf("#%02X%02X%02X", col.R, col.G, col.B) {
			t.Errorf("%s is %s in the chart data, %v in the static charts", e.Name, e.Color, col)
		}
	}
	// Every request's output tokens are in the throughput bins.
	var tokens, binned float64
	for _, r := range run.Records {
		if r.Sent() && r.OK && r.EndUnixNS != 0 {
			tokens += float64(r.OutputTokens)
		}
	}
	// The last bin may be short (its rate is over what it covers), so
	// rate × bin width can only overstate it.
	var lastBins float64
	for _, rates := range d.Throughput.TokensPerS {
		for _, v := range rates {
			binned += v * d.Throughput.BinS
		}
		if len(rates) > 0 {
			lastBins += rates[len(rates)-1] * d.Throughput.BinS
		}
	}
	if binned < tokens-1e-6 || binned > tokens+lastBins+1e-6 {
		t.Errorf("the throughput bins hold %.3f tokens, the records %.0f", binned, tokens)
	}
	// Histogram shares add up to 100% per engine and CDFs end at 100%.
	for _, h := range d.Histograms {
		for ei, share := range h.SharePct {
			sum := 0.0
			for _, v := range share {
				sum += v
			}
			if h.Count[ei] > 0 && (sum < 99.999 || sum > 100.001) {
				t.Errorf("%s/%s: histogram shares add up to %g%%", h.Scenario, d.Engines[ei].Name, sum)
			}
		}
	}
	for _, c := range d.CDFs {
		for ei, p := range c.Pct {
			if len(p) > 0 && p[len(p)-1] != 100 {
				t.Errorf("%s/%s: the CDF ends at %g%%", c.Scenario, d.Engines[ei].Name, p[len(p)-1])
			}
		}
	}
}

// Hostile engine, scenario and model names reach the chart data as JSON
// strings that cannot end the element, and the page as text.
func TestHTMLChartDataEscapesHostileNames(t *testing.T) {
	run := reportFixture()
	const evilEngine = `vllm</script><script>alert(1)</script>`
	const evilScenario = `ttft<!--</SCRIPT >&<img src=x onerror=alert(2)>`
	for i := range run.Manifest.Targets {
		if run.Manifest.Targets[i].Target.Name == "vllm" {
			run.Manifest.Targets[i].Target.Name = evilEngine
		}
	}
	for i := range run.Manifest.Scenarios {
		if run.Manifest.Scenarios[i].Name == "ttft" {
			run.Manifest.Scenarios[i].Name = evilScenario
		}
	}
	for i := range run.Records {
		if run.Records[i].Engine == "vllm" {
			run.Records[i].Engine = evilEngine
		}
		if run.Records[i].Scenario == "ttft" {
			run.Records[i].Scenario = evilScenario
		}
	}
	run.Summary = verdict.Summarize(run.Manifest.RunID, run.Records, run.Manifest.Goals())
	charts, err := charts(run)
	if err != nil {
		t.Fatal(err)
	}
	page, err := renderHTML(run, charts)
	if err != nil {
		t.Fatal(err)
	}
	lower := strings.ToLower(string(page))
	if n := strings.Count(lower, "</script"); n != 3 {
		t.Errorf("the page has %d </script, want the three of its own scripts", n)
	}
	if strings.Contains(lower, "<img") || strings.Contains(lower, "<!--") {
		t.Error("hostile names became markup in the page")
	}
	raw := pageScriptsOf(t, page)["llmbench-chart-data"]
	for _, bad := range []string{"<", ">", "&"} {
		if strings.Contains(raw, bad) {
			t.Errorf("the chart data holds a raw %q", bad)
		}
	}
	d := chartDataOf(t, page)
	if d.Engines[0].Name != evilEngine || d.Scenarios[0] != evilScenario {
		t.Errorf("the names did not survive as data: %q, %q", d.Engines[0].Name, d.Scenarios[0])
	}
	if !bytes.Contains(page, []byte(`<title>vllm&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;</title>`)) {
		t.Error("the radar does not name the hostile engine as text")
	}
}

// A long run's TTFT chart keeps maxRunPoints per engine, the same ones
// every time, and says how many it had.
func TestHTMLChartDataThinsDeterministically(t *testing.T) {
	run := reportFixture()
	var recs []engine.Record
	base := run.Records[0]
	for _, r := range run.Records {
		if r.Engine == "vllm" && r.OK && r.TTFTMS != nil && r.Phase == engine.PhaseMeasure && !r.ColdStart {
			base = r
			break
		}
	}
	n := maxRunPoints + 5000
	for i := range n {
		r := base
		r.RequestID = int64(i + 1)
		r.StartUnixNS += int64(i) * 1e6
		r.EndUnixNS += int64(i) * 1e6
		v := float64(i % 97)
		r.TTFTMS = &v
		recs = append(recs, r)
	}
	run.Records = recs
	run.Summary = verdict.Summarize(run.Manifest.RunID, recs, run.Manifest.Goals())
	a, _ := readChartData(run)
	b, _ := readChartData(run)
	da, db := newInteractiveData(a), newInteractiveData(b)
	if len(da.TTFT.TTFTMS) != maxRunPoints || da.TTFT.Total[0] != n || da.TTFT.Shown[0] != maxRunPoints {
		t.Errorf("kept %d points (total %v shown %v), want %d of %d", len(da.TTFT.TTFTMS), da.TTFT.Total, da.TTFT.Shown, maxRunPoints, n)
	}
	if fmt.Sprint(da.TTFT.RequestID) != fmt.Sprint(db.TTFT.RequestID) {
		t.Error("two readings of the same run thinned to different points")
	}
}
