package export

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/metric"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/verdict"
)

// DiffFormats are the ways a run comparison is written.
var DiffFormats = []string{"table", "json", "md"}

// WriteDiff writes a run comparison as a terminal table, JSON or Markdown.
func WriteDiff(w io.Writer, d verdict.RunDiff, format string) error {
	switch format {
	case "table":
		return writeDiffTable(w, d)
	case "json":
		return writeDiffJSON(w, d)
	case "md":
		return writeDiffMarkdown(w, d)
	}
	return fmt.Errorf("unknown comparison format %q: use %s", format, strings.Join(DiffFormats, ", "))
}

// writeDiffJSON writes the comparison as indented JSON.
func writeDiffJSON(w io.Writer, d verdict.RunDiff) error {
	if d.Rows == nil {
		d.Rows = []verdict.DiffRow{} // an empty list, not null, for jq
	}
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the comparison: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// writeDiffTable prints one table per scenario, engines and metrics as
// rows, regressions marked REGRESSION.
func writeDiffTable(w io.Writer, d verdict.RunDiff) error {
	fmt.Fprintf(w, "Comparing %s (base) with %s (current)\n", dash(oneLine(d.BaseRunID)), dash(oneLine(d.CurrentRunID)))
	for _, sc := range diffScenarios(d) {
		// Names come from the journal: no control characters reach the
		// terminal.
		fmt.Fprintf(w, "\nScenario %s\n", oneLine(sc))
		t := NewTable(w)
		t.Header("Engine", "Metric", "Base", "Current", "Change", "95% CI of change", "Verdict")
		for _, r := range d.Rows {
			if r.Scenario != sc {
				continue
			}
			if err := t.Append(oneLine(r.Engine), diffLabel(r), diffValue(r, r.Base), diffValue(r, r.Current),
				diffChange(r), diffCI(r), diffVerdict(r)); err != nil {
				return err
			}
		}
		if err := t.Render(); err != nil {
			return err
		}
	}
	for _, n := range diffNotes(d, oneLine) {
		fmt.Fprintf(w, "  %s\n", n)
	}
	fmt.Fprintf(w, "\n%s\n", oneLine(diffVerdictLine(d)))
	return nil
}

// writeDiffMarkdown writes the comparison as a GitHub-flavoured Markdown
// section, for a pull request comment or a CI summary. Every name is
// untrusted text and escaped.
func writeDiffMarkdown(w io.Writer, d verdict.RunDiff) error {
	fmt.Fprintf(w, "## Comparison of %s (base) with %s (current)\n\n", mdEscape(dash(d.BaseRunID)), mdEscape(dash(d.CurrentRunID)))
	fmt.Fprintf(w, "%s\n", mdEscape(diffVerdictLine(d)))
	for _, sc := range diffScenarios(d) {
		fmt.Fprintf(w, "\n### Scenario %s\n\n", mdEscape(sc))
		fmt.Fprintln(w, "| Engine | Metric | Base | Current | Change | 95% CI of change | Verdict |")
		fmt.Fprintln(w, "|---|---|--:|--:|--:|--:|---|")
		for _, r := range d.Rows {
			if r.Scenario != sc {
				continue
			}
			engine, verdict := mdEscape(r.Engine), mdEscape(diffVerdict(r))
			if r.Regression {
				engine, verdict = "**"+engine+"**", "**"+verdict+"**"
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n", engine, mdEscape(diffLabel(r)),
				mdEscape(diffValue(r, r.Base)), mdEscape(diffValue(r, r.Current)), mdEscape(diffChange(r)), mdEscape(diffCI(r)), verdict)
		}
	}
	if notes := diffNotes(d, mdEscape); len(notes) > 0 {
		fmt.Fprintln(w)
		for _, n := range notes {
			fmt.Fprintf(w, "- %s\n", n)
		}
	}
	return nil
}

func diffScenarios(d verdict.RunDiff) []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range d.Rows {
		if !seen[r.Scenario] {
			seen[r.Scenario] = true
			out = append(out, r.Scenario)
		}
	}
	return out
}

