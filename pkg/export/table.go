package export

import (
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/llmbench/kubectl-llmbench/pkg/bench"
	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
)

// WriteTable prints one table per scenario (engines as rows) and the
// fastest engine per metric with its margin over the runner-up.
func WriteTable(w io.Writer, s bench.Summary) error {
	var scenarios []string
	seen := map[string]bool{}
	for _, g := range s.Groups {
		if !seen[g.Scenario] {
			seen[g.Scenario] = true
			scenarios = append(scenarios, g.Scenario)
		}
	}
	for _, sc := range scenarios {
		fmt.Fprintf(w, "\nScenario %s\n", sc)
		t := newTable(w)
		t.Header("Engine", "OK/Sent", "TTFT p50", "TTFT p95", "TPOT p50", "ITL p50", "E2E p50", "E2E p95", "Tok/s", "Req/s", "Target")
		for _, g := range s.Groups {
			if g.Scenario != sc {
				continue
			}
			m := g.Metrics
			if err := t.Append(g.Engine, fmt.Sprintf("%d/%d", g.Succeeded, g.Requests),
				msCell(m[bench.MetricTTFT], 50), msCell(m[bench.MetricTTFT], 95),
				msCell(m[bench.MetricTPOT], 50), msCell(m[bench.MetricITL], 50),
				msCell(m[bench.MetricE2E], 50), msCell(m[bench.MetricE2E], 95),
				fmt.Sprintf("%.1f", g.OutputTokensPerS), fmt.Sprintf("%.2f", g.RequestsPerS), targetCell(g)); err != nil {
				return err
			}
		}
		if err := t.Render(); err != nil {
			return err
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
	if len(s.Fastest) > 0 {
		fmt.Fprintln(w, "\nFastest engine per metric")
		t := newTable(w)
		t.Header("Scenario", "Metric", "Winner", "Value", "Runner-up", "Margin")
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
			if err := t.Append(f.Scenario, label, f.Engine, val, dash(f.RunnerUp), margin); err != nil {
				return err
			}
		}
		return t.Render()
	}
	return nil
}

func writeNotes(w io.Writer, g bench.Group) {
	var notes []string
	if g.Failed > 0 {
		var parts []string
		for class, n := range g.Errors {
			parts = append(parts, fmt.Sprintf("%s×%d", class, n))
		}
		notes = append(notes, fmt.Sprintf("%d failed (%s)", g.Failed, strings.Join(parts, ", ")))
	}
	if g.OutputMismatch > 0 {
		notes = append(notes, fmt.Sprintf("%d returned a different number of tokens than requested", g.OutputMismatch))
	}
	if g.TokensEstimated > 0 {
		notes = append(notes, fmt.Sprintf("%d had no server token count (chunks counted)", g.TokensEstimated))
	}
	if g.ClientQueued > 0 {
		notes = append(notes, fmt.Sprintf("%d waited for the client's concurrency cap", g.ClientQueued))
	}
	if g.Dropped > 0 {
		notes = append(notes, fmt.Sprintf("%d dropped at the client's concurrency cap", g.Dropped))
	}
	if lag, ok := g.Metrics[bench.MetricScheduleLag]; ok && lag.P99 > 10 {
		notes = append(notes, fmt.Sprintf("schedule lag p99 %.1f ms: the client fell behind its schedule", lag.P99))
	}
	if c := g.ColdStart; c != nil {
		notes = append(notes, fmt.Sprintf("%d cold start(s) (model load up to %.0f ms) kept out of the latency columns", c.Count, c.LoadMS.Max))
	}
	if rc := g.Reconciliation; rc != nil {
		notes = append(notes, fmt.Sprintf("server-side TTFT p50 %.1f ms vs client %.1f ms (residual p50 %.1f ms, server wait p50 %.1f ms); decode %.0f tok/s at the client vs %.0f tok/s in the server (×%.2f)",
			rc.ServerTTFTMS.P50, rc.ClientTTFTMS.P50, rc.TTFTResidualMS.P50, rc.ServerWaitMS.P50,
			rc.ClientDecodeTokensPerS.P50, rc.ServerDecodeTokensPerS.P50, rc.DecodeRateRatio))
	}
	for _, n := range notes {
		fmt.Fprintf(w, "  %s: %s\n", g.Engine, n)
	}
}

func msCell(s bench.Stats, p float64) string {
	if s.Count == 0 {
		return "–"
	}
	v := s.At(p)
	if math.IsNaN(v) {
		return "–"
	}
	return fmt.Sprintf("%.1f ms", v)
}

func targetCell(g bench.Group) string {
	if g.Target == nil {
		return "–"
	}
	mark := "MISS"
	if g.Target.Met {
		mark = "met"
	}
	return fmt.Sprintf("%s (%s p%g ≤ %g)", mark, g.Target.Metric, g.Target.Percentile, g.Target.LimitMS)
}

func dash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// newTable keeps headers as written: metric names like e2e_ms must not be
// re-cased or split.
func newTable(w io.Writer) *tablewriter.Table {
	return tablewriter.NewTable(w, tablewriter.WithHeaderAutoFormat(tw.Off))
}
