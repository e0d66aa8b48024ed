package export

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/metric"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/reconcile"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/stats"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/summary"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/verdict"
)

// WriteTable prints one table per scenario (engines as rows) and the
// fastest engine per metric with its margin over the runner-up.
func WriteTable(w io.Writer, s verdict.Summary) error {
	var scenarios []string
	seen := map[string]bool{}
	for _, g := range s.Groups {
		if !seen[g.Scenario] {
			seen[g.Scenario] = true
			scenarios = append(scenarios, g.Scenario)
		}
	}
	// A sweep's levels are read in the capacity table, not one by one.
	levels := map[string]bool{}
	for _, c := range s.Capacity {
		for _, l := range c.Levels {
			levels[l.Scenario] = true
		}
	}
	for _, ls := range s.Lengths {
		for _, l := range ls.Levels {
			levels[l.Scenario] = true
		}
	}
	for _, sc := range scenarios {
		if levels[sc] {
			continue
		}
		fmt.Fprintf(w, "\nScenario %s\n", sc)
		t := NewTable(w)
		withSLO := false
		for _, g := range s.Groups {
			withSLO = withSLO || (g.Scenario == sc && g.SLO != nil)
		}
		header := []any{"Engine", "OK/Sent", "TTFT p50", "TTFT p95", "TPOT p50", "ITL p50", "E2E p50", "E2E p95", "Tok/s", "Req/s", "Target"}
		if withSLO {
			header = append(header, "SLO")
		}
		t.Header(header...)
		for _, g := range s.Groups {
			if g.Scenario != sc {
				continue
			}
			m := g.Metrics
			row := []any{g.Engine, fmt.Sprintf("%d/%d", g.Succeeded, g.Requests),
				msCell(m[metric.TTFT], 50), msCell(m[metric.TTFT], 95),
				msCell(m[metric.TPOT], 50), msCell(m[metric.ITL], 50),
				msCell(m[metric.E2E], 50), msCell(m[metric.E2E], 95),
				fmt.Sprintf("%.1f", g.OutputTokensPerS), fmt.Sprintf("%.2f", g.RequestsPerS), targetCell(g)}
			if withSLO {
				row = append(row, sloCell(g))
			}
			if err := t.Append(row...); err != nil {
				return err
			}
		}
		if err := t.Render(); err != nil {
			return err
		}
		if line := ciLine(s, sc); line != "" {
			fmt.Fprintln(w, line)
		}
		if unresolvedShown(s, sc) {
			fmt.Fprintf(w, "  * too few samples for a 95%% confidence interval (p95 needs %d): close to the slowest request, not a stable p95\n", stats.MinSamples(95))
		}
		for _, g := range s.Groups {
			if g.Scenario == sc {
				writeNotes(w, g)
			}
		}
	}
	if len(s.Findings) > 0 {
		fmt.Fprintln(w, "\nFindings")
		for _, f := range s.Findings {
			fmt.Fprintf(w, "  - %s\n", f.Message)
		}
	}
	writeEngineMetrics(w, s)
	if len(s.Fastest) > 0 {
		fmt.Fprintln(w, "\nFastest engine per metric")
		t := NewTable(w)
		t.Header("Scenario", "Metric", "Winner", "Value", "Runner-up", "Margin", "Evidence")
		for _, f := range s.Fastest {
			val := fmt.Sprintf("%.1f ms", f.Value)
			label := f.Metric + " " + f.Stat
			if f.HigherIsBetter {
				val = fmt.Sprintf("%.1f tok/s", f.Value)
				label = "output tokens/s"
			}
			margin := "–"
			if f.RunnerUp != "" {
				if f.HigherIsBetter {
					margin = fmt.Sprintf("%.1f%% higher", f.MarginPct)
				} else {
					margin = fmt.Sprintf("%.1f%% lower", f.MarginPct)
				}
			}
			if err := t.Append(f.Scenario, label, f.Engine, val, dash(f.RunnerUp), margin, evidenceText(f)); err != nil {
				return err
			}
		}
		if err := t.Render(); err != nil {
			return err
		}
	}
	if err := writeCapacity(w, s); err != nil {
		return err
	}
	if err := writeLengths(w, s); err != nil {
		return err
	}
	if len(s.Ranking) > 1 {
		return writeRanking(w, s)
	}
	return nil
}

func writeNotes(w io.Writer, g summary.Group) {
	for _, n := range groupNotes(g, true) {
		fmt.Fprintf(w, "  %s: %s\n", g.Engine, n)
	}
}

