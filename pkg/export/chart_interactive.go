package export

import (
	"fmt"
	"math"
	"sort"
)

// interactiveData is what report.html's script draws its interactive
// charts from, embedded in the page as JSON. Every number in it is derived
// here from the run's records (through chartData, as the static charts
// are); the script only lays it out. Engines and scenarios are referred
// to by index.
type interactiveData struct {
	Engines    []interactiveEngine    `json:"engines"`
	Scenarios  []string               `json:"scenarios"`
	TTFT       *interactiveTTFT       `json:"ttft_over_run,omitempty"`
	Throughput *interactiveThroughput `json:"throughput,omitempty"`
	Histograms []interactiveHistogram `json:"ttft_histogram,omitempty"`
	CDFs       []interactiveCDF       `json:"ttft_cdf,omitempty"`
}

type interactiveEngine struct {
	Name  string `json:"name"`
	Color string `json:"color"` // EngineColor, as in the static charts
}

// interactiveTTFT holds one entry per charted request, in send order: when
// it was sent (seconds since the run's first measured send), its engine,
// TTFT, request id and scenario. Total and Shown count each engine's
// requests and those charted (fewer past maxRunPoints).
type interactiveTTFT struct {
	StartS    []float64 `json:"start_s"`
	Engine    []int     `json:"engine"`
	TTFTMS    []float64 `json:"ttft_ms"`
	RequestID []int64   `json:"request_id"`
	Scenario  []int     `json:"scenario"`
	Total     []int     `json:"total"`
	Shown     []int     `json:"shown"`
}

// interactiveThroughput is each engine's output tokens per second in bins
// of BinS seconds across the whole run (null for an engine that streamed
// nothing), at the bins' middles.
type interactiveThroughput struct {
	BinS       float64     `json:"bin_s"`
	MidS       []float64   `json:"mid_s"`
	TokensPerS [][]float64 `json:"tokens_per_s"`
}

// interactiveHistogram is one scenario's TTFT histogram (ttftHistogram):
// len(EdgesMS)-1 bins shared by all engines, each engine's share of its
// requests per bin, and how many requests that share is of.
type interactiveHistogram struct {
	Scenario string      `json:"scenario"`
	EdgesMS  []float64   `json:"edges_ms"`
	SharePct [][]float64 `json:"share_pct"`
	Count    []int       `json:"count"`
}

// interactiveCDF is one scenario's TTFT CDF per engine (ttftCDF).
type interactiveCDF struct {
	Scenario string      `json:"scenario"`
	TTFTMS   [][]float64 `json:"ttft_ms"`
	Pct      [][]float64 `json:"pct"`
}

// interactiveKind names the interactive chart that takes a static chart's
// place in report.html when scripts run.
var interactiveKind = map[string]string{
	ChartTTFTOverTime:       "ttft_over_run",
	ChartThroughputOverTime: "throughput",
	ChartTTFTHistogram:      "ttft_histogram",
	ChartTTFTCDF:            "ttft_cdf",
	ChartRankingRadar:       "radar",
}

// maxThroughputBins bounds the interactive throughput chart: a run longer
// than this many seconds gets wider bins, whole seconds each.
const maxThroughputBins = 2000

// runInteractive derives the interactive charts' data once per run, from
// the chart data the static charts were drawn from when they were drawn
// first, or from the records.
func runInteractive(run *Run) (*interactiveData, error) {
	run.interactiveOnce.Do(func() {
		d, err := run.chartData, error(nil)
		if d == nil {
			d, err = readChartData(run)
		}
		run.interactive, run.interactiveErr = newInteractiveData(d), err
	})
	return run.interactive, run.interactiveErr
}

