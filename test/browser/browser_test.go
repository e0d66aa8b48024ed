//go:build browser

// Package browser opens report.html in a real headless Chromium, from a
// file, with the network unreachable: the page must render, must not ask
// for anything over the network, and hostile text from a model or server
// must show as text without running. Through the DevTools protocol
// (interactive_test.go) its interactive charts must draw, hover and
// toggle without a script error or CSP violation.
//
//	apt-get install -y chromium
//	go test -tags browser -count=1 ./test/browser/
//
// CHROMIUM names another binary; LLMBENCH_BROWSER_OUT keeps the report and
// screenshots for looking at.
package browser

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/load"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/verdict"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
	"github.com/llmbench/kubectl-llmbench/pkg/export"
)

// hostile runs script if the page ever lets it: each path marks the
// document, and the DOM dump would show the mark.
const hostile = `<script>alert(1);document.documentElement.setAttribute('data-pwned','script')</script>` +
	`<img src=x onerror="document.documentElement.setAttribute('data-pwned','img')"> | [click](http://192.0.2.1/x)`

var (
	pwned     = regexp.MustCompile(`data-pwned="`)
	scriptTag = regexp.MustCompile(`(?i)<script[^>]*>`)
	ownScript = regexp.MustCompile(`^<script (type="application/json" )?id="llmbench-(chart-data|uplot|report-js)">$`)
)

func TestReportInChromium(t *testing.T) {
	chromium := findChromium(t)
	out := os.Getenv("LLMBENCH_BROWSER_OUT")
	if out == "" {
		out = t.TempDir()
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := export.WriteHTML(out, hostileRun()); err != nil {
		t.Fatal(err)
	}
	report := filepath.Join(out, export.HTMLFile)

	// The checks must be able to fail: a page that does fetch and run
	// things has to trip both.
	control := filepath.Join(out, "control.html")
	if err := os.WriteFile(control, []byte(`<!DOCTYPE html><title>control</title><body><img src="http://192.0.2.1/canary.png">`+
		`<script>document.documentElement.setAttribute('data-pwned','control')</script>`), 0o644); err != nil {
		t.Fatal(err)
	}
	dom, requests := loadPage(t, chromium, control, "--dump-dom")
	if len(requests) == 0 || !pwned.MatchString(dom) {
		t.Fatalf("the checks are blind: a page with a remote image and a script showed requests %v and DOM %.300q", requests, dom)
	}
	t.Logf("control page: caught requests %v and a script's mark", requests)

	dom, requests = loadPage(t, chromium, report, "--dump-dom")
	if len(requests) > 0 {
		t.Errorf("report.html made network requests: %v", requests)
	}
	if pwned.MatchString(dom) {
		t.Error("hostile text ran as script in report.html")
	}
	if strings.Contains(strings.ToLower(dom), "<img") {
		t.Error("hostile markup became elements in report.html")
	}
	// The page's own scripts are the only ones: the chart data, uPlot
	// and report.js.
	for _, tag := range scriptTag.FindAllString(dom, -1) {
		if !ownScript.MatchString(tag) {
			t.Errorf("hostile markup became a script element in report.html: %s", tag)
		}
	}
	if !strings.Contains(dom, "&lt;script&gt;alert(1);") {
		t.Error("the hostile error message is not shown as text")
	}
	if n := strings.Count(dom, "<svg"); n < 5 {
		t.Errorf("the rendered page has %d inline charts", n)
	}

	shot := filepath.Join(out, "report.png")
	_, requests = loadPage(t, chromium, report, "--screenshot="+shot, "--window-size=1280,3200", "--hide-scrollbars")
	if len(requests) > 0 {
		t.Errorf("report.html made network requests while rendering: %v", requests)
	}
	checkNotBlank(t, shot)
	t.Logf("report and screenshot in %s", out)
}

// loadPage opens a file in headless Chromium with the network pointed at a
// closed port and returns stdout and every request the page (not the
// browser's own background services) tried to make, from Chromium's net
// log.
func loadPage(t *testing.T, chromium, file string, args ...string) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	netlog := filepath.Join(dir, "netlog.json")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + filepath.Join(dir, "profile"),
		"--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
		"--log-net-log=" + netlog, "--net-log-capture-mode=Everything",
	}, append(args, "file://"+file)...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\n%s", filepath.Base(file), err, stderr.String())
	}
	return stdout.String(), pageRequests(t, netlog)
}