// groupNotes says in words what a group's numbers alone would hide. The
// terminal table and the reports state the same facts in the same words;
// the reports show error examples in their own section, so they leave them
// out here.
func groupNotes(g summary.Group, examples bool) []string {
	var notes []string
	if g.Failed > 0 {
		classes := make([]string, 0, len(g.Errors))
		for class := range g.Errors {
			classes = append(classes, class)
		}
		sort.Strings(classes)
		var parts []string
		for _, class := range classes {
			parts = append(parts, fmt.Sprintf("%s×%d", class, g.Errors[class]))
		}
		notes = append(notes, fmt.Sprintf("%d failed (%s)", g.Failed, strings.Join(parts, ", ")))
		for _, class := range classes {
			if ex := g.ErrorExamples[class]; ex != "" && examples {
				// Server text: no control characters reach the terminal.
				notes = append(notes, fmt.Sprintf("  e.g. %s: %s", class, Truncate(oneLine(ex), 200)))
			}
		}
		if !verdict.Rankable(g) {
			notes = append(notes, fmt.Sprintf("not ranked among the fastest: %.0f%% of its requests failed", g.ErrorRate*100))
		}
	}
	for _, m := range sloMisses(g.SLO) {
		notes = append(notes, "SLO missed: "+m)
	}
	notes = append(notes, loadNotes(g)...)
	if c := g.ColdStart; c != nil {
		notes = append(notes, fmt.Sprintf("%d cold start(s) (model load up to %.0f ms) kept out of the latency columns", c.Count, c.LoadMS.Max))
	}
	if rc := g.Reconciliation; rc != nil {
		notes = append(notes, fmt.Sprintf("server-side TTFT p50 %.1f ms vs client %.1f ms (residual p50 %.1f ms, server wait p50 %.1f ms); decode %.0f tok/s at the client vs %.0f tok/s in the server (×%.2f)",
			rc.ServerTTFTMS.P50, rc.ClientTTFTMS.P50, rc.TTFTResidualMS.P50, rc.ServerWaitMS.P50,
			rc.ClientDecodeTokensPerS.P50, rc.ServerDecodeTokensPerS.P50, rc.DecodeRateRatio))
	}
	return notes
}

// maxTurnsShown bounds the turns a note lists; summary.json has them all.
const maxTurnsShown = 12

// loadNotes are the facts about how a group's requests were sent and
// counted that its latency columns do not show; the terminal, the
// reports' details and their methodology say them in these words.
func loadNotes(g summary.Group) []string {
	var notes []string
	if g.OutputMismatch > 0 {
		notes = append(notes, fmt.Sprintf("%d returned a different number of tokens than requested (a natural stop the engine cannot ignore, or a model limit)", g.OutputMismatch))
	}
	if len(g.ByTurn) > 0 {
		var parts []string
		for i, t := range g.ByTurn {
			if i == maxTurnsShown {
				parts = append(parts, "…")
				break
			}
			parts = append(parts, fmt.Sprintf("%d: %s (%.0f tokens)", t.Turn, MSText(t.TTFT.P50), t.PromptTokensMean))
		}
		notes = append(notes, "TTFT p50 by turn of the conversations (the history the engine counted): "+strings.Join(parts, ", "))
	}
	if c, ok := g.Metrics[metric.CachedTokens]; ok && c.Count > 0 {
		hit, miss := g.Metrics[metric.TTFTPrefixHit], g.Metrics[metric.TTFTPrefixMiss]
		note := fmt.Sprintf("prefix cache (as the engine reports it): %d of %d requests were served part of their prompt from it, %.0f tokens on average", hit.Count, hit.Count+miss.Count, c.Mean)
		if hit.Count > 0 && miss.Count > 0 {
			note += fmt.Sprintf("; TTFT p50 %s with a hit, %s without", MSText(hit.P50), MSText(miss.P50))
		}
		notes = append(notes, note)
	}
	if g.PromptMismatch > 0 {
		notes = append(notes, fmt.Sprintf("%d prompts counted more than 1%% away from the --input-tokens length asked for (prompt_mismatch in the journal; see the manifest's prompt_calibration)", g.PromptMismatch))
	}
	if g.TokensEstimated > 0 {
		notes = append(notes, fmt.Sprintf("%d had no server token count (chunks counted)", g.TokensEstimated))
	}
	if g.ClientQueued > 0 {
		notes = append(notes, fmt.Sprintf("%d waited for the client's concurrency cap", g.ClientQueued))
	}
	if g.Dropped > 0 {
		notes = append(notes, fmt.Sprintf("%d arrivals never sent: the client's concurrency cap was full (cap_policy drop) or still full when the scenario ended; the offered rate exceeds what the cap lets through", g.Dropped))
	}
	if g.Canceled > 0 {
		notes = append(notes, fmt.Sprintf("%d cancelled by the user (Ctrl-C), not counted", g.Canceled))
	}
	if lag, ok := g.Metrics[metric.ScheduleLag]; ok && lag.P99 > 10 {
		notes = append(notes, fmt.Sprintf("schedule lag p99 %.1f ms: requests left late, so users waited longer than the columns show: from arrival, TTFT p95 %.1f ms and E2E p95 %.1f ms",
			lag.P99, g.Metrics[metric.TTFTFromArrival].P95, g.Metrics[metric.E2EFromArrival].P95))
	}
	return notes
}