func newInteractiveData(d *chartData) *interactiveData {
	out := &interactiveData{Scenarios: d.scenarios}
	engineIdx := map[string]int{}
	scenarioIdx := map[string]int{}
	for i, s := range d.scenarios {
		scenarioIdx[s] = i
	}
	for i, e := range d.engines {
		c := d.colors[e]
		out.Engines = append(out.Engines, interactiveEngine{Name: e, Color: fmt.Sprintf("#%02X%02X%02X", c.R, c.G, c.B)})
		engineIdx[e] = i
	}
	// The run's clock starts at its first measured send.
	origin := int64(math.MaxInt64)
	for _, f := range d.firstSend {
		origin = min(origin, f)
	}
	if origin == math.MaxInt64 {
		return out
	}
	out.TTFT = interactiveTTFTOf(d, origin, engineIdx, scenarioIdx)
	out.Throughput = interactiveThroughputOf(d, origin)
	for _, sc := range d.scenariosWithTTFT() {
		h := d.ttftHistogram(sc)
		out.Histograms = append(out.Histograms, interactiveHistogram{Scenario: sc, EdgesMS: h.edges, SharePct: h.share, Count: h.count})
		c := interactiveCDF{Scenario: sc}
		for _, e := range d.engines {
			x, y := ttftCDF(d.ttft[seriesKey{e, sc}])
			c.TTFTMS, c.Pct = append(c.TTFTMS, x), append(c.Pct, y)
		}
		out.CDFs = append(out.CDFs, c)
	}
	return out
}

func interactiveTTFTOf(d *chartData, origin int64, engineIdx, scenarioIdx map[string]int) *interactiveTTFT {
	type row struct {
		p      runPoint
		engine int
	}
	var rows []row
	t := &interactiveTTFT{}
	for _, e := range d.engines {
		for _, p := range d.runTTFT[e] {
			rows = append(rows, row{p, engineIdx[e]})
		}
		t.Total = append(t.Total, d.runTTFTSeen[e])
		t.Shown = append(t.Shown, len(d.runTTFT[e]))
	}
	if len(rows) == 0 {
		return nil
	}
	// One timeline for every engine: uPlot wants x ascending.
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].p.start < rows[j].p.start })
	for _, r := range rows {
		sc, ok := scenarioIdx[r.p.scenario]
		if !ok {
			sc = -1
		}
		t.StartS = append(t.StartS, math.Round(float64(r.p.start-origin)/1e3)/1e6)
		t.Engine = append(t.Engine, r.engine)
		t.TTFTMS = append(t.TTFTMS, r.p.ttft)
		t.RequestID = append(t.RequestID, r.p.id)
		t.Scenario = append(t.Scenario, sc)
	}
	return t
}

// interactiveThroughputOf adds up each engine's tokens (addTokens, per
// scenario in tokenBin steps) across the run and rates them per bin.
func interactiveThroughputOf(d *chartData, origin int64) *interactiveThroughput {
	perEngine := make([]map[int64]float64, len(d.engines))
	lo, hi := origin/tokenBin, int64(math.MinInt64)
	for i, e := range d.engines {
		for _, sc := range d.scenarios {
			for b, n := range d.tokens[seriesKey{e, sc}] {
				if perEngine[i] == nil {
					perEngine[i] = map[int64]float64{}
				}
				perEngine[i][b] += n
				lo, hi = min(lo, b), max(hi, b)
			}
		}
	}
	if hi == math.MinInt64 {
		return nil
	}
	perSecond := int64(1e9) / tokenBin
	step := perSecond
	if span := hi - lo + 1; span > maxThroughputBins*perSecond {
		step = int64(math.Ceil(float64(span)/float64(maxThroughputBins*perSecond))) * perSecond
	}
	out := &interactiveThroughput{BinS: float64(step*tokenBin) / 1e9}
	for s := lo; s <= hi; s += step {
		n := min(step, hi+1-s)
		out.MidS = append(out.MidS, math.Round(float64(s*tokenBin+n*tokenBin/2-origin)/1e6)/1e3)
	}
	for _, bins := range perEngine {
		if bins == nil {
			out.TokensPerS = append(out.TokensPerS, nil)
			continue
		}
		var rates []float64
		for s := lo; s <= hi; s += step {
			// The last bin may be short: its rate is over what it covers.
			n := min(step, hi+1-s)
			sum := 0.0
			for b := s; b < s+n; b++ {
				sum += bins[b]
			}
			rates = append(rates, sum/(float64(n*tokenBin)/1e9))
		}
		out.TokensPerS = append(out.TokensPerS, rates)
	}
	return out
}
