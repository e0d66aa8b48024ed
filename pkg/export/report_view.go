package export

import (
	"fmt"
	"sort"
	"strings"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/metric"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/stats"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/summary"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/verdict"
)

// reportView is everything report.md.tmpl prints. Every string in it is
// Markdown ready to place: text that came from the user, the engines or
// the model has been through mdEscape, so the template never escapes.
type reportView struct {
	Title, Description string
	RunLine            string
	Warnings           []string
	Verdict            verdictView
	// Baseline is the comparison with an earlier run, as Markdown.
	Baseline       string
	Economics      economicsView
	KPIs           []section
	Charts         []chart
	Details        []detailView
	Findings       findingsView
	Errors         errorsView
	Method         methodView
	Command, Fence string
	Definitions    string
}

// gridView is a Markdown table; Right marks numeric columns.
type gridView struct {
	Header []string
	Right  []bool
	Rows   [][]string
}

// Aligns is the table's delimiter row: numeric columns align right.
func (t gridView) Aligns() []string {
	out := make([]string, len(t.Header))
	for i := range out {
		out[i] = "---"
		if i < len(t.Right) && t.Right[i] {
			out[i] = "---:"
		}
	}
	return out
}

// section is a headed table.
type section struct {
	Heading string
	Table   gridView
}

// rowView is one row of a table with a column per engine.
type rowView struct {
	Label string
	Cells []string
}

// engineGrid lays rows out with the engines as columns, so a reader
// compares them along a row.
func engineGrid(gs []summary.Group, rows []rowView) gridView {
	t := gridView{Header: []string{"Metric"}, Right: []bool{false}}
	for _, g := range gs {
		t.Header = append(t.Header, mdEscape(g.Engine))
		t.Right = append(t.Right, true)
	}
	for _, r := range rows {
		t.Rows = append(t.Rows, append([]string{r.Label}, r.Cells...))
	}
	return t
}

type verdictView struct {
	Headline        string
	Wins            []winView
	Unranked        []string
	Targets         []string
	TargetsHeadline string
	SLO             gridView
	SLONotes        []string
	Ranking         gridView
	Capacity        []string
	CapacityLevels  gridView
	LengthTitle     string
	Lengths         []string
	LengthLevels    gridView
}

type winView struct{ Scenario, Metric, Winner, Value, RunnerUp, Margin, Evidence string }

func buildView(run *Run, charts []chart, definitions string) reportView {
	m := run.Manifest
	title := m.Config.Benchmark.Name
	if title == "" {
		title = m.RunID
	}
	v := reportView{
		Title:       mdEscape(title),
		Description: mdEscape(m.Config.Benchmark.Description),
		RunLine:     runLine(run),
		Warnings:    warnings(run),
		Verdict:     buildVerdict(run),
		Baseline:    baselineMarkdown(run),
		Economics:   buildEconomics(run),
		Charts:      charts,
		Findings:    buildFindings(run),
		Errors:      buildErrors(run),
		Method:      buildMethod(run),
		Definitions: definitions,
	}
	for _, sc := range scenarioOrder(run) {
		if gs := groupsOf(run, sc); len(gs) > 0 {
			v.KPIs = append(v.KPIs, kpiTable(run, sc, gs))
			v.Details = append(v.Details, buildDetail(run, sc, gs))
		}
	}
	v.Command = commandLine(m.Command)
	v.Fence = codeFence(v.Command)
	return v
}

// groupsOf returns a scenario's groups in engine order.
func groupsOf(run *Run, scenario string) []summary.Group {
	rank := map[string]int{}
	for i, e := range engineOrder(run) {
		rank[e] = i
	}
	var out []summary.Group
	for _, g := range run.Summary.Groups {
		if g.Scenario == scenario {
			out = append(out, g)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return rank[out[i].Engine] < rank[out[j].Engine] })
	return out
}