// pageRequests reads a Chromium net log. Requests the browser makes for
// itself (updates, time, accounts) have no initiating origin; anything a
// page asks for names the page's origin as its initiator.
func pageRequests(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("chromium wrote no net log: %v", err)
	}
	var log struct {
		Constants struct {
			LogEventTypes map[string]int `json:"logEventTypes"`
		} `json:"constants"`
		Events []struct {
			Type   int `json:"type"`
			Params struct {
				URL       string `json:"url"`
				Initiator string `json:"initiator"`
			} `json:"params"`
		} `json:"events"`
	}
	if err := json.Unmarshal(b, &log); err != nil {
		t.Fatalf("reading the net log: %v", err)
	}
	start, ok := log.Constants.LogEventTypes["URL_REQUEST_START_JOB"]
	if !ok {
		t.Fatal("the net log has no URL_REQUEST_START_JOB events; has its format changed?")
	}
	var out []string
	for _, e := range log.Events {
		p := e.Params
		if e.Type != start || p.URL == "" || p.Initiator == "not an origin" || strings.HasPrefix(p.URL, "file:") || strings.HasPrefix(p.URL, "data:") {
			continue
		}
		out = append(out, fmt.Sprintf("%s (from %s)", p.URL, p.Initiator))
	}
	return out
}

// checkNotBlank: a rendered report has text, tables and charts, so many
// colours and a good share of non-background pixels.
func checkNotBlank(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	bg := img.At(0, 0)
	colours := map[[3]uint32]bool{}
	var ink, all int
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			c := img.At(x, y)
			r, g, bl, _ := c.RGBA()
			colours[[3]uint32{r >> 8, g >> 8, bl >> 8}] = true
			if c != bg {
				ink++
			}
			all++
		}
	}
	if share := float64(ink) / float64(all); len(colours) < 50 || share < 0.03 {
		t.Errorf("the screenshot looks blank: %d colours, %.1f%% non-background pixels (%s)", len(colours), share*100, size(img))
	}
}

func size(img image.Image) string { return fmt.Sprintf("%dx%d", img.Bounds().Dx(), img.Bounds().Dy()) }

func findChromium(t *testing.T) string {
	if c := os.Getenv("CHROMIUM"); c != "" {
		return c
	}
	for _, c := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	t.Fatal("no Chromium found: apt-get install -y chromium, or set CHROMIUM")
	return ""
}

// hostileRun is a small two-engine run whose model name and error message
// carry markup and script.
func hostileRun() *export.Run {
	const t0 = int64(1_790_000_000_000_000_000)
	m := export.Manifest{Tool: "kubectl-llmbench", ToolVersion: "browser-test", RunID: "browser_check", Status: "complete",
		Command: []string{"kubectl-llmbench", "run", "--model", "tgi=" + hostile}, StartedAt: "2026-01-01T00:00:00Z", EndedAt: "2026-01-01T00:00:30Z"}
	m.Config.Benchmark.Name = "browser check " + hostile
	m.Scenarios = []workload.Scenario{
		{Name: "ttft", Suite: workload.SuiteTTFT, Arrival: workload.ArrivalSequential, Concurrency: 1, Requests: 10, MaxTokens: 16,
			Target: &workload.Goal{Metric: "ttft", Percentile: 95, LimitMS: 40}},
		{Name: "load", Suite: workload.SuiteLoad, Arrival: workload.ArrivalClosed, Concurrency: 4, Requests: 10, MaxTokens: 16},
	}
	engines := []struct {
		name  string
		model string
		ttft  float64
	}{{"vllm", "meta-llama/Llama-3.1-8B-Instruct", 25}, {"tgi", hostile, 35}}
	for _, e := range engines {
		m.Targets = append(m.Targets, load.TargetStatus{Target: engine.Target{Name: e.name, Model: e.model}})
	}
	var recs []engine.Record
	id := int64(0)
	for si, sc := range m.Scenarios {
		for ei, e := range engines {
			for i := 0; i < sc.Requests; i++ {
				id++
				start := t0 + int64(si*20+ei*10+i)*400_000_000
				r := engine.Record{Engine: e.name, Model: e.model, Scenario: sc.Name, Suite: sc.Suite, Phase: engine.PhaseMeasure,
					RequestID: id, IntendedStartUnixNS: start, StartUnixNS: start, RequestedOutputTokens: 16}
				if e.name == "tgi" && i == 3 {
					r.ErrorClass, r.Error, r.EndUnixNS = engine.ErrStream, hostile, start+5_000_000
					recs = append(recs, r)
					continue
				}
				ttft := e.ttft*float64(1+si) + float64(i%5)
				e2e := ttft + 15*8
				r.OK, r.TTFTMS, r.E2EMS, r.OutputTokens = true, &ttft, &e2e, 16
				tpot := 8.0
				r.TPOTMS, r.ITLMS = &tpot, []float64{8, 8, 8, 8}
				r.EndUnixNS = start + int64(e2e*1e6)
				recs = append(recs, r)
			}
		}
	}
	return &export.Run{Manifest: m, Records: recs, Summary: verdict.Summarize(m.RunID, recs, m.Goals())}
}
