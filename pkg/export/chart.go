package export

import (
	"errors"
	"fmt"
)

// chart is one figure of a report: SVG for the self-contained HTML page,
// PNG for report.md (and the PDF). The same run always gives the same
// bytes: nothing in a chart depends on the clock or on map order.
type chart struct {
	// ID names the figure and its file: charts/<ID>.png.
	ID      string
	Title   string
	Caption string
	SVG     []byte
	PNG     []byte
	// HTMLSVG, when set, stands for SVG in report.html: a figure drawn
	// by hand so that it carries hover titles and legend hooks
	// (chart_radar.go).
	HTMLSVG []byte
}

// File is where WriteMarkdown puts the PNG, relative to report.md.
func (c chart) File() string { return ChartsDir + "/" + c.ID + ".png" }

// Chart IDs, in the order reports show them.
const (
	chartTTFTBox          = "ttft_box"
	ChartTTFTHistogram    = "ttft_histogram"
	ChartPercentiles      = "latency_percentiles"
	ChartTTFTOverTime     = "ttft_over_time"
	ChartThroughputVsLoad = "throughput_vs_load"
	ChartComparison       = "comparison"
	ChartCapacity         = "capacity"
	ChartLengths          = "length_sweep"
	ChartTurns            = "ttft_by_turn"
	ChartTTFTCDF          = "ttft_cdf"
	ChartRankingRadar     = "ranking_radar"
)

// chartBuilder makes one figure, or nothing when the run has no data for
// it (no successful request, a single scenario for a load curve).
type chartBuilder func(d *chartData) (*figure, chart, error)

// charts renders every figure the run has data for. Engines keep one
// colour across all figures and all outputs (EngineColor, by manifest
// order). A figure that fails to draw is left out and named in the error,
// and the others are still returned: one broken chart must not cost a
// report.
func charts(run *Run) ([]chart, error) {
	return drawCharts(readChartData(run))
}

func readChartData(run *Run) (*chartData, error) {
	d, err := newChartData(run)
	if err != nil {
		// The figures of the summary alone can still be drawn.
		err = fmt.Errorf("reading the requests for the charts: %w", err)
	}
	d.ranking = run.Summary.Ranking
	return d, err
}

func drawCharts(d *chartData, err error) ([]chart, error) {
	builders := []chartBuilder{ttftBoxChart, ttftHistogramChart, ttftCDFChart, percentileChart,
		ttftOverTimeChart, throughputOverTimeChart, engineQueueChart, kvCacheChart, gpuChart, throughputVsLoadChart, capacityChart, lengthChart, turnsChart, comparisonChart, rankingRadarChart}
	var out []chart
	errs := []error{err}
	for _, build := range builders {
		fig, c, err := build(d)
		if err != nil {
			errs = append(errs, fmt.Errorf("drawing chart %s: %w", c.ID, err))
			continue
		}
		if fig == nil {
			continue
		}
		if c.SVG, c.PNG, err = fig.render(); err != nil {
			errs = append(errs, fmt.Errorf("rendering chart %s: %w", c.ID, err))
			continue
		}
		out = append(out, c)
	}
	return out, errors.Join(errs...)
}

// runCharts draws a run's charts on first use and returns the same ones to
// every later writer: drawing is the slow part of writing the reports.
func runCharts(run *Run) ([]chart, error) {
	run.chartsOnce.Do(func() {
		d, err := readChartData(run)
		run.chartData = d
		run.charts, run.chartsErr = drawCharts(d, err)
	})
	return run.charts, run.chartsErr
}
