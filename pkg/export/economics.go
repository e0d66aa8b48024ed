package export

import (
	"fmt"
	"sort"
	"strings"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/economics"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/metric"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/summary"
)

// costs prices each engine at the highest output throughput it reached
// in the run (its most loaded scenario): what its GPUs cost per unit of
// work when it runs as fast as it was measured to.
func costs(run *Run) []economics.Cost {
	best := map[string]summary.Group{}
	for _, g := range run.Summary.Groups {
		if g.Succeeded == 0 || g.WindowS <= 0 {
			continue
		}
		if b, ok := best[g.Engine]; !ok || g.OutputTokensPerS > b.OutputTokensPerS {
			best[g.Engine] = g
		}
	}
	var out []economics.Cost
	for _, e := range engineOrder(run) {
		g, ok := best[e]
		if !ok {
			continue
		}
		p, assumed := run.Manifest.Config.Economics.For(g.Engine, g.EngineType)
		out = append(out, economics.CostAt(g.Engine, g.Scenario, p, assumed, g.RequestsPerS, g.OutputTokensPerS))
	}
	return out
}

// waits are each engine's median time to first word and to whole answer
// in the run's first scenario that measured them (the idle-engine TTFT
// suite when it ran: what one person asking one question feels).
func waits(run *Run) ([]economics.Wait, string) {
	for _, sc := range scenarioOrder(run) {
		var out []economics.Wait
		for _, g := range groupsOf(run, sc) {
			ttft, e2e := g.Metrics[metric.TTFT], g.Metrics[metric.E2E]
			if ttft.Count > 0 && e2e.Count > 0 {
				out = append(out, economics.Wait{Engine: g.Engine, FirstWordMS: ttft.P50, AnswerMS: e2e.P50})
			}
		}
		if len(out) > 0 {
			return out, sc
		}
	}
	return nil, ""
}

// CostRows lays costs out as a table; esc escapes engine names for the
// output format.
func CostRows(costs []economics.Cost, esc func(string) string) ([]string, [][]string) {
	header := []string{"Engine", "GPU price", "At (scenario)", "Req/s", "Output tok/s", "USD per 1,000 requests", "USD per 1M output tokens"}
	var rows [][]string
	for _, c := range costs {
		rows = append(rows, []string{esc(c.Engine), priceText(c.Price, c.Assumed), esc(c.Basis), fmt.Sprintf("%.2f", c.RequestsPerS),
			fmt.Sprintf("%.1f", c.OutputTokensPerS), usdPtr(c.PerThousandRequestsUSD), usdPtr(c.PerMillionTokensUSD)})
	}
	return header, rows
}

// CostNote says what a cost rests on, and which prices were assumed.
func CostNote(costs []economics.Cost) string {
	var assumed []string
	for _, c := range costs {
		if c.Assumed {
			assumed = append(assumed, c.Engine)
		}
	}
	note := "Cost = price per GPU-hour × GPUs ÷ measured throughput; concurrency raises throughput and lowers the cost, so each engine is priced at the scenario where it produced the most tokens per second."
	if len(assumed) > 0 {
		sort.Strings(assumed)
		note += fmt.Sprintf(" * No price was configured for %s: an illustrative %s per GPU-hour is assumed; set economics (e.g. economics: {vllm: {gpu_hour_usd: 4.10, gpus: 1}}) in the config.",
			strings.Join(assumed, ", "), usd(economics.DefaultPrice.GPUHourUSD))
	}
	return note
}

// ImpactRows lays the human-impact estimate out as a table.
func ImpactRows(impacts []economics.Impact, esc func(string) string) ([]string, [][]string) {
	header := []string{"Engine", "First word", "Whole answer", "Minutes waiting a day (each)", "Extra minutes a day vs fastest (all)", "Extra cost a year vs fastest"}
	var rows [][]string
	for _, im := range impacts {
		rows = append(rows, []string{esc(im.Engine), MSText(im.FirstWordMS), MSText(im.AnswerMS), fmt.Sprintf("%.1f", im.MinutesPerDay),
			fmt.Sprintf("%.1f", im.ExtraMinutesPerDay), usd(im.ExtraCostPerYearUSD)})
	}
	return header, rows
}

// ImpactNote states the estimate's inputs, so nobody mistakes it for a
// measurement.
func ImpactNote(h economics.HumanImpact, basis string) string {
	h = h.WithDefaults()
	who := "people"
	if h.People == 1 {
		who = "person"
	}
	s := fmt.Sprintf("An estimate, not a measurement: %g %s × %g AI-assisted interactions a day, each waiting for a whole answer, at %s an hour over %g working days a year (set human_impact in the config).",
		h.People, who, h.InteractionsPerDay, usd(h.HourlyCostUSD), h.WorkingDaysPerYear)
	if basis != "" {
		s += " Waits are the medians of scenario " + basis + "."
	}
	return s
}

// usd formats dollars: cents below $100, whole dollars with thousands
// separators above, four decimals below $1.
func usd(v float64) string {
	switch {
	case v == 0:
		return "$0"
	case v >= 100:
		return "$" + thousands(fmt.Sprintf("%.0f", v))
	case v >= 1:
		return fmt.Sprintf("$%.2f", v)
	}
	return fmt.Sprintf("$%.4f", v)
}

func usdPtr(v *float64) string {
	if v == nil {
		return "–"
	}
	return usd(*v)
}

// priceText is "$2.50 × 1 GPU", starred when assumed.
func priceText(p economics.Price, assumed bool) string {
	s := fmt.Sprintf("%s × %g GPU", usd(p.GPUHourUSD), p.GPUs)
	if assumed {
		s += " *"
	}
	return s
}

// MSText is a latency as people read it: milliseconds, seconds from 1 s.
func MSText(ms float64) string {
	if ms >= 1000 {
		return fmt.Sprintf("%.2f s", ms/1000)
	}
	return fmt.Sprintf("%.0f ms", ms)
}

func thousands(digits string) string {
	var b strings.Builder
	for i, r := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// economicsView is the reports' cost and human-impact section.
type economicsView struct {
	Costs      gridView
	CostNote   string
	Impact     gridView
	ImpactNote string
}

func buildEconomics(run *Run) economicsView {
	var v economicsView
	if costs := costs(run); len(costs) > 0 {
		h, rows := CostRows(costs, mdEscape)
		v.Costs = gridView{Header: h, Right: []bool{false, false, false, true, true, true, true}, Rows: rows}
		v.CostNote = mdEscape(CostNote(costs))
	}
	if waits, basis := waits(run); len(waits) > 1 {
		h, rows := ImpactRows(run.Manifest.Config.HumanImpact.Of(waits), mdEscape)
		v.Impact = gridView{Header: h, Right: []bool{false, true, true, true, true, true}, Rows: rows}
		v.ImpactNote = mdEscape(ImpactNote(run.Manifest.Config.HumanImpact, basis))
	}
	return v
}
