package export

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/johnfercher/maroto/v2"
	"github.com/johnfercher/maroto/v2/pkg/components/col"
	"github.com/johnfercher/maroto/v2/pkg/components/image"
	"github.com/johnfercher/maroto/v2/pkg/components/line"
	"github.com/johnfercher/maroto/v2/pkg/components/page"
	"github.com/johnfercher/maroto/v2/pkg/components/row"
	"github.com/johnfercher/maroto/v2/pkg/components/text"
	"github.com/johnfercher/maroto/v2/pkg/config"
	"github.com/johnfercher/maroto/v2/pkg/consts/align"
	"github.com/johnfercher/maroto/v2/pkg/consts/extension"
	"github.com/johnfercher/maroto/v2/pkg/consts/fontstyle"
	"github.com/johnfercher/maroto/v2/pkg/core"
	"github.com/johnfercher/maroto/v2/pkg/core/entity"
	"github.com/johnfercher/maroto/v2/pkg/props"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/metric"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/reconcile"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/stats"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

// pdfFile is the executive report inside a run folder.
const pdfFile = "report.pdf"

var (
	pdfGreen = &props.Color{Red: 46, Green: 160, Blue: 67}
	pdfRed   = &props.Color{Red: 207, Green: 34, Blue: 46}
	pdfGrey  = &props.Color{Red: 140, Green: 140, Blue: 140}
	pdfHead  = &props.Color{Red: 36, Green: 41, Blue: 47}
	pdfShade = &props.Color{Red: 240, Green: 242, Blue: 245}
)

// writePDF writes report.pdf: a cover with the verdict, a KPI scorecard with
// traffic lights against the targets, the key charts, the recommendation and
// risks in plain words, and a methodology appendix. Its text is real text,
// so it can be searched and copied.
func writePDF(dir string, run *Run) error {
	b, err := renderPDF(run)
	if b == nil {
		return err
	}
	if werr := writeFileAtomic(filepath.Join(dir, pdfFile), b); werr != nil {
		return werr
	}
	return err
}

// renderPDF returns the PDF's bytes.
func renderPDF(run *Run) ([]byte, error) {
	// A chart that failed is left out and reported after the PDF is
	// made; the brief matters more than one figure.
	charts, chartErr := runCharts(run)
	m := maroto.New(pdfConfig(run))
	br := buildBrief(run)
	addCover(m, run, br)
	addScorecard(m, run)
	addEconomics(m, run)
	addCharts(m, charts)
	addTimeWent(m, run)
	addRisks(m, br)
	addMethodology(m, run)
	doc, err := m.Generate()
	if err != nil {
		return nil, fmt.Errorf("rendering the PDF: %w", err)
	}
	return pinModDate(doc.GetBytes()), chartErr
}

var (
	creationDate = regexp.MustCompile(`/CreationDate \(D:(\d{14})\)`)
	modDate      = regexp.MustCompile(`/ModDate \(D:\d{14}\)`)
)

// pinModDate sets the modification date, which the PDF library stamps from
// the clock, to the creation date (the run's start): regenerating a report
// does not pretend the run changed. Both stamps have the same length, so
// the file's cross-reference offsets stay valid. (Image object names are
// random in the PDF library, so the bytes still differ between renders; the
// text does not.)
func pinModDate(b []byte) []byte {
	c := creationDate.FindSubmatch(b)
	if c == nil {
		return b
	}
	return modDate.ReplaceAll(b, []byte("/ModDate (D:"+string(c[1])+")"))
}

func pdfConfig(run *Run) *entity.Config {
	created, err := time.Parse(time.RFC3339Nano, run.Manifest.StartedAt)
	if err != nil {
		created = time.Unix(0, 0).UTC()
	}
	// The run's own start time, not the clock: the same journal gives the
	// same document.
	return config.NewBuilder().
		WithLeftMargin(15).WithTopMargin(15).WithRightMargin(15).
		WithPageNumber(props.PageNumber{Pattern: "Page {current} of {total}", Place: props.RightBottom, Size: 8, Color: pdfGrey}).
		WithTitle(pdfSafe("LLM inference benchmark "+run.Manifest.RunID), true).
		WithCreator("kubectl-llmbench "+run.Manifest.ToolVersion, true).
		WithCreationDate(created).
		Build()
}

