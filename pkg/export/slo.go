package export

import (
	"fmt"
	"strings"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/summary"
)

// sloCell is the terminal table's one-cell SLO verdict.
func sloCell(g summary.Group) string {
	r := g.SLO
	if r == nil {
		return "–"
	}
	mark := "MISS"
	if r.Met {
		mark = "met"
	}
	return fmt.Sprintf("%s · %.0f%% ok · %.2f good req/s", mark, r.Attainment*100, r.GoodputRequestsPerS)
}

// sloMisses says which of a group's objectives failed, with the values.
func sloMisses(r *summary.SLOResult) []string {
	if r == nil {
		return nil
	}
	var out []string
	for _, t := range r.Targets {
		if t.Met {
			continue
		}
		v := "falls among failed requests"
		if t.Value != nil {
			v = fmt.Sprintf("%.1f ms", *t.Value)
		}
		out = append(out, fmt.Sprintf("%s: %s", t.SLOTarget.String(), v))
	}
	if e := r.Errors; e != nil && !e.Met {
		out = append(out, fmt.Sprintf("errors ≤ %g%%: %.1f%%", e.Max*100, e.Value*100))
	}
	return out
}

// sloView is the reports' SLO table: one row per engine and scenario.
func sloView(run *Run) (gridView, []string) {
	g := gridView{Header: []string{"Scenario", "Engine", "SLO", "Verdict", "Per target", "Requests within SLO", "Goodput req/s", "Goodput tok/s"}}
	var notes []string
	for _, grp := range run.Summary.Groups {
		r := grp.SLO
		if r == nil {
			continue
		}
		var parts []string
		for _, t := range r.Targets {
			v := "–"
			if t.Value != nil {
				v = fmt.Sprintf("%.1f ms", *t.Value)
			}
			parts = append(parts, fmt.Sprintf("%s %s %s", strings.TrimSuffix(t.Metric, "_ms"), v, map[bool]string{true: "✓", false: "✗"}[t.Met]))
		}
		if e := r.Errors; e != nil {
			parts = append(parts, fmt.Sprintf("errors %.1f%% %s", e.Value*100, map[bool]string{true: "✓", false: "✗"}[e.Met]))
		}
		verdict := "**missed**"
		if r.Met {
			verdict = "met"
		}
		g.Rows = append(g.Rows, []string{mdEscape(grp.Scenario), mdEscape(grp.Engine), mdEscape(r.SLO.String()), verdict,
			mdEscape(strings.Join(parts, "; ")), fmt.Sprintf("%d of %d (%.1f%%)", r.MetRequests, grp.Requests, r.Attainment*100),
			fmt.Sprintf("%.2f", r.GoodputRequestsPerS), fmt.Sprintf("%.1f", r.GoodputTokensPerS)})
	}
	if len(g.Rows) > 0 {
		notes = append(notes, "A request is within the SLO when it succeeded and each of its own latencies met its limit (its ITL target reads the percentile of its own gaps); goodput counts only those requests. An engine meets the SLO when each target's percentile over all requests sent, failures counting as infinitely slow, is within the limit, and its error rate within budget.")
	}
	return g, notes
}
