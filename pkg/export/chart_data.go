package export

import (
	"image/color"
	"io"
	"math/rand/v2"
	"sort"

	"gonum.org/v1/plot/plotter"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/reconcile"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/scrape"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/summary"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/verdict"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

// palette is the Okabe–Ito colour-blind-safe set (yellow left out: it
// vanishes on white paper), then two greys.
var palette = []color.RGBA{
	{0x00, 0x72, 0xB2, 0xFF}, // blue
	{0xE6, 0x9F, 0x00, 0xFF}, // orange
	{0x00, 0x9E, 0x73, 0xFF}, // bluish green
	{0xD5, 0x5E, 0x00, 0xFF}, // vermillion
	{0xCC, 0x79, 0xA7, 0xFF}, // reddish purple
	{0x56, 0xB4, 0xE9, 0xFF}, // sky blue
	{0x55, 0x55, 0x55, 0xFF}, // dark grey
	{0x99, 0x99, 0x99, 0xFF}, // grey
}

// engineColor is the colour of the i-th engine of EngineOrder in every
// chart of every output, so a reader learns it once.
func engineColor(i int) color.RGBA { return palette[i%len(palette)] }

// engineOrder lists the run's engines as the manifest names its targets
// (a target that could not be reached keeps its place, so colours do not
// shift when one fails), then any engine only the journal knows.
func engineOrder(run *Run) []string {
	var out []string
	seen := map[string]bool{}
	add := func(e string) {
		if !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	for _, t := range run.Manifest.Targets {
		add(t.Target.Name)
	}
	for _, g := range run.Summary.Groups {
		add(g.Engine)
	}
	return out
}

// scenarioOrder lists scenarios as the manifest ran them, then any that
// only the journal knows.
func scenarioOrder(run *Run) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range run.Manifest.Scenarios {
		if !seen[s.Name] {
			seen[s.Name] = true
			out = append(out, s.Name)
		}
	}
	for _, g := range run.Summary.Groups {
		if !seen[g.Scenario] {
			seen[g.Scenario] = true
			out = append(out, g.Scenario)
		}
	}
	return out
}

type seriesKey struct{ engine, scenario string }

// chartData is what every chart reads, selected once from the run.
type chartData struct {
	// engines that have at least one group, in EngineOrder.
	engines   []string
	colors    map[string]color.RGBA
	scenarios []string
	specs     map[string]workload.Scenario
	groups    map[seriesKey]*summary.Group
	// ttft holds the TTFT of every request whose latencies enter
	// Summary.Metrics (up to maxChartPoints); ttftAt the same values
	// against seconds since the group's first measured send.
	ttft   map[seriesKey][]float64
	ttftAt map[seriesKey]plotter.XYs
	// capacity is the sweep or capacity search, if the run had one.
	capacity []verdict.Capacity
	// lengths is the prompt- or answer-length sweep, if the run had one.
	lengths []verdict.LengthSweep
	// firstSend is each group's first measured send (the time axis'
	// zero); scrapes and engineMetrics the engines' own metrics.
	firstSend     map[seriesKey]int64
	scrapes       []scrape.Scrape
	engineMetrics []reconcile.Window
	// tokens are each group's output tokens per tokenBin of wall clock,
	// each answer's spread evenly from its first token to its end.
	tokens map[seriesKey]map[int64]float64
	// runTTFT is each engine's TTFT requests across the whole run, for
	// report.html's interactive chart (up to maxRunPoints per engine, in
	// send order); runTTFTSeen counts every one of them.
	runTTFT     map[string][]runPoint
	runTTFTSeen map[string]int
	// ranking is the summary's overall ranking, for the radar.
	ranking []verdict.Standing
}

// runPoint is one request of the interactive TTFT chart.
type runPoint struct {
	start    int64
	ttft     float64
	id       int64
	scenario string
}

func newChartData(run *Run) (*chartData, error) {
	d := &chartData{colors: map[string]color.RGBA{}, specs: map[string]workload.Scenario{},
		groups: map[seriesKey]*summary.Group{}, ttft: map[seriesKey][]float64{}, ttftAt: map[seriesKey]plotter.XYs{},
		capacity: run.Summary.Capacity, lengths: run.Summary.Lengths, firstSend: map[seriesKey]int64{}, tokens: map[seriesKey]map[int64]float64{},
		engineMetrics: run.Summary.EngineMetrics, runTTFT: map[string][]runPoint{}, runTTFTSeen: map[string]int{}}
	if run.Dir != "" && len(run.Summary.EngineMetrics) > 0 {
		d.scrapes, _ = LoadMetricsJournal(run.Dir) // a damaged journal draws what it holds
	}
	hasGroup := map[string]bool{}
	for i := range run.Summary.Groups {
		g := &run.Summary.Groups[i]
		d.groups[seriesKey{g.Engine, g.Scenario}] = g
		hasGroup[g.Engine] = true
	}
	for i, e := range engineOrder(run) {
		d.colors[e] = engineColor(i)
		if hasGroup[e] {
			d.engines = append(d.engines, e)
		}
	}
	d.scenarios = scenarioOrder(run)
	for _, s := range run.Manifest.Scenarios {
		d.specs[s.Name] = s
	}

	if err := d.readTTFT(run); err != nil {
		return d, err
	}
	return d, nil
}

// maxChartPoints bounds each engine × scenario's TTFT points: a longer
// series keeps a uniform random subset (seeded, so reports repeat), which
// draws the same shapes without holding a million points. Every figure
// of a summary statistic reads Summary, not these points.
const maxChartPoints = 20000

// maxRunPoints bounds each engine's points in report.html's interactive
// TTFT chart, which the reader's browser draws and hovers: a longer run
// keeps a seeded uniform sample, and the chart says so.
const maxRunPoints = 50000

// readTTFT streams the run's records once for the per-request figures.
func (d *chartData) readTTFT(run *Run) error {
	next, done, err := runRecords(run)
	if err != nil {
		return err
	}
	defer done()
	type point struct {
		start int64
		ttft  float64
	}
	kept := map[seriesKey][]point{}
	seen := map[seriesKey]int{}
	first := map[seriesKey]int64{}
	rng := rand.New(rand.NewPCG(1, 2))
	// Its own stream, so that the static charts' sample does not depend
	// on the interactive one.
	runRNG := rand.New(rand.NewPCG(3, 4))
	for {
		r, err := next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if !sentAndMeasured(r) {
			continue
		}
		k := seriesKey{r.Engine, r.Scenario}
		if f, ok := first[k]; !ok || r.StartUnixNS < f {
			first[k] = r.StartUnixNS
		}
		if r.OK {
			d.addTokens(k, r)
		}
		if !r.OK || r.ColdStart || r.TTFTMS == nil {
			continue
		}
		p := point{r.StartUnixNS, *r.TTFTMS}
		seen[k]++
		// Reservoir sampling (Algorithm R): every point is kept with the
		// same probability.
		if n := seen[k]; n <= maxChartPoints {
			kept[k] = append(kept[k], p)
		} else if j := rng.IntN(n); j < maxChartPoints {
			kept[k][j] = p
		}
		rp := runPoint{r.StartUnixNS, *r.TTFTMS, r.RequestID, r.Scenario}
		d.runTTFTSeen[r.Engine]++
		if n := d.runTTFTSeen[r.Engine]; n <= maxRunPoints {
			d.runTTFT[r.Engine] = append(d.runTTFT[r.Engine], rp)
		} else if j := runRNG.IntN(n); j < maxRunPoints {
			d.runTTFT[r.Engine][j] = rp
		}
	}
	for k, f := range first {
		d.firstSend[k] = f
	}
	for _, ps := range d.runTTFT {
		sort.SliceStable(ps, func(i, j int) bool {
			if ps[i].start != ps[j].start {
				return ps[i].start < ps[j].start
			}
			return ps[i].id < ps[j].id
		})
	}
	for k, ps := range kept {
		// Send order: the journal is written in completion order.
		sort.SliceStable(ps, func(i, j int) bool { return ps[i].start < ps[j].start })
		for _, p := range ps {
			d.ttft[k] = append(d.ttft[k], p.ttft)
			d.ttftAt[k] = append(d.ttftAt[k], plotter.XY{X: float64(p.start-first[k]) / 1e9, Y: p.ttft})
		}
	}
	return nil
}

// sentAndMeasured mirrors verdict.Summarize: warm-up requests, arrivals the
// client dropped and requests the user cancelled are not part of a
// group's window or statistics.
func sentAndMeasured(r *engine.Record) bool { return r.Sent() }

// group returns the summary of one engine × scenario, or nil.
func (d *chartData) group(engine, scenario string) *summary.Group {
	return d.groups[seriesKey{engine, scenario}]
}

// enginesIn lists the engines that ran a scenario, in engine order.
func (d *chartData) enginesIn(scenario string) []string {
	var out []string
	for _, e := range d.engines {
		if d.group(e, scenario) != nil {
			out = append(out, e)
		}
	}
	return out
}

// scenariosWithTTFT lists scenarios where some engine has TTFT samples.
func (d *chartData) scenariosWithTTFT() []string {
	var out []string
	for _, s := range d.scenarios {
		for _, e := range d.engines {
			if len(d.ttft[seriesKey{e, s}]) > 0 {
				out = append(out, s)
				break
			}
		}
	}
	return out
}