// heading starts a section, on a new page when less than keep millimetres
// are left, so a title never ends a page alone.
func heading(m core.Maroto, s string, keep ...float64) {
	need := 45.0
	if len(keep) > 0 {
		need = keep[0]
	}
	if !m.FitlnCurrentPage(need) {
		m.AddPages(page.New())
	}
	m.AddRows(text.NewRow(11, pdfSafe(s), props.Text{Top: 3, Size: 13, Style: fontstyle.Bold, Color: pdfHead}))
	m.AddRows(line.NewRow(2, props.Line{Color: pdfShade}))
}

func para(m core.Maroto, s string, ps ...props.Text) {
	p := props.Text{Size: 10, Top: 1, Bottom: 1}
	if len(ps) > 0 {
		p = ps[0]
	}
	m.AddRows(text.NewAutoRow(pdfSafe(s), p))
}

func bullet(m core.Maroto, s string) {
	m.AddAutoRow(
		text.NewCol(1, "-", props.Text{Size: 10, Top: 1, Align: align.Right}),
		text.NewCol(11, pdfSafe(s), props.Text{Size: 10, Top: 1, Bottom: 1, Left: 2}),
	)
}

func addCover(m core.Maroto, run *Run, br brief) {
	man := run.Manifest
	m.AddRows(text.NewRow(16, "LLM inference benchmark", props.Text{Size: 22, Style: fontstyle.Bold, Color: pdfHead}))
	sub := man.Config.Benchmark.Name
	if d := man.Config.Benchmark.Description; d != "" {
		sub += ": " + d
	}
	para(m, sub, props.Text{Size: 11, Color: pdfGrey, Bottom: 2})
	para(m, fmt.Sprintf("Run %s, %s, status %s.", man.RunID, timeSpan(man.StartedAt, man.EndedAt), man.Status), props.Text{Size: 9, Color: pdfGrey, Bottom: 4})
	heading(m, "Verdict")
	para(m, br.Verdict, props.Text{Size: 13, Style: fontstyle.Bold, Top: 2, Bottom: 3})
	for _, r := range br.Reasons {
		bullet(m, r)
	}
	heading(m, "Engines compared")
	for _, t := range man.Targets {
		desc := fmt.Sprintf("%s (%s", t.Target.Name, t.Target.Type)
		if t.Info.Version != "" {
			desc += " " + t.Info.Version
		}
		desc += fmt.Sprintf("), model %s, via %s", t.Target.Model, t.Target.Access)
		if t.Error != "" {
			desc += ": not benchmarked, " + t.Error
		}
		bullet(m, desc)
	}
	if c := man.Cluster; c != nil {
		for _, e := range c.Engines {
			bullet(m, fmt.Sprintf("%s runs as %s/%s (%s) on %s, GPU: %s.", e.Target, e.Namespace, e.Service, e.Image, strings.Join(e.Nodes, ", "), gpuText(e)))
		}
		for _, n := range accessNotes(c) {
			para(m, n, props.Text{Size: 9, Color: pdfGrey, Top: 2, Bottom: 1})
		}
	}
	if lf := man.LoadFrom; lf != nil {
		for _, l := range loadFromText(lf) {
			para(m, l, props.Text{Size: 9, Color: pdfGrey, Top: 2, Bottom: 1})
		}
		for _, w := range loadWarningsText(lf) {
			para(m, w, props.Text{Size: 9, Top: 1, Bottom: 1})
		}
	}
}