func buildVerdict(run *Run) verdictView {
	var v verdictView
	for _, f := range run.Summary.Fastest {
		w := winView{Scenario: mdEscape(f.Scenario), Winner: "**" + mdEscape(f.Engine) + "**", RunnerUp: "–", Margin: "–", Evidence: mdEscape(evidenceText(f))}
		if !f.Won() {
			w.Winner = mdEscape(f.Engine) // a tie is no win: not in bold
		}
		if f.HigherIsBetter {
			w.Metric, w.Value = "Output throughput", fmt.Sprintf("%.1f tok/s", f.Value)
		} else {
			w.Metric, w.Value = metric.Label(f.Metric)+" "+f.Stat, fmt.Sprintf("%.1f ms", f.Value)
		}
		if f.RunnerUp != "" {
			w.RunnerUp = mdEscape(f.RunnerUp)
			dir := "lower"
			if f.HigherIsBetter {
				dir = "higher"
			}
			w.Margin = fmt.Sprintf("%.1f%% %s", f.MarginPct, dir)
		}
		v.Wins = append(v.Wins, w)
	}
	v.Headline = headline(run, run.Summary.Wins())
	for _, g := range run.Summary.Groups {
		if g.Requests > 0 && !verdict.Rankable(g) {
			v.Unranked = append(v.Unranked, fmt.Sprintf("**%s** is not ranked in %s: %.0f%% of its requests failed (more than %.0f%%), so its speed on the rest is no win.",
				mdEscape(g.Engine), mdEscape(g.Scenario), g.ErrorRate*100, verdict.MaxErrorRateToRank*100))
		}
	}
	v.Targets, v.TargetsHeadline = targetVerdicts(run)
	v.SLO, v.SLONotes = sloView(run)
	if len(run.Summary.Ranking) > 1 {
		v.Ranking = rankingView(run.Summary)
	}
	v.Capacity, v.CapacityLevels = capacityView(run.Summary)
	v.LengthTitle, v.Lengths, v.LengthLevels = lengthView(run.Summary)
	return v
}

func headline(run *Run, wins map[string]int) string {
	total := len(run.Summary.Fastest)
	if total == 0 {
		if len(run.Summary.Groups) == 0 {
			return "No request was measured, so there is nothing to compare."
		}
		return "No engine could be compared with another: a comparison needs two engines in a scenario that each answered and failed at most " +
			fmt.Sprintf("%.0f%%", verdict.MaxErrorRateToRank*100) + " of their requests."
	}
	var engines []string
	for _, e := range engineOrder(run) {
		if wins[e] > 0 {
			engines = append(engines, e)
		}
	}
	sort.SliceStable(engines, func(i, j int) bool { return wins[engines[i]] > wins[engines[j]] })
	if len(engines) == 1 {
		return fmt.Sprintf("**%s** was best in all %d comparisons below.", mdEscape(engines[0]), total)
	}
	parts := make([]string, len(engines))
	for i, e := range engines {
		parts[i] = fmt.Sprintf("**%s** %d", mdEscape(e), wins[e])
	}
	return fmt.Sprintf("Best in the %d comparisons below: %s.", total, strings.Join(parts, ", "))
}

// targetVerdicts says, per scenario with a target, who met it.
func targetVerdicts(run *Run) ([]string, string) {
	var lines []string
	met, all := 0, 0
	for _, sc := range scenarioOrder(run) {
		var goal string
		var parts []string
		for _, g := range groupsOf(run, sc) {
			if g.Target == nil {
				continue
			}
			goal = g.Target.Goal.String()
			all++
			if g.Target.Met {
				met++
			}
			parts = append(parts, mdEscape(g.Engine)+" "+targetResult(g.Target))
		}
		if len(parts) > 0 {
			lines = append(lines, fmt.Sprintf("%s, target %s: %s", mdEscape(sc), goal, strings.Join(parts, "; ")))
		}
	}
	switch {
	case all == 0:
		return nil, "No scenario had a latency target."
	case met == all:
		return lines, fmt.Sprintf("Every target was met (%d of %d).", met, all)
	}
	return lines, fmt.Sprintf("**%d of %d targets were missed.**", all-met, all)
}

// targetResult reads a goal's outcome: met or missed, with the value.
func targetResult(t *summary.GoalResult) string {
	val := "too many failures"
	if t.Value != nil {
		val = fmt.Sprintf("%.1f ms", *t.Value)
	}
	if t.Met {
		return "met (" + val + ")"
	}
	return "**missed** (" + val + ")"
}

