package verdict

import (
	"sort"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/metric"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/summary"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

// Capacity is how one engine held up across the levels of a sweep, and
// the highest level at which it still met its objectives.
type Capacity struct {
	Engine string       `json:"engine"`
	Kind   string       `json:"kind"` // rate | concurrency
	Levels []LevelStats `json:"levels"`
	// Judged says what "held" means: "slo", "target", or "" when the
	// scenarios have neither (then only the curve is reported).
	Judged string `json:"judged_by,omitempty"`
	// Sustained is the highest level such that it and every level below
	// it met the objectives; nil when even the lowest missed.
	Sustained *float64 `json:"sustained,omitempty"`
	// FirstMissed is the lowest level that missed.
	FirstMissed *float64 `json:"first_missed,omitempty"`
}

// LevelStats is one engine at one level.
type LevelStats struct {
	Value    float64 `json:"value"`
	Scenario string  `json:"scenario"`
	Met      *bool   `json:"met,omitempty"`
	// Attainment and goodput come from the SLO when there is one.
	Attainment          *float64 `json:"attainment,omitempty"`
	GoodputRequestsPerS *float64 `json:"goodput_requests_per_s,omitempty"`
	RequestsPerS        float64  `json:"requests_per_s"`
	OutputTokensPerS    float64  `json:"output_tokens_per_s"`
	ErrorRate           float64  `json:"error_rate"`
	TTFTP50             float64  `json:"ttft_p50_ms"`
	TTFTP95             float64  `json:"ttft_p95_ms"`
	E2EP95              float64  `json:"e2e_p95_ms"`
	ScheduleLagP95      float64  `json:"schedule_lag_p95_ms"`
}

// capacities reads the sweep's groups: one Capacity per engine, levels in
// increasing order.
func capacities(groups []summary.Group, levels map[string]*workload.Level) []Capacity {
	idx := map[string]int{}
	var out []Capacity
	for _, g := range groups {
		lv := levels[g.Scenario]
		if lv == nil || lv.IsLength() {
			continue // a length sweep has a prefill rate, not a capacity
		}
		i, ok := idx[g.Engine]
		if !ok {
			i = len(out)
			idx[g.Engine] = i
			out = append(out, Capacity{Engine: g.Engine, Kind: lv.Kind})
		}
		c := &out[i]
		ls := LevelStats{Value: lv.Value, Scenario: g.Scenario, RequestsPerS: g.RequestsPerS, OutputTokensPerS: g.OutputTokensPerS,
			ErrorRate: g.ErrorRate, TTFTP50: g.Metrics[metric.TTFT].P50, TTFTP95: g.Metrics[metric.TTFT].P95,
			E2EP95: g.Metrics[metric.E2E].P95, ScheduleLagP95: g.Metrics[metric.ScheduleLag].P95}
		switch {
		case g.SLO != nil:
			met, att, gp := g.SLO.Met, g.SLO.Attainment, g.SLO.GoodputRequestsPerS
			ls.Met, ls.Attainment, ls.GoodputRequestsPerS = &met, &att, &gp
			c.Judged = "slo"
		case g.Target != nil:
			met := g.Target.Met
			ls.Met = &met
			if c.Judged == "" {
				c.Judged = "target"
			}
		}
		c.Levels = append(c.Levels, ls)
	}
	for i := range out {
		c := &out[i]
		sort.SliceStable(c.Levels, func(a, b int) bool { return c.Levels[a].Value < c.Levels[b].Value })
		if c.Judged == "" {
			continue
		}
		for _, l := range c.Levels {
			if l.Met == nil || !*l.Met {
				v := l.Value
				c.FirstMissed = &v
				break
			}
			v := l.Value
			c.Sustained = &v
		}
	}
	return out
}
