package economics

import (
	"fmt"
	"math"
	"sort"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
)

// Price is what an engine's GPUs cost to run.
type Price struct {
	GPUHourUSD float64 `json:"gpu_hour_usd"`
	GPUs       float64 `json:"gpus"`
}

// DefaultPrice stands in when economics names no price: one GPU at an
// illustrative on-demand rate. Every table built on it says so.
var DefaultPrice = Price{GPUHourUSD: 2.50, GPUs: 1}

// Economics maps an engine (its target name or type) to its price; the
// key "default" applies to the others.
type Economics map[string]Price

// For is the price of an engine, and whether it was assumed (nothing
// configured for it).
func (e Economics) For(name string, typ engine.EngineType) (Price, bool) {
	for _, k := range []string{name, string(typ), "default"} {
		if p, ok := e[k]; ok {
			if p.GPUs == 0 {
				p.GPUs = 1
			}
			return p, false
		}
	}
	return DefaultPrice, true
}

// Validate names the entry that cannot be a price.
func (e Economics) Validate() error {
	keys := make([]string, 0, len(e))
	for k := range e {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p := e[k]
		if p.GPUHourUSD < 0 || math.IsNaN(p.GPUHourUSD) || p.GPUs < 0 {
			return fmt.Errorf("economics.%s: gpu_hour_usd and gpus must be zero or more", k)
		}
	}
	return nil
}

// Cost is an engine's price per unit of work at a measured throughput:
// what the GPUs cost for the time the work takes when the engine runs as
// fast as it was measured to. Costs shrink as concurrency raises
// throughput, so Basis says what was measured.
type Cost struct {
	Engine  string `json:"engine"`
	Price   Price  `json:"price"`
	Assumed bool   `json:"price_assumed"`
	// Basis is the scenario (or "one request at a time") whose throughput
	// the cost rests on.
	Basis            string  `json:"basis"`
	RequestsPerS     float64 `json:"requests_per_s"`
	OutputTokensPerS float64 `json:"output_tokens_per_s"`
	// Nil when the throughput is zero (nothing succeeded).
	PerThousandRequestsUSD *float64 `json:"usd_per_1k_requests"`
	PerMillionTokensUSD    *float64 `json:"usd_per_1m_output_tokens"`
}

// CostAt prices work at the given throughput.
func CostAt(engine, basis string, p Price, assumed bool, requestsPerS, tokensPerS float64) Cost {
	c := Cost{Engine: engine, Price: p, Assumed: assumed, Basis: basis, RequestsPerS: requestsPerS, OutputTokensPerS: tokensPerS}
	perSecond := p.GPUHourUSD * p.GPUs / 3600
	if requestsPerS > 0 {
		v := perSecond / requestsPerS * 1000
		c.PerThousandRequestsUSD = &v
	}
	if tokensPerS > 0 {
		v := perSecond / tokensPerS * 1e6
		c.PerMillionTokensUSD = &v
	}
	return c
}

// HumanImpact is a model of the people who wait for the answers: a
// support team, say. Its figures are estimates; reports show the inputs
// beside them.
type HumanImpact struct {
	InteractionsPerDay float64 `json:"interactions_per_day"`
	HourlyCostUSD      float64 `json:"hourly_cost_usd"`
	People             float64 `json:"people"`
	WorkingDaysPerYear float64 `json:"working_days_per_year"`
}

// DefaultHumanImpact is one support agent with 50 AI-assisted
// interactions a day at 40 USD an hour, 230 working days a year.
var DefaultHumanImpact = HumanImpact{InteractionsPerDay: 50, HourlyCostUSD: 40, People: 1, WorkingDaysPerYear: 230}

// WithDefaults fills the fields left at zero.
func (h HumanImpact) WithDefaults() HumanImpact {
	d := DefaultHumanImpact
	if h.InteractionsPerDay > 0 {
		d.InteractionsPerDay = h.InteractionsPerDay
	}
	if h.HourlyCostUSD > 0 {
		d.HourlyCostUSD = h.HourlyCostUSD
	}
	if h.People > 0 {
		d.People = h.People
	}
	if h.WorkingDaysPerYear > 0 {
		d.WorkingDaysPerYear = h.WorkingDaysPerYear
	}
	return d
}

// Validate names a field that cannot be part of the model.
func (h HumanImpact) Validate() error {
	for name, v := range map[string]float64{"interactions_per_day": h.InteractionsPerDay, "hourly_cost_usd": h.HourlyCostUSD,
		"people": h.People, "working_days_per_year": h.WorkingDaysPerYear} {
		if v < 0 || math.IsNaN(v) {
			return fmt.Errorf("human_impact.%s: must be zero (the default) or more", name)
		}
	}
	if h.WorkingDaysPerYear > 366 {
		return fmt.Errorf("human_impact.working_days_per_year: %g is more days than a year has", h.WorkingDaysPerYear)
	}
	return nil
}

// Wait is how long an engine keeps a person waiting per interaction.
type Wait struct {
	Engine string `json:"engine"`
	// FirstWordMS is the median time to the first token; AnswerMS the
	// median time to the whole answer.
	FirstWordMS float64 `json:"first_word_ms"`
	AnswerMS    float64 `json:"answer_ms"`
}

// Impact is what those waits cost the modelled people, beside the engine
// that kept them waiting least.
type Impact struct {
	Wait
	// MinutesPerDay is the time per person per day spent waiting for
	// whole answers.
	MinutesPerDay float64 `json:"minutes_waiting_per_day"`
	// ExtraMinutesPerDay and ExtraCostPerYearUSD compare with the fastest
	// engine (zero for it), for the whole team.
	ExtraMinutesPerDay  float64 `json:"extra_minutes_per_day_vs_fastest"`
	ExtraCostPerYearUSD float64 `json:"extra_usd_per_year_vs_fastest"`
}

// Of turns each engine's waits into minutes and money.
func (h HumanImpact) Of(waits []Wait) []Impact {
	h = h.WithDefaults()
	fastest := math.Inf(1)
	for _, w := range waits {
		fastest = math.Min(fastest, w.AnswerMS)
	}
	out := make([]Impact, len(waits))
	for i, w := range waits {
		perDay := h.InteractionsPerDay * w.AnswerMS / 60000
		extra := h.InteractionsPerDay * (w.AnswerMS - fastest) / 60000 * h.People
		out[i] = Impact{Wait: w, MinutesPerDay: perDay, ExtraMinutesPerDay: extra,
			ExtraCostPerYearUSD: extra / 60 * h.HourlyCostUSD * h.WorkingDaysPerYear}
	}
	return out
}