func addScorecard(m core.Maroto, run *Run) {
	heading(m, "Scorecard")
	para(m, "Medians (p50) and tails (p95) of successful requests; the last column is each scenario's target, green when met.", props.Text{Size: 9, Color: pdfGrey, Bottom: 2})
	cols := []string{"Scenario", "Engine", "TTFT p50", "TTFT p95", "TPOT p50", "E2E p95", "Tok/s", "Success", "Target"}
	sizes := []int{2, 1, 1, 1, 1, 1, 1, 1, 3}
	var header []core.Col
	for i, c := range cols {
		header = append(header, text.NewCol(sizes[i], c, props.Text{Size: 8, Style: fontstyle.Bold, Top: 1.5, Color: &props.WhiteColor}))
	}
	m.AddRows(row.New(7).Add(header...).WithStyle(&props.Cell{BackgroundColor: pdfHead}))
	for _, g := range run.Summary.Groups {
		success := "-"
		if g.Requests > 0 {
			success = fmt.Sprintf("%.1f%%", float64(g.Succeeded)/float64(g.Requests)*100)
		}
		cells := []string{g.Scenario, g.Engine, pdfMS(g.Metrics[metric.TTFT], 50), pdfMS(g.Metrics[metric.TTFT], 95),
			pdfMS(g.Metrics[metric.TPOT], 50), pdfMS(g.Metrics[metric.E2E], 95), fmt.Sprintf("%.0f", g.OutputTokensPerS), success}
		var rc []core.Col
		for j, c := range cells {
			rc = append(rc, text.NewCol(sizes[j], pdfSafe(c), props.Text{Size: 8, Top: 1.5}))
		}
		status, colour := "no target", pdfGrey
		if g.Target != nil {
			status, colour = "MISSED "+g.Target.Goal.String(), pdfRed
			if g.Target.Met {
				status, colour = "met "+g.Target.Goal.String(), pdfGreen
			} else if g.Failed > 0 {
				// Failures count as misses, so say why a fast p95 missed.
				status += fmt.Sprintf(" (%d/%d failed)", g.Failed, g.Requests)
			}
		}
		rc = append(rc, col.New(sizes[8]).Add(text.New(pdfSafe(status), props.Text{Size: 8, Top: 1.5, Style: fontstyle.Bold, Color: &props.WhiteColor})).
			WithStyle(&props.Cell{BackgroundColor: colour}))
		m.AddRows(row.New(7).Add(rc...))
		m.AddRows(line.NewRow(0.5, props.Line{Color: pdfShade}))
	}
}

// addEconomics is what the engines cost at their measured throughput and
// what their waits cost the people using them, with the inputs stated.
func addEconomics(m core.Maroto, run *Run) {
	costs := costs(run)
	if len(costs) == 0 {
		return
	}
	header, rows := CostRows(costs, func(s string) string { return s })
	// The heading keeps the whole table and its note on one page.
	heading(m, "Cost at measured throughput", tableHeight(rows)+16)
	pdfTable(m, header, rows, []int{2, 2, 2, 1, 1, 2, 2})
	para(m, CostNote(costs), props.Text{Size: 8, Color: pdfGrey, Top: 1, Bottom: 2})
	waits, basis := waits(run)
	if len(waits) < 2 {
		return
	}
	h := run.Manifest.Config.HumanImpact
	header, rows = ImpactRows(h.Of(waits), func(s string) string { return s })
	heading(m, "Human impact (estimate)", tableHeight(rows)+16)
	pdfTable(m, header, rows, []int{2, 2, 2, 2, 2, 2})
	para(m, ImpactNote(h, basis), props.Text{Size: 8, Color: pdfGrey, Top: 1, Bottom: 2})
}

// addTimeWent is each engine's mean TTFT split by its own metrics into
// the network and client, its queue, its prefill and the rest, with its
// GPUs' utilisation where a DCGM exporter was scraped.
func addTimeWent(m core.Maroto, run *Run) {
	header, rows := timeWentRows(run.Summary.EngineMetrics)
	if len(rows) == 0 {
		return
	}
	heading(m, "Where the time went", tableHeight(rows)+22)
	para(m, "Each engine's mean time to first token, split by the engine's own /metrics over the same window: the network and client (client TTFT minus the engine's), queueing in the engine, prefill, and its other work before the first token. Shares are of the client's mean.", props.Text{Size: 9, Color: pdfGrey, Bottom: 2})
	pdfTable(m, header, rows, []int{1, 1, 1, 2, 2, 2, 1, 2})
}

// timeWentRows are the breakdown's rows, one per reconciled window.
func timeWentRows(ws []reconcile.Window) ([]string, [][]string) {
	header := []string{"Engine", "Scenario", "Mean TTFT", "Network and client", "Queue", "Prefill", "Other", "GPU busy (mean)"}
	var rows [][]string
	for _, w := range ws {
		b := w.Breakdown
		if w.Unavailable != "" || b == nil {
			continue
		}
		part := map[string]string{}
		for _, p := range b.Parts {
			part[p.Name] = fmt.Sprintf("%.0f%% (%.1f ms)", p.Share*100, p.MS)
		}
		cell := func(name string) string {
			if v, ok := part[name]; ok {
				return v
			}
			return "-"
		}
		gpu := "-"
		if g, ok := w.GPUGauge(reconcile.GPUUtil); ok {
			gpu = fmt.Sprintf("%.0f%% of %d GPU(s)", g.Mean, w.GPUs)
		}
		rows = append(rows, []string{w.Engine, w.Scenario, fmt.Sprintf("%.1f ms", b.ClientTTFTMS), cell("network_client"), cell("queue"), cell("prefill"), cell("other_server"), gpu})
	}
	return header, rows
}

