package verdict

import (
	"math"
	"sort"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/metric"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/summary"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

// LengthSweep is how one engine's latency grew with the prompt length
// (input_tokens levels) or the answer length (output_tokens levels) of a
// length sweep, and the rate that growth stands for.
type LengthSweep struct {
	Engine string        `json:"engine"`
	Kind   string        `json:"kind"` // input_tokens | output_tokens
	Levels []LengthLevel `json:"levels"`
	// Fit is the least-squares line through the levels: TTFT p50 against
	// the prompt tokens the engine counted (input), or E2E p50 against the
	// output tokens it reported (output). Nil with fewer than two levels
	// of distinct lengths.
	Fit *LengthFit `json:"fit,omitempty"`
}

// LengthLevel is one engine at one length.
type LengthLevel struct {
	Value    float64 `json:"value"`
	Scenario string  `json:"scenario"`
	// Succeeded of Requests measured; the means are the engine's own
	// counts over the successes, what the fit is drawn against.
	Requests         int     `json:"requests"`
	Succeeded        int     `json:"succeeded"`
	PromptTokensMean float64 `json:"prompt_tokens_mean"`
	OutputTokensMean float64 `json:"output_tokens_mean"`
	TTFTP50          float64 `json:"ttft_p50_ms"`
	TTFTP95          float64 `json:"ttft_p95_ms"`
	TPOTP50          float64 `json:"tpot_p50_ms"`
	E2EP50           float64 `json:"e2e_p50_ms"`
	ErrorRate        float64 `json:"error_rate"`
}

// LengthFit is a line through the levels. For a prompt-length sweep its
// slope is the prefill cost: MSPer1KTokens more TTFT per 1,000 prompt
// tokens, TokensPerS prompt tokens per second (nil when the slope is not
// positive: no prefill growth could be measured, as with a prefix cache
// that answers every prompt); InterceptMS is the fixed cost before the
// first token at no prompt at all (network, queueing, the template). For
// an answer-length sweep the slope is the cost of each output token.
type LengthFit struct {
	MSPer1KTokens float64  `json:"ms_per_1k_tokens"`
	TokensPerS    *float64 `json:"tokens_per_s,omitempty"`
	InterceptMS   float64  `json:"intercept_ms"`
	// R2 says how straight the line is (1: every level on it).
	R2 float64 `json:"r2"`
}

// lengthSweeps reads a length sweep's groups: one per engine, levels in
// increasing order, with its fit.
func lengthSweeps(groups []summary.Group, levels map[string]*workload.Level) []LengthSweep {
	idx := map[string]int{}
	var out []LengthSweep
	for _, g := range groups {
		lv := levels[g.Scenario]
		if lv == nil || !lv.IsLength() {
			continue
		}
		i, ok := idx[g.Engine]
		if !ok {
			i = len(out)
			idx[g.Engine] = i
			out = append(out, LengthSweep{Engine: g.Engine, Kind: lv.Kind})
		}
		m := g.Metrics
		out[i].Levels = append(out[i].Levels, LengthLevel{Value: lv.Value, Scenario: g.Scenario, Requests: g.Requests, Succeeded: g.Succeeded,
			PromptTokensMean: m[metric.PromptTokens].Mean, OutputTokensMean: meanOutput(g),
			TTFTP50: m[metric.TTFT].P50, TTFTP95: m[metric.TTFT].P95, TPOTP50: m[metric.TPOT].P50, E2EP50: m[metric.E2E].P50,
			ErrorRate: g.ErrorRate})
	}
	for i := range out {
		ls := &out[i]
		sort.SliceStable(ls.Levels, func(a, b int) bool { return ls.Levels[a].Value < ls.Levels[b].Value })
		var xs, ys []float64
		for _, l := range ls.Levels {
			if l.Succeeded == 0 {
				continue
			}
			if ls.Kind == workload.LevelInputTokens {
				xs, ys = append(xs, l.PromptTokensMean), append(ys, l.TTFTP50)
			} else {
				xs, ys = append(xs, l.OutputTokensMean), append(ys, l.E2EP50)
			}
		}
		ls.Fit = fitLine(xs, ys)
	}
	return out
}

// meanOutput is the group's mean output tokens per success, from its total.
func meanOutput(g summary.Group) float64 {
	if g.Succeeded == 0 {
		return 0
	}
	return float64(g.OutputTokensTotal) / float64(g.Succeeded)
}

// fitLine is ordinary least squares of ys (ms) on xs (tokens).
func fitLine(xs, ys []float64) *LengthFit {
	n := float64(len(xs))
	if len(xs) < 2 {
		return nil
	}
	var mx, my float64
	for i := range xs {
		mx += xs[i]
		my += ys[i]
	}
	mx, my = mx/n, my/n
	var sxx, sxy, syy float64
	for i := range xs {
		dx, dy := xs[i]-mx, ys[i]-my
		sxx += dx * dx
		sxy += dx * dy
		syy += dy * dy
	}
	if sxx == 0 {
		return nil
	}
	slope := sxy / sxx
	f := &LengthFit{MSPer1KTokens: slope * 1000, InterceptMS: my - slope*mx, R2: 1}
	if syy > 0 {
		f.R2 = sxy * sxy / (sxx * syy)
	}
	if slope > 0 {
		tps := 1000 / slope
		f.TokensPerS = &tps
	}
	if math.IsNaN(f.R2) {
		f.R2 = 0
	}
	return f
}
