package verdict

import (
	"sort"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/metric"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/reconcile"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/stats"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/summary"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

// Summary is every aggregate of a run, derived from its records alone.
type Summary struct {
	RunID   string          `json:"run_id"`
	Groups  []summary.Group `json:"groups"`
	Fastest []Fastest       `json:"fastest"`
	// Comparisons test every pair of engines per scenario on TTFT, TPOT
	// and E2E.
	Comparisons []Comparison `json:"comparisons,omitempty"`
	// Ranking orders the engines by a weighted score, SLOs first.
	Ranking []Standing `json:"ranking,omitempty"`
	// Capacity reads a sweep: per engine, the highest level that held.
	Capacity []Capacity `json:"capacity,omitempty"`
	// Lengths reads a prompt- or answer-length sweep: per engine, latency
	// by length and the prefill (or decode) rate it implies.
	Lengths []LengthSweep `json:"length_sweep,omitempty"`
	// Findings are plain-language observations with their numbers.
	Findings []summary.Finding `json:"findings,omitempty"`
	// EngineMetrics reconciles each vLLM or TGI engine's own metrics,
	// scraped during the run, with the client's records, per scenario.
	EngineMetrics []reconcile.Window `json:"engine_metrics,omitempty"`
}

// AddEngineMetrics attaches the reconciled windows and their findings.
func (s *Summary) AddEngineMetrics(ws []reconcile.Window) {
	s.EngineMetrics = ws
	s.Findings = append(s.Findings, reconcile.Findings(ws)...)
}

// Fastest names the best engine of a scenario for one metric, and by how
// much it beat the runner-up.
type Fastest struct {
	Scenario string  `json:"scenario"`
	Metric   string  `json:"metric"`
	Stat     string  `json:"statistic"`
	Engine   string  `json:"engine"`
	Value    float64 `json:"value"`
	RunnerUp string  `json:"runner_up,omitempty"`
	// MarginPct is how much better than the runner-up, in percent of the
	// runner-up's value.
	MarginPct      float64 `json:"margin_pct,omitempty"`
	HigherIsBetter bool    `json:"higher_is_better,omitempty"`
	// Evidence says whether the win over the runner-up is more than
	// noise: "significant", "tie" (no significant difference) or
	// "untested" (an aggregate such as throughput has no per-request
	// sample to test).
	Evidence string `json:"evidence,omitempty"`
	// PValue is the Holm-adjusted Mann-Whitney p-value for medians; p95
	// and ITL are judged by whether their 95% intervals overlap.
	PValue *float64 `json:"p_value,omitempty"`
	Method string   `json:"method,omitempty"`
}

// Evidence values of a Fastest.
const (
	EvidenceSignificant = "significant"
	EvidenceTie         = "tie"
	EvidenceUntested    = "untested"
)

// Summarize derives the summary from records. goals maps scenario names to
// their targets. Group order follows first appearance in records.
func Summarize(runID string, records []engine.Record, goals map[string]*workload.Goal) Summary {
	return SummarizeWith(runID, records, summary.Objectives{Goals: goals})
}

// SummarizeWith derives the summary, judging each scenario against its
// objectives.
func SummarizeWith(runID string, records []engine.Record, obj summary.Objectives) Summary {
	return SummaryOf(summary.SummarizerOf(runID, records, obj))
}

// MaxErrorRateToRank keeps an engine that fails more than this share of
// its requests out of "fastest": speed on the requests it did answer is no
// win.
const MaxErrorRateToRank = 0.05

// fastestMetrics are the comparisons the terminal and reports lead with.
var fastestMetrics = []struct{ metric, stat string }{
	{metric.TTFT, "p50"},
	{metric.TTFT, "p95"},
	{metric.TPOT, "p50"},
	{metric.ITL, "p50"},
	{metric.E2E, "p50"},
	{metric.Throughput, "total"},
}

func scenarioOrder(groups []summary.Group) []string {
	var out []string
	seen := map[string]bool{}
	for _, g := range groups {
		if !seen[g.Scenario] {
			seen[g.Scenario] = true
			out = append(out, g.Scenario)
		}
	}
	return out
}

// judge says whether each winner beat its runner-up by more than noise:
// medians by the pairwise rank test, p95 and ITL by non-overlapping 95%
// intervals (conservative: overlapping intervals can still differ).
func judge(fs []Fastest, groups []summary.Group, cs []Comparison) []Fastest {
	stats := func(sc, engine, metric string) (stats.Stats, bool) {
		for _, g := range groups {
			if g.Scenario == sc && g.Engine == engine {
				st, ok := g.Metrics[metric]
				return st, ok
			}
		}
		return stats.Stats{}, false
	}
	for i := range fs {
		f := &fs[i]
		f.Evidence = EvidenceUntested
		if f.RunnerUp == "" || f.HigherIsBetter {
			continue
		}
		if f.Stat == "p50" {
			found := false
			for _, c := range cs {
				if c.Scenario == f.Scenario && c.Metric == f.Metric &&
					((c.A == f.Engine && c.B == f.RunnerUp) || (c.B == f.Engine && c.A == f.RunnerUp)) {
					p := c.PAdjusted
					f.PValue, f.Method, found = &p, "Mann-Whitney U, Holm-adjusted", true
					f.Evidence = EvidenceTie
					if c.Significant && c.Faster == f.Engine {
						f.Evidence = EvidenceSignificant
					}
				}
			}
			if found {
				continue
			}
		}
		a, okA := stats(f.Scenario, f.Engine, f.Metric)
		b, okB := stats(f.Scenario, f.RunnerUp, f.Metric)
		ca, inA := a.CI95[f.Stat]
		cb, inB := b.CI95[f.Stat]
		if !okA || !okB || !inA || !inB {
			continue // too few samples for an interval: untested
		}
		f.Method = "95% confidence intervals of the " + f.Stat
		f.Evidence = EvidenceTie
		if ca.Hi < cb.Lo {
			f.Evidence = EvidenceSignificant
		}
	}
	return fs
}

func fastest(groups []summary.Group) []Fastest {
	var scenarios []string
	byScenario := map[string][]summary.Group{}
	for _, g := range groups {
		if _, ok := byScenario[g.Scenario]; !ok {
			scenarios = append(scenarios, g.Scenario)
		}
		byScenario[g.Scenario] = append(byScenario[g.Scenario], g)
	}
	var out []Fastest
	for _, sc := range scenarios {
		gs := byScenario[sc]
		for _, m := range fastestMetrics {
			higher := metric.HigherIsBetter(m.metric)
			type cand struct {
				engine string
				v      float64
			}
			var cs []cand
			for _, g := range gs {
				if !Rankable(g) {
					continue
				}
				var v float64
				if higher {
					v = g.OutputTokensPerS
				} else {
					st, ok := g.Metrics[m.metric]
					if !ok || st.Count == 0 {
						continue
					}
					v = st.P50
					if m.stat == "p95" {
						v = st.P95
					}
				}
				cs = append(cs, cand{g.Engine, v})
			}
			if len(cs) < 2 {
				continue // a comparison needs two engines
			}
			sort.SliceStable(cs, func(i, j int) bool {
				if higher {
					return cs[i].v > cs[j].v
				}
				return cs[i].v < cs[j].v
			})
			f := Fastest{Scenario: sc, Metric: m.metric, Stat: m.stat, Engine: cs[0].engine, Value: cs[0].v, HigherIsBetter: higher}
			if len(cs) > 1 && cs[1].v != 0 {
				f.RunnerUp = cs[1].engine
				if higher {
					f.MarginPct = (cs[0].v - cs[1].v) / cs[1].v * 100
				} else {
					f.MarginPct = (cs[1].v - cs[0].v) / cs[1].v * 100
				}
			}
			out = append(out, f)
		}
	}
	return out
}

// SummaryOf derives every aggregate from the records folded into sz so
// far; more may be added afterwards.
func SummaryOf(sz *summary.Summarizer) Summary {
	var sum Summary
	sz.Inspect(func(runID string, obj summary.Objectives, ms []summary.Measured) {
		groups := make([]summary.Group, len(ms))
		for i, m := range ms {
			groups[i] = m.Group
		}
		var comparisons []Comparison
		for _, sc := range scenarioOrder(groups) {
			var gs []summary.Group
			var ss []map[string]*stats.Sample
			for _, m := range ms {
				if m.Group.Scenario == sc {
					gs = append(gs, m.Group)
					ss = append(ss, m.Samples)
				}
			}
			comparisons = append(comparisons, compare(sc, gs, ss)...)
		}
		var ranking []Standing
		if len(groups) > 0 {
			ranking = Rank(groups, obj.Weights)
		}
		sum = Summary{RunID: runID, Groups: groups, Fastest: judge(fastest(groups), groups, comparisons), Comparisons: comparisons,
			Ranking: ranking, Capacity: capacities(groups, obj.Levels), Lengths: lengthSweeps(groups, obj.Levels), Findings: summary.Findings(groups)}
	})
	return sum
}
