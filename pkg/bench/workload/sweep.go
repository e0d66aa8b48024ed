package workload

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Level is one load level of a sweep: a request rate or a number of
// concurrent users.
type Level struct {
	Kind  string  `json:"kind"` // rate | concurrency
	Value float64 `json:"value"`
}

func (l Level) String() string {
	if l.Kind == LevelRate {
		return fmt.Sprintf("%g req/s", l.Value)
	}
	return fmt.Sprintf("%g users", l.Value)
}

// Level kinds.
const (
	LevelRate        = "rate"
	LevelConcurrency = "concurrency"
)

// Sweep is a series of load levels run one after another.
type Sweep struct {
	Kind   string
	Values []float64
}

// ParseSweep reads "rate=1,2,4,8" or "concurrency=1,2,4,8".
func ParseSweep(spec, where string) (*Sweep, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, nil
	}
	kind, list, ok := strings.Cut(spec, "=")
	kind = strings.ToLower(strings.TrimSpace(kind))
	if kind == "users" {
		kind = LevelConcurrency
	}
	if !ok || (kind != LevelRate && kind != LevelConcurrency) {
		return nil, fmt.Errorf("%s: %q: write rate=1,2,4,8 (requests/s, open loop) or concurrency=1,2,4,8 (users, closed loop)", where, spec)
	}
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
// a concurrency sweep runs closed loop.
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
		if sw.Kind == LevelRate {
			if s.Arrival != ArrivalConstant {
				s.Arrival = ArrivalPoisson
			}
			if tmpl.Arrival == ArrivalClosed {
				s.Concurrency, s.ThinkTime = 0, 0
			}
			s.Rate = v
			s.Name = fmt.Sprintf("rate_%grps", v)
		} else {
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
