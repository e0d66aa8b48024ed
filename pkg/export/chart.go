package export

import (
	"fmt"
)

// Chart is one figure of a report: SVG for the self-contained HTML page,
// PNG for report.md (and the PDF). The same run always gives the same
// bytes: nothing in a chart depends on the clock or on map order.
type Chart struct {
	// ID names the figure and its file: charts/<ID>.png.
	ID      string
	Title   string
	Caption string
	SVG     []byte
	PNG     []byte
}

// File is where WriteMarkdown puts the PNG, relative to report.md.
func (c Chart) File() string { return ChartsDir + "/" + c.ID + ".png" }

// Chart IDs, in the order reports show them.
const (
	ChartTTFTBox          = "ttft_box"
	ChartTTFTHistogram    = "ttft_histogram"
	ChartPercentiles      = "latency_percentiles"
	ChartTTFTOverTime     = "ttft_over_time"
	ChartThroughputVsLoad = "throughput_vs_load"
	ChartComparison       = "comparison"
)

// chartBuilder makes one figure, or nothing when the run has no data for
// it (no successful request, a single scenario for a load curve).
type chartBuilder func(d *chartData) (*figure, Chart, error)

// Charts renders every figure the run has data for. Engines keep one
// colour across all figures and all outputs (EngineColor, by manifest
// order).
func Charts(run *Run) ([]Chart, error) {
	d := newChartData(run)
	builders := []chartBuilder{ttftBoxChart, ttftHistogramChart, percentileChart,
		ttftOverTimeChart, throughputVsLoadChart, comparisonChart}
	var out []Chart
	for _, build := range builders {
		fig, c, err := build(d)
		if err != nil {
			return nil, fmt.Errorf("drawing chart %s: %w", c.ID, err)
		}
		if fig == nil {
			continue
		}
		if c.SVG, c.PNG, err = fig.render(); err != nil {
			return nil, fmt.Errorf("rendering chart %s: %w", c.ID, err)
		}
		out = append(out, c)
	}
	return out, nil
}
