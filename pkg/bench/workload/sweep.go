package workload

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Level is one level of a sweep: a request rate or a number of
// concurrent users (load levels), or a prompt or answer length in tokens
// (length levels).
type Level struct {
	Kind  string  `json:"kind"` // rate | concurrency | input_tokens | output_tokens
	Value float64 `json:"value"`
}

func (l Level) String() string {
	switch l.Kind {
	case LevelRate:
		return fmt.Sprintf("%g req/s", l.Value)
	case LevelInputTokens:
		return fmt.Sprintf("%g prompt tokens", l.Value)
	case LevelOutputTokens:
		return fmt.Sprintf("%g output tokens", l.Value)
	}
	return fmt.Sprintf("%g users", l.Value)
}

// Level kinds.
const (
	LevelRate         = "rate"
	LevelConcurrency  = "concurrency"
	LevelInputTokens  = "input_tokens"
	LevelOutputTokens = "output_tokens"
)

// IsLength says the level is a prompt or answer length, not a load: it has
// a prefill or decode rate, not a capacity.
func (l Level) IsLength() bool { return l.Kind == LevelInputTokens || l.Kind == LevelOutputTokens }

// Sweep is a series of load levels run one after another.
type Sweep struct {
	Kind   string
	Values []float64
}

// ParseSweep reads "rate=1,2,4,8", "concurrency=1,2,4,8",
// "input_tokens=128,512,2048" or "output_tokens=64,256".
func ParseSweep(spec, where string) (*Sweep, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, nil
	}
	kind, list, ok := strings.Cut(spec, "=")
	kind = strings.ReplaceAll(strings.ToLower(strings.TrimSpace(kind)), "-", "_")
	switch kind {
	case "users":
		kind = LevelConcurrency
	case "prompt_tokens":
		kind = LevelInputTokens
	}
	if !ok || (kind != LevelRate && kind != LevelConcurrency && kind != LevelInputTokens && kind != LevelOutputTokens) {
		return nil, fmt.Errorf("%s: %q: write rate=1,2,4,8 (requests/s, open loop), concurrency=1,2,4,8 (users, closed loop), input_tokens=128,512,2048 (prompt lengths) or output_tokens=64,256 (answer lengths)", where, spec)
	}
	length := kind == LevelInputTokens || kind == LevelOutputTokens
	sw := &Sweep{Kind: kind}
	seen := map[float64]bool{}
	for _, v := range strings.Split(list, ",") {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || f <= 0 || math.IsInf(f, 0) || (kind == LevelRate && f > 100000) {
			return nil, fmt.Errorf("%s: %q is not a level; give numbers > 0 separated by commas", where, v)
		}
		if kind == LevelConcurrency && f != math.Trunc(f) {
			return nil, fmt.Errorf("%s: %q users: give whole numbers", where, v)
		}
		if length && (f != math.Trunc(f) || f > MaxShapedTokens) {
			return nil, fmt.Errorf("%s: %q tokens: give whole numbers up to %d", where, v, MaxShapedTokens)
		}
		if seen[f] {
			return nil, fmt.Errorf("%s: the level %g is given twice", where, f)
		}
		seen[f] = true
		sw.Values = append(sw.Values, f)
	}
	sort.Float64s(sw.Values)
	return sw, nil
}

// Expand replaces the load scenarios with one per level, each shaped like
// the first load scenario (its duration, think time, tokens, objectives):
// a rate sweep runs open loop (Poisson unless the template is constant),
// a concurrency sweep runs closed loop, and a length sweep keeps the
// template's load and shapes every prompt (input_tokens) or answer
// (output_tokens) to the level's length.
func (sw Sweep) Expand(scenarios []Scenario, where string) ([]Scenario, error) {
	var out []Scenario
	var tmpl *Scenario
	for i := range scenarios {
		if scenarios[i].Suite == SuiteLoad {
			if tmpl == nil {
				tmpl = &scenarios[i]
			}
			continue
		}
		out = append(out, scenarios[i])
	}
	if tmpl == nil {
		return nil, fmt.Errorf("%s: no load scenario to sweep; use a preset with one (quick, standard) or --suite load/all", where)
	}
	if tmpl.Duration == 0 && tmpl.Requests == 0 {
		return nil, fmt.Errorf("%s: the load scenario %q has no stop condition", where, tmpl.Name)
	}
	for _, v := range sw.Values {
		s := *tmpl
		s.Level = &Level{Kind: sw.Kind, Value: v}
		switch sw.Kind {
		case LevelInputTokens:
			s.InputTokens = &TokenLength{Kind: TokensFixed, A: v}
			s.Name = fmt.Sprintf("input_%g", v)
		case LevelOutputTokens:
			s.OutputTokens = &TokenLength{Kind: TokensFixed, A: v}
			s.MaxTokens = int(v)
			s.Name = fmt.Sprintf("output_%g", v)
		case LevelRate:
			if s.Arrival != ArrivalConstant {
				s.Arrival = ArrivalPoisson
			}
			if tmpl.Arrival == ArrivalClosed {
				s.Concurrency, s.ThinkTime = 0, 0
			}
			s.Rate = v
			s.Name = fmt.Sprintf("rate_%grps", v)
		default:
			s.Arrival, s.Rate, s.Concurrency = ArrivalClosed, 0, int(v)
			s.Name = fmt.Sprintf("users_%g", v)
		}
		if s.CapPolicy == "" {
			s.CapPolicy = "wait"
		}
		out = append(out, s)
	}
	return out, nil
}