func msCell(s stats.Stats, p float64) string {
	if s.Count == 0 {
		return "–"
	}
	v := s.At(p)
	if math.IsNaN(v) {
		return "–"
	}
	if !s.Resolved(fmt.Sprintf("p%g", p)) && p > 50 {
		return fmt.Sprintf("%.1f ms*", v)
	}
	return fmt.Sprintf("%.1f ms", v)
}

// unresolvedShown: does the scenario's table show a starred percentile?
func unresolvedShown(s verdict.Summary, sc string) bool {
	for _, g := range s.Groups {
		if g.Scenario != sc {
			continue
		}
		for _, m := range []string{metric.TTFT, metric.E2E} {
			if st := g.Metrics[m]; st.Count > 0 && !st.Resolved("p95") {
				return true
			}
		}
	}
	return false
}

func targetCell(g summary.Group) string {
	if g.Target == nil {
		return "–"
	}
	mark := "MISS"
	if g.Target.Met {
		mark = "met"
	}
	return fmt.Sprintf("%s (%s)", mark, g.Target.Goal.String())
}

func dash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// RenderRows prints a table of ready-made cells.
func RenderRows(w io.Writer, header []string, rows [][]string) error {
	t := NewTable(w)
	t.Header(header)
	for _, r := range rows {
		if err := t.Append(r); err != nil {
			return err
		}
	}
	return t.Render()
}

// NewTable keeps headers as written: metric names like e2e_ms must not be
// re-cased or split.
func NewTable(w io.Writer) *tablewriter.Table {
	return tablewriter.NewTable(w, tablewriter.WithHeaderAutoFormat(tw.Off))
}

// Truncate cuts s to n runes, marking the cut.
func Truncate(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// ciLine gives the 95% intervals of the scenario's TTFT and E2E medians,
// so a margin in the table can be read against the noise.
func ciLine(s verdict.Summary, sc string) string {
	var parts []string
	for _, g := range s.Groups {
		if g.Scenario != sc {
			continue
		}
		var cis []string
		for _, m := range []struct{ name, label string }{{metric.TTFT, "TTFT"}, {metric.E2E, "E2E"}} {
			if ci, ok := g.Metrics[m.name].CI95["p50"]; ok {
				cis = append(cis, fmt.Sprintf("%s %.1f–%.1f", m.label, ci.Lo, ci.Hi))
			}
		}
		if len(cis) > 0 {
			parts = append(parts, g.Engine+" "+strings.Join(cis, ", "))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "  95% CI of the p50 (ms): " + strings.Join(parts, "; ")
}

// writeEngineMetrics prints one line per reconciled window: the engine's
// own mean TTFT beside the client's, and where the client's went.
func writeEngineMetrics(w io.Writer, s verdict.Summary) {
	if len(s.EngineMetrics) == 0 {
		return
	}
	fmt.Fprintln(w, "\nThe engines' own metrics (means over each measured window; details in the report)")
	for _, win := range s.EngineMetrics {
		line := fmt.Sprintf("  - %s %s: ", win.Engine, win.Scenario)
		p, ok := win.Phase(reconcile.PhaseTTFT)
		switch {
		case win.Unavailable != "":
			line += win.Unavailable
		case !ok || p.Client == nil:
			line += "no TTFT to reconcile"
		default:
			line += fmt.Sprintf("TTFT client %.1f ms, server %.1f ms, residual %+.1f ms", p.Client.Mean, p.Server.MeanMS, p.Client.Mean-p.Server.MeanMS)
			if b := win.Breakdown; b != nil {
				var parts []string
				for _, part := range b.Parts {
					parts = append(parts, fmt.Sprintf("%s %.0f%%", breakdownWords[part.Name], part.Share*100))
				}
				line += " (" + strings.Join(parts, ", ") + ")"
			}
			server := "?"
			if win.ServerRequests != nil {
				server = fmt.Sprintf("%.0f", *win.ServerRequests)
			}
			line += fmt.Sprintf("; requests client %d / server %s", win.ClientRequests, server)
			if win.CountMismatch {
				line += " (mismatch: see findings)"
			}
		}
		fmt.Fprintln(w, line)
	}
}
