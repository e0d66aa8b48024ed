package summary

import (
	"math"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/stats"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

// Group aggregates one engine × scenario.
type Group struct {
	Engine     string            `json:"engine"`
	EngineType engine.EngineType `json:"engine_type"`
	Model      string            `json:"model"`
	Suite      string            `json:"suite"`
	Scenario   string            `json:"scenario"`

	// Requests counts measured requests that were sent (not dropped by
	// the client and not cancelled by the user).
	Requests  int            `json:"requests"`
	Succeeded int            `json:"succeeded"`
	Failed    int            `json:"failed"`
	Errors    map[string]int `json:"errors_by_class"`
	// ErrorExamples holds the first message seen for each class.
	ErrorExamples map[string]string `json:"error_examples,omitempty"`
	ErrorRate     float64           `json:"error_rate"`
	Warmup        int               `json:"warmup_requests"`
	Dropped       int               `json:"dropped_by_client"`
	Canceled      int               `json:"canceled"`
	// ClientQueued counts requests the client's own cap delayed.
	ClientQueued int `json:"client_queued"`
	// OutputMismatch counts successes whose output length differed from
	// the request (EOS where the engine cannot ignore it, model limits).
	OutputMismatch int `json:"output_mismatch"`
	// PromptMismatch counts successes shaped to --input-tokens whose
	// prompt the engine counted more than 1% away from the request.
	PromptMismatch int `json:"prompt_mismatch"`
	// TokensEstimated counts successes whose output tokens were counted
	// from chunks because the server reported no usage.
	TokensEstimated int `json:"tokens_estimated"`

	// WindowS runs from the first measured send to the last measured end.
	WindowS           float64 `json:"window_s"`
	RequestsPerS      float64 `json:"requests_per_s"`
	OutputTokensPerS  float64 `json:"output_tokens_per_s"`
	OutputTokensTotal int     `json:"output_tokens_total"`

	Metrics map[string]stats.Stats `json:"metrics"`
	Target  *GoalResult            `json:"target,omitempty"`
	// SLO is how the group did against its scenario's SLO, if any.
	SLO *SLOResult `json:"slo,omitempty"`

	// ColdStart describes requests that paid a model load; they are
	// counted as successes but kept out of Metrics.
	ColdStart *ColdStarts `json:"cold_start,omitempty"`
	// Reconciliation compares client and server timings where the engine
	// reports them per request (Ollama).
	Reconciliation *Reconciliation `json:"reconciliation,omitempty"`
	// ByTurn is TTFT turn by turn of a multi-turn scenario (--turns): how
	// first tokens slow as the history grows, or do not where a prefix
	// cache holds it.
	ByTurn []TurnStats `json:"by_turn,omitempty"`
}

// GoalResult says whether a scenario's target was met.
type GoalResult struct {
	workload.Goal
	// Value is null when the percentile falls among failed requests.
	Value *float64 `json:"value"`
	Met   bool     `json:"met"`
}

// EvaluateGoal reads the goal's percentile over every measured request, a
// failed one counting as infinitely slow: an engine that fails 10% of its
// requests cannot meet a p95 target, however fast the rest were.
func EvaluateGoal(goal workload.Goal, ok *stats.Sample, failed int) *GoalResult {
	res := &GoalResult{Goal: goal}
	n := ok.Len()
	all := n + failed
	if all == 0 {
		return res
	}
	// The failures rank above every success: the percentile is finite
	// only while it interpolates between successes.
	rank := goal.Percentile / 100 * float64(all-1)
	lo := int(math.Floor(rank))
	var v float64
	switch {
	case all == 1 || lo >= all-1:
		if failed > 0 {
			return res
		}
		v = ok.Max()
	case lo+1 >= n:
		return res
	default:
		a, b := ok.At(lo), ok.At(lo+1)
		v = a + (rank-float64(lo))*(b-a)
	}
	res.Value = &v
	res.Met = v <= goal.LimitMS
	return res
}

type groupKey struct{ engine, scenario string }

// Objectives are what each scenario is judged against, by scenario name.
type Objectives struct {
	Goals   map[string]*workload.Goal
	SLOs    map[string]*workload.SLO
	Weights workload.Weights
	// Levels marks the scenarios of a sweep.
	Levels map[string]*workload.Level
}

// ObjectivesOf collects the targets and SLOs of scenarios.
func ObjectivesOf(scenarios []workload.Scenario) Objectives {
	o := Objectives{Goals: map[string]*workload.Goal{}, SLOs: map[string]*workload.SLO{}, Levels: map[string]*workload.Level{}}
	for _, s := range scenarios {
		o.Goals[s.Name] = s.Target
		o.SLOs[s.Name] = s.SLO
		o.Levels[s.Name] = s.Level
	}
	return o
}

// TurnStats is one turn of a multi-turn scenario's conversations: its
// successful, warm requests' TTFT and the history they carried.
type TurnStats struct {
	Turn int         `json:"turn"`
	TTFT stats.Stats `json:"ttft_ms"`
	// PromptTokensMean is the mean prompt the engine counted: the whole
	// history at this turn.
	PromptTokensMean float64 `json:"prompt_tokens_mean"`
}
