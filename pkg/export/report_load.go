package export

import (
	"fmt"
	"slices"
	"strings"
)

// loadFromText (plain text) says where a distributed run's load came
// from: the Job, its nodes, and whether a worker shared one with an
// engine.
func loadFromText(lf *LoadFrom) []string {
	var nodes, shared []string
	for _, w := range lf.Workers {
		if w.Node != "" && !slices.Contains(nodes, w.Node) {
			nodes = append(nodes, w.Node)
		}
		for _, e := range w.SharesNodeWith {
			if !slices.Contains(shared, e) {
				shared = append(shared, e)
			}
		}
	}
	if len(nodes) == 0 {
		nodes = []string{"(none ran)"}
	}
	out := []string{fmt.Sprintf("Measured from %s: %d load worker(s) of Job %s/%s (image %s) on node(s) %s. Each worker timed its own requests on its own monotonic clock; the operator's machine only started them and collected their journals.",
		lf.Where, len(lf.Workers), lf.Namespace, lf.Job, lf.Image, strings.Join(nodes, ", "))}
	switch {
	case len(shared) > 0:
		slices.Sort(shared)
		out = append(out, "A load worker shared its node with "+strings.Join(shared, ", ")+": the client took CPU from that engine's node; give the workers a node without engines.")
	case len(lf.Workers) > 0:
		out = append(out, "No load worker shared a node with an engine.")
	}
	return out
}

// loadFromView is loadFromText for the reports, with each worker as it
// ended.
func loadFromView(lf *LoadFrom) ([]string, gridView) {
	var lines []string
	for _, l := range loadFromText(lf) {
		lines = append(lines, mdEscape(l))
	}
	g := gridView{Header: []string{"Worker", "Node", "Ended", "Requests", "Began late (ms)", "Send lag p50 / p99 (ms)", "CPU used"}}
	for _, w := range lf.Workers {
		cpu := "–"
		if w.Cores > 0 && w.WallSeconds >= 1 {
			cpu = fmt.Sprintf("%.0f%% of %d cores", w.CPUShare*100, w.Cores)
			if w.Saturated {
				cpu += " (saturated)"
			}
		}
		state := w.State
		if w.Error != "" {
			state += ": " + w.Error
		}
		g.Rows = append(g.Rows, []string{fmt.Sprint(w.Index), dash(mdEscape(w.Node)), mdExcerpt(state, 200), fmt.Sprint(w.Records),
			fmt.Sprintf("%.1f", w.LateMS), fmt.Sprintf("%.2f / %.2f", w.LagP50MS, w.LagP99MS), cpu})
	}
	return lines, g
}

// loadWarningsText (plain text) are what a distributed run's workers
// bend: a worker lost or failed (its part of the load missing from then
// on), or one CPU-saturated (its numbers include client delay).
func loadWarningsText(lf *LoadFrom) []string {
	if lf == nil {
		return nil
	}
	var out []string
	for _, w := range lf.Workers {
		switch {
		case w.State == "lost" || w.State == "failed":
			out = append(out, fmt.Sprintf("Load worker %d (node %s) %s: %s. The load was lighter than asked from then on.", w.Index, w.Node, w.State, w.Error))
		case w.Saturated:
			out = append(out, fmt.Sprintf("Load worker %d (node %s) used %.0f%% of its %d cores: its latencies include client delay. Rerun with more --workers.", w.Index, w.Node, w.CPUShare*100, w.Cores))
		}
	}
	return out
}
