package export

import (
	"bytes"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/verdict"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

func TestChartsAreValidSVGAndPNG(t *testing.T) {
	charts := mustFixtureCharts(t)
	want := []string{chartTTFTBox, ChartTTFTHistogram, ChartTTFTCDF, ChartPercentiles, ChartTTFTOverTime, ChartThroughputOverTime, ChartThroughputVsLoad, ChartComparison, ChartRankingRadar}
	if len(charts) != len(want) {
		t.Fatalf("got %d charts, want %v", len(charts), want)
	}
	for i, c := range charts {
		if c.ID != want[i] || c.Title == "" || c.Caption == "" {
			t.Errorf("chart %d is %q (title %q), want %s with a title and caption", i, c.ID, c.Title, want[i])
		}
		svg := string(c.SVG)
		if !strings.HasPrefix(svg, "<svg") || !strings.HasSuffix(strings.TrimSpace(svg), "</svg>") {
			t.Errorf("%s: SVG is not one inline <svg> element: %.60q…", c.ID, svg)
		}
		if strings.Contains(svg, "<?xml") || strings.Contains(svg, "<image") {
			t.Errorf("%s: SVG has an XML prolog or an embedded image", c.ID)
		}
		img, err := png.Decode(bytes.NewReader(c.PNG))
		if err != nil {
			t.Errorf("%s: PNG does not decode: %v", c.ID, err)
			continue
		}
		if w := img.Bounds().Dx(); w != 1125 { // 7.5 in at 150 dpi
			t.Errorf("%s: PNG is %d px wide, want 1125", c.ID, w)
		}
		colours := map[uint32]bool{}
		for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y += 3 {
			for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x += 3 {
				r, g, b, _ := img.At(x, y).RGBA()
				colours[r>>8<<16|g>>8<<8|b>>8] = true
			}
		}
		if len(colours) < 20 {
			t.Errorf("%s: PNG has %d colours; it looks blank", c.ID, len(colours))
		}
	}
}

// Each engine keeps its manifest-order colour in every chart.
func TestEnginesKeepOneColourEverywhere(t *testing.T) {
	run, charts := reportFixture(), mustFixtureCharts(t)
	order := engineOrder(run)
	if strings.Join(order, ",") != "vllm,tgi,ollama,offline" {
		t.Fatalf("engine order %v does not follow the manifest", order)
	}
	for _, c := range charts {
		for i, e := range order[:3] {
			col := engineColor(i)
			rgb := fmt.Sprintf("#%02X%02X%02X", col.R, col.G, col.B)
			if !bytes.Contains(c.SVG, []byte(rgb)) {
				t.Errorf("%s: no %s for %s", c.ID, rgb, e)
			}
		}
	}
}

func TestChartsAreDeterministic(t *testing.T) {
	a := mustFixtureCharts(t)
	b, err := charts(reportFixture())
	if err != nil {
		t.Fatal(err)
	}
	for i := range a {
		if !bytes.Equal(a[i].SVG, b[i].SVG) || !bytes.Equal(a[i].PNG, b[i].PNG) {
			t.Errorf("%s differs between two renderings", a[i].ID)
		}
	}
}

// Charts adapt to what the run has: one scenario has no load curve, and a
// run where nothing succeeded still reports without failing.
func TestChartsOfSparseRuns(t *testing.T) {
	run := reportFixture()
	var recs []engine.Record
	for _, r := range run.Records {
		if r.Scenario == "ttft" {
			recs = append(recs, r)
		}
	}
	run.Records, run.Manifest.Scenarios = recs, run.Manifest.Scenarios[:1]
	run.Summary = verdict.Summarize(run.Manifest.RunID, recs, run.Manifest.Goals())
	charts, err := charts(run)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range charts {
		if c.ID == ChartThroughputVsLoad {
			t.Error("a single scenario got a throughput-by-load chart")
		}
	}
	if len(charts) != 8 {
		t.Errorf("got %d charts for one scenario, want 8", len(charts))
	}

	for i := range recs {
		recs[i].OK, recs[i].ErrorClass, recs[i].Error = false, engine.ErrConnect, "connection refused"
	}
	run.Summary = verdict.Summarize(run.Manifest.RunID, recs, run.Manifest.Goals())
	dir := t.TempDir()
	if err := writeReports(dir, run); err != nil {
		t.Fatalf("a run where every request failed: %v", err)
	}
	for _, f := range []string{markdownFile, HTMLFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("a run where every request failed got no %s: %v", f, err)
		}
	}
}

// A sweep gets the capacity chart; a run without one does not.
func TestCapacityChart(t *testing.T) {
	run := reportFixture()
	has := func() bool {
		charts, err := charts(run)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range charts {
			if c.ID == ChartCapacity {
				return len(c.PNG) > 0 && len(c.SVG) > 0
			}
		}
		return false
	}
	if has() {
		t.Fatal("a run without a sweep got a capacity chart")
	}
	yes, no := true, false
	gp := 3.5
	run.Summary.Capacity = []verdict.Capacity{{Engine: "vllm", Kind: workload.LevelRate, Judged: "slo", Levels: []verdict.LevelStats{
		{Value: 2, Met: &yes, GoodputRequestsPerS: &gp, TTFTP95: 30},
		{Value: 4, Met: &no, GoodputRequestsPerS: &gp, TTFTP95: 900},
	}}}
	if !has() {
		t.Fatal("a sweep got no capacity chart")
	}
}
