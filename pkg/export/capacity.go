package export

import (
	"fmt"
	"io"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/verdict"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

// capacityHeadline is "vllm sustains 8 req/s within the SLO (missed at
// 16 req/s)" for one engine.
func capacityHeadline(c verdict.Capacity) string {
	unit := func(v float64) string { return workload.Level{Kind: c.Kind, Value: v}.String() }
	what := map[string]string{"slo": "within the SLO", "target": "within the target"}[c.Judged]
	obj := map[string]string{"slo": "the SLO", "target": "the target"}[c.Judged]
	switch {
	case c.Judged == "":
		return fmt.Sprintf("%s: no SLO or target to judge the levels by; pass --slo to find the highest level it sustains", c.Engine)
	case c.Sustained == nil:
		return fmt.Sprintf("%s missed %s already at the lowest level, %s", c.Engine, obj, unit(c.Levels[0].Value))
	case c.FirstMissed == nil:
		return fmt.Sprintf("%s sustains at least %s %s (the highest level tried)", c.Engine, unit(*c.Sustained), what)
	}
	return fmt.Sprintf("%s sustains %s %s (missed at %s)", c.Engine, unit(*c.Sustained), what, unit(*c.FirstMissed))
}

// capacityRows: one row per engine and level.
func capacityRows(s verdict.Summary, esc func(string) string) [][]string {
	var rows [][]string
	for _, c := range s.Capacity {
		for _, l := range c.Levels {
			met := "–"
			if l.Met != nil {
				met = map[bool]string{true: "met", false: "MISSED"}[*l.Met]
			}
			good := "–"
			if l.GoodputRequestsPerS != nil {
				good = fmt.Sprintf("%.2f (%.0f%%)", *l.GoodputRequestsPerS, *l.Attainment*100)
			}
			rows = append(rows, []string{esc(c.Engine), workload.Level{Kind: c.Kind, Value: l.Value}.String(), met,
				fmt.Sprintf("%.2f", l.RequestsPerS), good, fmt.Sprintf("%.1f ms", l.TTFTP95), fmt.Sprintf("%.1f ms", l.E2EP95),
				fmt.Sprintf("%.1f%%", l.ErrorRate*100), fmt.Sprintf("%.1f ms", l.ScheduleLagP95)})
		}
	}
	return rows
}

var capacityHeader = []string{"Engine", "Level", "Objectives", "Req/s done", "Goodput req/s (within SLO)", "TTFT p95", "E2E p95", "Errors", "Schedule lag p95"}

func writeCapacity(w io.Writer, s verdict.Summary) error {
	if len(s.Capacity) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nCapacity")
	for _, c := range s.Capacity {
		fmt.Fprintf(w, "  %s\n", oneLine(capacityHeadline(c)))
	}
	return RenderRows(w, capacityHeader, capacityRows(s, oneLine))
}

func capacityView(s verdict.Summary) ([]string, gridView) {
	var lines []string
	for _, c := range s.Capacity {
		lines = append(lines, mdEscape(capacityHeadline(c)))
	}
	return lines, gridView{Header: capacityHeader, Rows: capacityRows(s, mdEscape)}
}