// diffNotes lists what was not compared and why; esc makes each name safe
// for the output.
func diffNotes(d verdict.RunDiff, esc func(string) string) []string {
	var notes []string
	refs := func(gs []verdict.GroupRef) string {
		var parts []string
		for _, g := range gs {
			parts = append(parts, esc(g.Engine)+" in "+esc(g.Scenario))
		}
		return strings.Join(parts, ", ")
	}
	if len(d.OnlyInBase) > 0 {
		notes = append(notes, "only in the base run, not compared: "+refs(d.OnlyInBase))
	}
	if len(d.OnlyInCurrent) > 0 {
		notes = append(notes, "only in the current run, not compared: "+refs(d.OnlyInCurrent))
	}
	for _, w := range d.Warnings {
		notes = append(notes, "warning: "+esc(w))
	}
	for _, r := range d.Rows {
		if r.Significant() && r.Test != nil && r.DeltaCI != nil && r.DeltaCI.Lo <= 0 && r.DeltaCI.Hi >= 0 {
			notes = append(notes, "medians are judged by the rank test, which can find a shift that their conservative 95% interval still spans")
			break
		}
	}
	return notes
}

// DiffVerdict is the comparison in one sentence.
func DiffVerdict(d verdict.RunDiff) string { return oneLine(diffVerdictLine(d)) }

func diffVerdictLine(d verdict.RunDiff) string {
	if len(d.Rows) == 0 {
		return "Nothing to compare: the runs share no engine × scenario."
	}
	regs, imps := len(d.Regressions(math.Inf(-1))), len(d.Improvements())
	if regs == 0 && imps == 0 {
		return fmt.Sprintf("No significant change in %d comparisons (α = %g; medians and error rates Holm-adjusted).", len(d.Rows), d.Alpha)
	}
	line := fmt.Sprintf("%d significant regression(s) and %d improvement(s) in %d comparisons", regs, imps, len(d.Rows))
	if regs > 0 {
		line += "; worst: " + RegressionText(d.Regressions(math.Inf(-1))[0])
	}
	return line + "."
}

func diffLabel(r verdict.DiffRow) string {
	if r.Metric == verdict.MetricErrorRate {
		return "error rate"
	}
	return r.Metric + " " + r.Stat
}

func diffValue(r verdict.DiffRow, v float64) string { return diffText(r.Metric, v, false) }

// diffDelta is a signed difference in the metric's unit; error rates in
// percentage points.
func diffDelta(r verdict.DiffRow, v float64) string { return diffText(r.Metric, v, true) }

func diffText(m string, v float64, signed bool) string {
	format := "%.1f"
	if signed {
		format = "%+.1f"
	}
	if m == verdict.MetricErrorRate {
		unit := "%"
		if signed {
			unit = " pp"
		}
		return fmt.Sprintf(format, v*100) + unit
	}
	unit := metric.UnitMS
	if d, ok := metric.Lookup(m); ok {
		unit = d.Unit
	}
	return fmt.Sprintf(format, v) + " " + unit
}

// diffChange shows the change as it reads (current minus base) with the
// relative change; whether that is worse is the verdict's to say.
func diffChange(r verdict.DiffRow) string {
	s := diffDelta(r, r.Delta)
	if r.Base != 0 {
		s += fmt.Sprintf(" (%+.1f%%)", r.Delta/math.Abs(r.Base)*100)
	}
	return s
}

func diffCI(r verdict.DiffRow) string {
	if r.DeltaCI == nil {
		return "–"
	}
	return fmt.Sprintf("%s … %s", diffDelta(r, r.DeltaCI.Lo), diffDelta(r, r.DeltaCI.Hi))
}

// RegressionText names a regressed row and how much worse it got, on one
// line with no control characters (names come from the journal).
func RegressionText(r verdict.DiffRow) string {
	return oneLine(fmt.Sprintf("%s in %s, %s %s", r.Engine, r.Scenario, diffLabel(r), worseText(r)))
}

// worseText is how much worse a regression is.
func worseText(r verdict.DiffRow) string {
	if r.WorsePct == nil {
		return fmt.Sprintf("%s → %s", diffValue(r, r.Base), diffValue(r, r.Current))
	}
	return fmt.Sprintf("%.1f%% worse (%s → %s)", *r.WorsePct, diffValue(r, r.Base), diffValue(r, r.Current))
}

func diffVerdict(r verdict.DiffRow) string {
	how := "95% CI excludes 0"
	if r.PAdjusted != nil {
		how = "p=" + pText(*r.PAdjusted)
	}
	switch {
	case r.Evidence == verdict.EvidenceUntested:
		return r.Method
	case r.Regression:
		return "REGRESSION (" + how + ")"
	case r.Improvement:
		return "improved (" + how + ")"
	case r.Significant():
		return "significant (" + how + ")"
	}
	if r.PAdjusted != nil {
		return "no significant change (" + how + ")"
	}
	return "no significant change (95% CI spans 0)"
}
