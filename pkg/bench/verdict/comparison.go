package verdict

import (
	"math"
	"sort"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/metric"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/stats"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/summary"
)

// comparedMetrics are the per-request latencies engines are compared on.
var comparedMetrics = []string{metric.TTFT, metric.TPOT, metric.E2E}

// Comparison is one pair of engines on one per-request metric in one
// scenario: the difference of medians and whether it is more than noise.
type Comparison struct {
	Scenario string  `json:"scenario"`
	Metric   string  `json:"metric"`
	A        string  `json:"a"`
	B        string  `json:"b"`
	MedianA  float64 `json:"median_a"`
	MedianB  float64 `json:"median_b"`
	// DiffMS is MedianB - MedianA; DiffPct is that in percent of the
	// slower median, so "A is 23% faster" reads directly.
	DiffMS  float64        `json:"diff_ms"`
	DiffPct float64        `json:"diff_pct"`
	Test    stats.RankTest `json:"mann_whitney"`
	// PAdjusted is Holm-adjusted over the pairs of the same scenario and
	// metric, so three engines do not get three chances at a fluke.
	PAdjusted   float64 `json:"p_adjusted"`
	Significant bool    `json:"significant"`
	// Faster is the engine whose requests tend to be faster, "" for a tie.
	Faster string `json:"faster,omitempty"`
}

// compare runs the pairwise tests of a scenario's groups (in order) on
// each compared metric; the medians are the groups' own p50.
func compare(scenario string, groups []summary.Group, samples []map[string]*stats.Sample) []Comparison {
	var out []Comparison
	for _, metric := range comparedMetrics {
		var cs []Comparison
		for i := range groups {
			for j := i + 1; j < len(groups); j++ {
				a, b := samples[i][metric], samples[j][metric]
				if a.Len() == 0 || b.Len() == 0 {
					continue
				}
				c := Comparison{Scenario: scenario, Metric: metric, A: groups[i].Engine, B: groups[j].Engine,
					MedianA: groups[i].Metrics[metric].P50, MedianB: groups[j].Metrics[metric].P50, Test: stats.MannWhitneySamples(a, b)}
				c.DiffMS = c.MedianB - c.MedianA
				if slower := math.Max(c.MedianA, c.MedianB); slower > 0 {
					c.DiffPct = math.Abs(c.DiffMS) / slower * 100
				}
				cs = append(cs, c)
			}
		}
		holm(cs)
		out = append(out, cs...)
	}
	return out
}

// holm adjusts p-values for the number of comparisons (Holm-Bonferroni)
// and marks the significant ones.
func holm(cs []Comparison) {
	order := make([]int, len(cs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(x, y int) bool { return cs[order[x]].Test.P < cs[order[y]].Test.P })
	m := len(cs)
	running := 0.0
	for rank, i := range order {
		adj := math.Min(1, float64(m-rank)*cs[i].Test.P)
		running = math.Max(running, adj) // adjusted p-values never decrease
		cs[i].PAdjusted = running
		cs[i].Significant = running < stats.Alpha
		if cs[i].Significant {
			// U counts "A below B" pairs: above half, A tends to be faster.
			if cs[i].Test.ProbLower > 0.5 {
				cs[i].Faster = cs[i].A
			} else {
				cs[i].Faster = cs[i].B
			}
		}
	}
}
