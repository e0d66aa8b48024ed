package verdict

import (
	"math"
	"sort"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/metric"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/stats"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/summary"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

// Component is one part of an engine's score: its value, and that value
// relative to the best engine of the scenario (1 = the best).
type Component struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
	Score  float64 `json:"score"`
	Weight float64 `json:"weight"`
}

// Standing is an engine's place in the overall ranking, with everything
// its score came from so the verdict can be audited.
type Standing struct {
	Rank   int     `json:"rank"`
	Engine string  `json:"engine"`
	Score  float64 `json:"score"`
	// SLOMet is nil when no scenario has an SLO; an engine that missed
	// one ranks below every engine that met theirs.
	SLOMet *bool `json:"slo_met,omitempty"`
	// PerScenario holds the weighted score of each scenario; Score is
	// their mean.
	PerScenario map[string]float64 `json:"per_scenario"`
	// Components are the headline scenario's (the first with every
	// engine in it), shown to explain the score.
	Components []Component `json:"components"`
	// Unranked says why an engine has no score (it answered nothing).
	Unranked string `json:"unranked,omitempty"`
}

// Rank scores every engine per scenario on TTFT p50, TPOT p50, output
// throughput, error rate and consistency (TTFT p99/p50, p95/p50 when p99
// has too few samples), each relative to the scenario's best engine,
// weighs them, averages over scenarios, and orders engines that met
// their SLOs first.
func Rank(groups []summary.Group, w workload.Weights) []Standing {
	if w.Total() == 0 {
		w = workload.DefaultWeights
	}
	byEngine := map[string]*Standing{}
	var order []string
	for _, sc := range scenarioOrder(groups) {
		var gs []summary.Group
		for _, g := range groups {
			if g.Scenario == sc {
				gs = append(gs, g)
			}
		}
		comps := scenarioComponents(gs, w)
		for _, g := range gs {
			st := byEngine[g.Engine]
			if st == nil {
				st = &Standing{Engine: g.Engine, PerScenario: map[string]float64{}}
				byEngine[g.Engine] = st
				order = append(order, g.Engine)
			}
			if g.SLO != nil {
				met := g.SLO.Met && (st.SLOMet == nil || *st.SLOMet)
				st.SLOMet = &met
			}
			cs, ok := comps[g.Engine]
			if !ok {
				continue
			}
			var sum float64
			for _, c := range cs {
				sum += c.Score * c.Weight
			}
			st.PerScenario[sc] = sum / w.Total()
			if st.Components == nil {
				st.Components = cs
			}
		}
	}
	// Scores average over the scenarios every ranked engine ran, so a
	// capacity search that took engines to different levels still
	// compares like with like.
	shared := map[string]int{}
	ranked := 0
	for _, e := range order {
		if st := byEngine[e]; len(st.PerScenario) > 0 {
			ranked++
			for sc := range st.PerScenario {
				shared[sc]++
			}
		}
	}
	common := func(sc string) bool { return shared[sc] == ranked }
	anyCommon := false
	for sc := range shared {
		anyCommon = anyCommon || common(sc)
	}
	out := make([]Standing, 0, len(order))
	for _, e := range order {
		st := byEngine[e]
		if len(st.PerScenario) == 0 {
			st.Unranked = "no successful request"
		}
		n := 0
		for sc, v := range st.PerScenario {
			if !anyCommon || common(sc) {
				st.Score += v
				n++
			}
		}
		if n > 0 {
			st.Score /= float64(n)
		}
		out = append(out, *st)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if (a.Unranked == "") != (b.Unranked == "") {
			return a.Unranked == ""
		}
		am, bm := a.SLOMet == nil || *a.SLOMet, b.SLOMet == nil || *b.SLOMet
		if am != bm {
			return am
		}
		return a.Score > b.Score
	})
	for i := range out {
		out[i].Rank = i + 1
	}
	return out
}

// scenarioComponents scores each engine of one scenario that answered.
func scenarioComponents(gs []summary.Group, w workload.Weights) map[string][]Component {
	type raw struct {
		ttft, tpot, tput, errRate, spread float64
		spreadName                        string
	}
	vals := map[string]raw{}
	best := raw{ttft: math.Inf(1), tpot: math.Inf(1), spread: math.Inf(1)}
	for _, g := range gs {
		if g.Succeeded == 0 {
			continue
		}
		t := g.Metrics[metric.TTFT]
		sp, name := spread(t)
		r := raw{ttft: t.P50, tpot: g.Metrics[metric.TPOT].P50, tput: g.OutputTokensPerS, errRate: g.ErrorRate, spread: sp, spreadName: name}
		vals[g.Engine] = r
		minOf := func(b *float64, v float64) {
			if v > 0 && !math.IsNaN(v) && v < *b {
				*b = v
			}
		}
		minOf(&best.ttft, r.ttft)
		minOf(&best.tpot, r.tpot)
		minOf(&best.spread, r.spread)
		best.tput = math.Max(best.tput, r.tput)
	}
	lower := func(v, b float64) float64 {
		if v <= 0 || math.IsNaN(v) || math.IsInf(b, 1) {
			return 1 // nothing to compare (no TPOT for one-token answers)
		}
		return b / v
	}
	out := map[string][]Component{}
	for e, r := range vals {
		tputScore := 1.0
		if best.tput > 0 {
			tputScore = r.tput / best.tput
		}
		out[e] = []Component{
			{"TTFT p50", r.ttft, "ms", lower(r.ttft, best.ttft), w.TTFT},
			{"TPOT p50", r.tpot, "ms", lower(r.tpot, best.tpot), w.TPOT},
			{"output throughput", r.tput, "tok/s", tputScore, w.Throughput},
			// An engine that fails every request scores 0; a perfect one 1.
			{"error rate", r.errRate * 100, "%", 1 - r.errRate, w.ErrorRate},
			{r.spreadName, r.spread, "×", lower(r.spread, best.spread), w.Consistency},
		}
	}
	return out
}

// spread is TTFT p99/p50, or p95/p50 when p99 has too few samples to
// mean anything.
func spread(t stats.Stats) (float64, string) {
	if t.P50 <= 0 {
		// No TTFT sample (every success was a cold start): nothing to
		// compare, and no NaN may reach summary.json.
		return 0, "TTFT p99/p50"
	}
	if t.Resolved("p99") {
		return t.P99 / t.P50, "TTFT p99/p50"
	}
	return t.P95 / t.P50, "TTFT p95/p50"
}