// tableHeight is what pdfTable takes, in mm.
func tableHeight(rows [][]string) float64 { return 9 + 7.5*float64(len(rows)) }

// pdfTable draws a header row and rows of text cells.
func pdfTable(m core.Maroto, header []string, rows [][]string, sizes []int) {
	var hc []core.Col
	for i, c := range header {
		hc = append(hc, text.NewCol(sizes[i], pdfSafe(c), props.Text{Size: 7, Style: fontstyle.Bold, Top: 1, Color: &props.WhiteColor}))
	}
	m.AddRows(row.New(9).Add(hc...).WithStyle(&props.Cell{BackgroundColor: pdfHead}))
	for _, r := range rows {
		var rc []core.Col
		for i, c := range r {
			rc = append(rc, text.NewCol(sizes[i], pdfSafe(c), props.Text{Size: 8, Top: 1.5}))
		}
		m.AddRows(row.New(7).Add(rc...))
		m.AddRows(line.NewRow(0.5, props.Line{Color: pdfShade}))
	}
}

func pdfMS(s stats.Stats, p float64) string {
	if s.Count == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f ms", s.At(p))
}

// keyCharts are the figures an executive needs; the HTML report has all.
var keyCharts = map[string]bool{chartTTFTBox: true, ChartPercentiles: true, ChartComparison: true, ChartThroughputVsLoad: true, ChartLengths: true}

func addCharts(m core.Maroto, charts []chart) {
	first := true
	for _, c := range charts {
		if !keyCharts[c.ID] || len(c.PNG) == 0 {
			continue
		}
		if first {
			heading(m, "Key charts", 105)
			first = false
		}
		// Title and figure share one row so a page break never separates
		// them.
		if !m.FitlnCurrentPage(92) {
			m.AddPages(page.New())
		}
		m.AddRows(row.New(90).Add(col.New(12).Add(
			text.New(pdfSafe(c.Title), props.Text{Size: 10, Style: fontstyle.Bold, Top: 2}),
			image.NewFromBytes(c.PNG, extension.Png, props.Rect{Top: 9, Left: 5, Percent: 88}),
		)))
		if c.Caption != "" {
			para(m, c.Caption, props.Text{Size: 8, Color: pdfGrey, Bottom: 2})
		}
	}
}

func addRisks(m core.Maroto, br brief) {
	heading(m, "Recommendation")
	para(m, br.Recommendation, props.Text{Size: 11, Style: fontstyle.Bold, Top: 2, Bottom: 2})
	heading(m, "Risks and caveats")
	for _, r := range br.Risks {
		bullet(m, r)
	}
}

func addMethodology(m core.Maroto, run *Run) {
	man := run.Manifest
	heading(m, "Methodology")
	para(m, fmt.Sprintf("Measured by kubectl-llmbench %s from %s (%s/%s, %d CPUs), %s. Every latency is timed on the client's monotonic clock from the moment the request was sent; failed requests never enter latency statistics, but count as misses against a target.",
		man.ToolVersion, man.Host.Hostname, man.Host.OS, man.Host.Arch, man.Host.CPUs, timeSpan(man.StartedAt, man.EndedAt)))
	para(m, "TTFT: time to the first generated token (never a role-only or empty chunk). TPOT: (E2E - TTFT) / (output tokens - 1). E2E: time to the end of the stream. Tok/s: output tokens per second over the measured window. Full definitions: docs/metrics.md and report.html.", props.Text{Size: 9, Top: 1, Bottom: 2})
	for _, s := range man.Scenarios {
		shape := string(s.Arrival)
		switch s.Arrival {
		case workload.ArrivalClosed:
			shape = fmt.Sprintf("closed loop of %d users, think time %s", s.Concurrency, s.ThinkTime)
		case workload.ArrivalConstant, workload.ArrivalPoisson:
			shape = fmt.Sprintf("open loop, %s arrivals at %g requests/s", s.Arrival, s.Rate)
		case workload.ArrivalSequential:
			shape = fmt.Sprintf("sequential, %d requests after %d warm-up", s.Requests, s.WarmupRequests)
		case workload.ArrivalTrace:
			shape = traceText(s)
		}
		bullet(m, fmt.Sprintf("%s: %s, %d output tokens requested.", s.Name, shape, s.MaxTokens))
	}
	para(m, "Reproduce with: "+commandLine(man.Command), props.Text{Size: 8, Top: 2, Family: "courier"})
}