// kpiTable is the scenario's headline numbers, engines side by side, the
// best value of each row in bold.
func kpiTable(run *Run, sc string, gs []summary.Group) section {
	var rows []rowView
	row := func(label string, cell func(g summary.Group) string) {
		rows = append(rows, cellRow(label, gs, cell))
	}
	row("Requests (ok / sent)", func(g summary.Group) string { return fmt.Sprintf("%d / %d", g.Succeeded, g.Requests) })
	row("Success rate", func(g summary.Group) string {
		if g.Requests == 0 {
			return "–"
		}
		return fmt.Sprintf("%.1f%%", 100*float64(g.Succeeded)/float64(g.Requests))
	})
	for _, m := range []string{metric.TTFT, metric.TPOT, metric.ITL, metric.E2E} {
		for _, p := range []float64{50, 95, 99} {
			r := bestRow(fmt.Sprintf("%s p%g", metric.Label(m), p), gs, false,
				func(g summary.Group) (float64, bool) { st := g.Metrics[m]; return st.At(p), st.Count > 0 },
				func(v float64) string { return fmt.Sprintf("%.1f ms", v) })
			for i, g := range gs {
				r.Cells[i] += ciSuffix(g.Metrics[m], fmt.Sprintf("p%g", p))
			}
			rows = append(rows, r)
		}
	}
	rows = append(rows, bestRow("Output throughput", gs, true,
		func(g summary.Group) (float64, bool) { return g.OutputTokensPerS, g.WindowS > 0 },
		func(v float64) string { return fmt.Sprintf("%.1f tok/s", v) }))
	rows = append(rows, bestRow("Request throughput", gs, true,
		func(g summary.Group) (float64, bool) { return g.RequestsPerS, g.WindowS > 0 },
		func(v float64) string { return fmt.Sprintf("%.2f req/s", v) }))
	for _, g := range gs {
		if g.SLO != nil {
			row("Within SLO ("+mdEscape(g.SLO.SLO.String())+")", func(g summary.Group) string {
				if g.SLO == nil {
					return "–"
				}
				return fmt.Sprintf("%.1f%% %s", g.SLO.Attainment*100, map[bool]string{true: "(met)", false: "(**missed**)"}[g.SLO.Met])
			})
			row("Goodput", func(g summary.Group) string {
				if g.SLO == nil {
					return "–"
				}
				return fmt.Sprintf("%.2f req/s, %.1f tok/s", g.SLO.GoodputRequestsPerS, g.SLO.GoodputTokensPerS)
			})
			break
		}
	}
	for _, g := range gs {
		if g.Target != nil {
			row("Target "+g.Target.Goal.String(), func(g summary.Group) string {
				if g.Target == nil {
					return "–"
				}
				return targetResult(g.Target)
			})
			break
		}
	}
	return section{Heading: scenarioHeading(run, sc), Table: engineGrid(gs, rows)}
}

func cellRow(label string, gs []summary.Group, cell func(g summary.Group) string) rowView {
	r := rowView{Label: label}
	for _, g := range gs {
		r.Cells = append(r.Cells, cell(g))
	}
	return r
}

// bestRow formats one value per engine and bolds the best among the
// engines that are ranked, when there are two or more to compare.
func bestRow(label string, gs []summary.Group, higher bool, value func(summary.Group) (float64, bool), format func(float64) string) rowView {
	r := rowView{Label: label, Cells: make([]string, len(gs))}
	best, bestV, n := -1, 0.0, 0
	for i, g := range gs {
		v, ok := value(g)
		if !ok {
			r.Cells[i] = "–"
			continue
		}
		r.Cells[i] = format(v)
		if !verdict.Rankable(g) {
			continue
		}
		n++
		if best < 0 || (higher && v > bestV) || (!higher && v < bestV) {
			best, bestV = i, v
		}
	}
	if n >= 2 {
		r.Cells[best] = "**" + r.Cells[best] + "**"
	}
	return r
}

// ciSuffix is " [lo–hi]", the 95% interval of a percentile, or " *" when
// there are too few samples for one.
func ciSuffix(st stats.Stats, name string) string {
	if st.Count == 0 {
		return ""
	}
	if ci, ok := st.CI95[name]; ok {
		return fmt.Sprintf(" [%.1f–%.1f]", ci.Lo, ci.Hi)
	}
	return " \\*"
}

// baselineMarkdown is the comparison section; its names are escaped by
// WriteDiffMarkdown.
func baselineMarkdown(run *Run) string {
	if run.Baseline == nil {
		return ""
	}
	var b strings.Builder
	if err := writeDiffMarkdown(&b, *run.Baseline); err != nil {
		return ""
	}
	return b.String()
}
