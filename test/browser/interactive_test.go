//go:build browser

package browser

import (
	"fmt"
	"image"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/llmbench/kubectl-llmbench/pkg/export"
)

// chartEngine is an engine as the page's chart data names it.
type chartEngine struct {
	Name  string `json:"name"`
	Color string `json:"color"`
}

// The interactive charts draw, each engine in its colour; hovering the
// TTFT chart names a request; a legend click hides an engine; and nothing
// on the page throws, logs an error, breaks the CSP or uses the network.
func TestInteractiveChartsInChromium(t *testing.T) {
	chromium := findChromium(t)
	out := os.Getenv("LLMBENCH_BROWSER_OUT")
	if out == "" {
		out = t.TempDir()
	}
	dir := filepath.Join(out, "interactive")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := export.WriteHTML(dir, hostileRun()); err != nil {
		t.Fatal(err)
	}
	report := filepath.Join(dir, export.HTMLFile)
	page, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	// A script that got into the page anyway must be refused by the CSP,
	// and the refusal seen: the checks below must be able to fail.
	injected := filepath.Join(dir, "injected.html")
	if err := os.WriteFile(injected, []byte(strings.Replace(string(page), "</main>",
		`<script>document.documentElement.setAttribute('data-pwned','injected')</script></main>`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	thrower := filepath.Join(dir, "control-throws.html")
	if err := os.WriteFile(thrower, []byte(`<!DOCTYPE html><title>control</title><script>console.error('control'); throw new Error('control')</script>`), 0o644); err != nil {
		t.Fatal(err)
	}

	d := startDevtools(t, chromium)
	d.open(thrower)
	if p := d.takeProblems(); len(p) < 2 {
		t.Fatalf("the error checks are blind: a page that logs an error and throws showed %q", p)
	}
	d.open(injected)
	var mark *string
	d.eval(`document.documentElement.getAttribute('data-pwned')`, &mark)
	if mark != nil {
		t.Error("a script injected into report.html ran despite the CSP")
	}
	if p := strings.Join(d.takeProblems(), "\n"); !strings.Contains(p, "CSP violation: script-src") {
		t.Errorf("the injected script's CSP violation was not seen: %q", p)
	}

	d.open(report)
	var ready *string
	d.eval(`document.documentElement.getAttribute('data-charts')`, &ready)
	if ready == nil || *ready != "ready" {
		t.Fatal("report.js did not finish drawing the charts")
	}
	if p := d.takeProblems(); len(p) > 0 {
		t.Errorf("report.html reported problems:\n%s", strings.Join(p, "\n"))
	}
	var engines []chartEngine
	d.eval(`JSON.parse(document.getElementById('llmbench-chart-data').textContent).engines`, &engines)
	if len(engines) != 2 {
		t.Fatalf("the chart data names engines %v, want vllm and tgi", engines)
	}

	charts := []struct{ kind, selector string }{
		{"ttft_over_run", `.ichart[data-kind="ttft_over_run"] canvas`},
		{"throughput", `.ichart[data-kind="throughput"] canvas`},
		{"ttft_histogram", `.ichart[data-kind="ttft_histogram"] canvas`},
		{"ttft_cdf", `.ichart[data-kind="ttft_cdf"] canvas`},
		{"radar", `.chart[data-interactive="radar"] svg`},
	}
	for _, c := range charts {
		img := d.shot(d.rect(c.selector))
		savePNG(t, filepath.Join(dir, c.kind+".png"), img)
		if share := inkShare(img); share < 0.01 {
			t.Errorf("%s: %.2f%% of the chart is not background; it did not draw", c.kind, share*100)
		}
		for _, e := range engines {
			if n := colourPixels(img, e.Color, 10); n < 15 {
				t.Errorf("%s: %d pixels of %s's colour %s", c.kind, n, e.Name, e.Color)
			}
		}
	}

	// Hover: the legend names the request under the pointer.
	const legend = `.ichart[data-kind="ttft_over_run"] .u-legend`
	over := d.rect(`.ichart[data-kind="ttft_over_run"] .u-over`)
	var ids []int64
	d.eval(`JSON.parse(document.getElementById('llmbench-chart-data').textContent).ttft_over_run.request_id`, &ids)
	known := map[int64]bool{}
	for _, id := range ids {
		known[id] = true
	}
	d.mouse("mouseMoved", over.X+over.W*0.3, over.Y+over.H*0.5)
	var text string
	d.eval(`document.querySelector('`+legend+`').textContent`, &text)
	m := regexp.MustCompile(`request (\d+)`).FindAllStringSubmatch(text, -1)
	if len(m) == 0 {
		t.Errorf("hovering the TTFT chart names no request; the legend reads %q", text)
	}
	for _, g := range m {
		if id, _ := strconv.ParseInt(g[1], 10, 64); !known[id] {
			t.Errorf("hover names request %s, which the chart data does not hold", g[1])
		}
	}
	hovered := d.shot(d.rect(`.ichart[data-kind="ttft_over_run"]`))
	savePNG(t, filepath.Join(dir, "ttft_over_run_hover.png"), hovered)

	// A legend click hides the first engine's points and keeps the other's.
	d.mouse("mouseMoved", 1, 1)
	label := d.rect(legend + ` .u-series:nth-child(2) .u-label`)
	d.click(label.X+label.W/2, label.Y+label.H/2)
	d.mouse("mouseMoved", 1, 1)
	img := d.shot(d.rect(charts[0].selector))
	savePNG(t, filepath.Join(dir, "ttft_over_run_hidden.png"), img)
	if n := colourPixels(img, engines[0].Color, 10); n > 0 {
		t.Errorf("after a legend click, %d pixels of %s's colour are left", n, engines[0].Name)
	}
	if n := colourPixels(img, engines[1].Color, 10); n < 15 {
		t.Errorf("after hiding %s, %s's points are gone too (%d pixels)", engines[0].Name, engines[1].Name, n)
	}

	// The radar's legend hides an engine too.
	key := d.rect(`.radar-key[data-series="0"]`)
	d.click(key.X+key.W/2, key.Y+key.H/2)
	radar := d.shot(d.rect(charts[4].selector))
	savePNG(t, filepath.Join(dir, "radar_hidden.png"), radar)
	if n := colourPixels(radar, engines[0].Color, 6); n > 0 {
		t.Errorf("after a radar legend click, %d pixels of %s's colour are left", n, engines[0].Name)
	}

	if p := d.takeProblems(); len(p) > 0 {
		t.Errorf("using the charts reported problems:\n%s", strings.Join(p, "\n"))
	}
	if r := d.requests(); len(r) > 0 {
		t.Errorf("the pages made network requests: %v", r)
	}
	t.Logf("interactive charts' screenshots in %s", dir)
}

// inkShare is the share of pixels that differ from the top-left one.
func inkShare(img image.Image) float64 {
	bg := img.At(img.Bounds().Min.X, img.Bounds().Min.Y)
	ink, all := 0, 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if img.At(x, y) != bg {
				ink++
			}
			all++
		}
	}
	return float64(ink) / float64(all)
}

// colourPixels counts pixels within tol of a #RRGGBB colour on every
// channel.
func colourPixels(img image.Image, hex string, tol int) int {
	var want [3]int
	if _, err := fmt.Sscanf(strings.TrimPrefix(hex, "#"), "%02x%02x%02x", &want[0], &want[1], &want[2]); err != nil {
		return 0
	}
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			got := [3]int{int(r >> 8), int(g >> 8), int(bl >> 8)}
			ok := true
			for i := range got {
				if d := got[i] - want[i]; d > tol || d < -tol {
					ok = false
				}
			}
			if ok {
				n++
			}
		}
	}
	return n
}
