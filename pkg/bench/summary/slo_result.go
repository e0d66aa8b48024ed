package summary

import (
	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/stats"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

// SLOResult is how one engine in one scenario did against its SLO.
type SLOResult struct {
	SLO     workload.SLO        `json:"slo"`
	Targets []SLOTargetResult   `json:"targets,omitempty"`
	Errors  *SLOErrorRateResult `json:"error_rate,omitempty"`
	// Met: every target and the error budget held.
	Met bool `json:"met"`
	// MetRequests met every latency target; Attainment is their share of
	// the requests sent.
	MetRequests int     `json:"met_requests"`
	Attainment  float64 `json:"attainment"`
	// Goodput counts only requests that met every target (vLLM bench
	// serve's definition), over the group's window.
	GoodputRequestsPerS float64 `json:"goodput_requests_per_s"`
	GoodputTokensPerS   float64 `json:"goodput_output_tokens_per_s"`
}

// SLOTargetResult is one target's percentile over every request sent.
type SLOTargetResult struct {
	workload.SLOTarget
	// Value is null when the percentile falls among failed requests.
	Value *float64 `json:"value"`
	Met   bool     `json:"met"`
}

type SLOErrorRateResult struct {
	Max   float64 `json:"max"`
	Value float64 `json:"value"`
	Met   bool    `json:"met"`
}

// sloTally accumulates per-request SLO facts while a group is summarized.
type sloTally struct {
	met       int
	metTokens int
}

func (t *sloTally) add(s *workload.SLO, r *engine.Record) {
	if s != nil && s.Met(r) {
		t.met++
		t.metTokens += r.OutputTokens
	}
}

// evaluateSLO judges a finished group; samples are its successful
// requests' values by metric.
func evaluateSLO(s workload.SLO, g *Group, samples map[string]*stats.Sample, t sloTally) *SLOResult {
	res := &SLOResult{SLO: s, Met: true, MetRequests: t.met}
	if g.Requests > 0 {
		res.Attainment = float64(t.met) / float64(g.Requests)
	}
	if g.WindowS > 0 {
		res.GoodputRequestsPerS = float64(t.met) / g.WindowS
		res.GoodputTokensPerS = float64(t.metTokens) / g.WindowS
	}
	for _, tg := range s.Targets {
		gr := EvaluateGoal(workload.Goal{Metric: tg.Metric, Percentile: tg.Percentile, LimitMS: tg.MaxMS}, samples[tg.Metric], g.Failed)
		r := SLOTargetResult{SLOTarget: tg, Value: gr.Value, Met: gr.Met}
		res.Met = res.Met && r.Met
		res.Targets = append(res.Targets, r)
	}
	if s.MaxErrorRate != nil {
		e := &SLOErrorRateResult{Max: *s.MaxErrorRate, Value: g.ErrorRate, Met: g.ErrorRate <= *s.MaxErrorRate}
		res.Errors = e
		res.Met = res.Met && e.Met
	}
	if g.Requests == 0 {
		res.Met = false
	}
	return res
}
