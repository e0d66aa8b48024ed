package workload

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Arrival is how a scenario's requests are scheduled.
type Arrival string

const (
	ArrivalSequential Arrival = "sequential" // one at a time, back to back
	ArrivalClosed     Arrival = "closed"     // N users, each waits for its answer, thinks, asks again
	ArrivalConstant   Arrival = "constant"   // open loop, evenly spaced at Rate
	ArrivalPoisson    Arrival = "poisson"    // open loop, exponential gaps at mean Rate
	ArrivalTrace      Arrival = "trace"      // open loop, a recorded trace's arrivals replayed
)

// Open says requests arrive on a schedule whatever the server does
// (constant, Poisson, a trace), not when an answer came back.
func (a Arrival) Open() bool { return a == ArrivalConstant || a == ArrivalPoisson || a == ArrivalTrace }

// Suites.
const (
	SuiteTTFT = "ttft"
	SuiteLoad = "load"
)

// Scenario is one validated load shape.
type Scenario struct {
	Name    string  `json:"name"`
	Suite   string  `json:"suite"`
	Arrival Arrival `json:"arrival"`
	// Concurrency is the number of users (closed loop) or, for open loop,
	// an optional cap on requests in flight (0 = none).
	Concurrency int `json:"concurrency,omitempty"`
	// CapPolicy says what an open-loop arrival does at the cap: "wait"
	// (sent late, counted as client_queued) or "drop" (recorded, not sent).
	CapPolicy string        `json:"cap_policy,omitempty"`
	Rate      float64       `json:"rate,omitempty"`
	ThinkTime time.Duration `json:"think_time_ns,omitempty"`
	// The scenario stops at whichever of Duration or Requests comes first
	// (zero = unbounded), counting measured requests only.
	Duration       time.Duration `json:"duration_ns,omitempty"`
	Requests       int           `json:"requests,omitempty"`
	WarmupRequests int           `json:"warmup_requests,omitempty"`
	WarmupDuration time.Duration `json:"warmup_ns,omitempty"`
	MaxTokens      int           `json:"max_tokens"`
	// InputTokens, when set, shapes each prompt to a drawn length in the
	// engine's own tokenizer; OutputTokens draws each max_tokens.
	InputTokens  *TokenLength `json:"input_tokens,omitempty"`
	OutputTokens *TokenLength `json:"output_tokens,omitempty"`
	// Turns, above 1, makes each closed-loop user hold conversations of
	// that many turns, sending the growing history every turn.
	Turns int `json:"turns,omitempty"`
	// SharedPrefix starts every prompt with one of a few shared prefixes.
	SharedPrefix *SharedPrefix `json:"shared_prefix,omitempty"`
	// Trace, with arrival trace, is the recorded schedule replayed: one
	// request per entry, at its offset, with its lengths.
	Trace  *Trace `json:"trace,omitempty"`
	Target *Goal  `json:"target,omitempty"`
	// SLO is the scenario's service-level objectives (workload.slo, or
	// the load test's own slo), if any.
	SLO *SLO `json:"slo,omitempty"`
	// Level is set on the scenarios of a sweep.
	Level *Level `json:"level,omitempty"`
}

// Goal is a latency target: the percentile of a metric must not exceed LimitMS.
type Goal struct {
	Metric     string  `json:"metric"`
	Percentile float64 `json:"percentile"`
	LimitMS    float64 `json:"limit_ms"`
	// FromArrival measures from the scheduled arrival rather than the
	// send, so time spent waiting for the client's own cap counts: the
	// latency an open-loop user experiences.
	FromArrival bool `json:"from_arrival,omitempty"`
}

func (g Goal) String() string {
	from := ""
	if g.FromArrival {
		from = " from arrival"
	}
	return fmt.Sprintf("%s%s p%g ≤ %g ms", g.Metric, from, g.Percentile, g.LimitMS)
}

// MetricName is the summary metric the goal reads.
func (g Goal) MetricName() string {
	if g.FromArrival {
		return g.Metric + "_from_arrival_ms"
	}
	return g.Metric + "_ms"
}

var goalMetrics = []string{"ttft", "ttfb", "e2e", "tpot", "itl"}

// Scenarios validates the configuration and returns the scenarios to run
// for a suite filter ("ttft", "load" or "all"). Every error names the field,
// the value and what is allowed; all errors are reported at once.
func (c Config) Scenarios(suite string) ([]Scenario, error) {
	var errs []error
	bad := func(field string, value any, allowed string) {
		errs = append(errs, fmt.Errorf("%s: %v is not allowed; %s", field, value, allowed))
	}
	w := c.Workload
	if w.MaxTokens < 1 {
		bad("workload.max_tokens", w.MaxTokens, "use a whole number ≥ 1")
	}
	if w.Temperature < 0 || w.Temperature > 2 {
		bad("workload.temperature", w.Temperature, "use a number from 0 to 2")
	}
	if w.TimeoutSeconds <= 0 {
		bad("workload.timeout_seconds", w.TimeoutSeconds, "use a number of seconds > 0")
	}
	if len(w.Prompts) == 0 && w.PromptFile == "" && w.InputTokens == "" && w.Dataset == nil {
		errs = append(errs, errors.New("workload.prompts: empty; give at least one prompt or workload.prompt_file"))
	}
	switch suite {
	case "", "all", SuiteTTFT, SuiteLoad:
	default:
		bad("--suite", fmt.Sprintf("%q", suite), "use ttft, load or all")
	}
	var out []Scenario
	t := c.TestScenarios.TTFT
	if t.Enabled && (suite == "" || suite == "all" || suite == SuiteTTFT) {
		if t.Iterations < 1 {
			bad("test_scenarios.ttft.iterations", t.Iterations, "use a whole number ≥ 1")
		}
		if t.Warmup < 0 {
			bad("test_scenarios.ttft.warmup", t.Warmup, "use a whole number ≥ 0")
		}
		if t.TargetMS < 0 {
			bad("test_scenarios.ttft.target_ms", t.TargetMS, "use milliseconds ≥ 0 (0 = no target)")
		}
		s := Scenario{Name: "ttft", Suite: SuiteTTFT, Arrival: ArrivalSequential, Concurrency: 1,
			Requests: t.Iterations, WarmupRequests: t.Warmup, MaxTokens: w.MaxTokens}
		if t.TargetMS > 0 {
			s.Target = &Goal{Metric: "ttft", Percentile: 95, LimitMS: t.TargetMS}
		}
		out = append(out, s)
	}
	if suite == "" || suite == "all" || suite == SuiteLoad {
		seen := map[string]bool{"ttft": true}
		for i, lt := range c.TestScenarios.LoadTests {
			s, lerrs := lt.scenario(fmt.Sprintf("test_scenarios.load_tests[%d]", i), w.MaxTokens)
			errs = append(errs, lerrs...)
			if seen[s.Name] {
				bad(fmt.Sprintf("test_scenarios.load_tests[%d].name", i), fmt.Sprintf("%q", s.Name), "names must be unique and not \"ttft\"")
			}
			seen[s.Name] = true
			out = append(out, s)
		}
	}
	if len(errs) == 0 && len(out) == 0 {
		errs = append(errs, fmt.Errorf("nothing to run: suite %q selects no enabled scenario; enable test_scenarios.ttft or add test_scenarios.load_tests", suite))
	}
	global, err := ParseSLO(w.SLO, "workload.slo")
	if err != nil {
		errs = append(errs, err)
	}
	for i := range out {
		out[i].SLO = global
	}
	for i, lt := range c.TestScenarios.LoadTests {
		if lt.SLO == "" {
			continue
		}
		own, err := ParseSLO(lt.SLO, fmt.Sprintf("test_scenarios.load_tests[%d].slo", i))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for j := range out {
			if out[j].Name == lt.Name {
				out[j].SLO = own
			}
		}
	}
	errs = append(errs, c.shapeTokens(out)...)
	if d := w.Dataset; d != nil {
		if strings.TrimSpace(d.Path) == "" {
			errs = append(errs, errors.New("workload.dataset.path: empty; name the dataset file (--dataset PATH)"))
		}
		for _, b := range []struct {
			field string
			v     int
		}{{"min_input_tokens", d.MinInputTokens}, {"max_input_tokens", d.MaxInputTokens}, {"min_output_tokens", d.MinOutputTokens}, {"max_output_tokens", d.MaxOutputTokens}} {
			if b.v < 0 {
				bad("workload.dataset."+b.field, b.v, "use a number of tokens ≥ 0 (0: no bound)")
			}
		}
		if d.MaxInputTokens > 0 && d.MinInputTokens > d.MaxInputTokens || d.MaxOutputTokens > 0 && d.MinOutputTokens > d.MaxOutputTokens {
			errs = append(errs, fmt.Errorf("workload.dataset: a minimum above its maximum (input %d-%d, output %d-%d) keeps nothing",
				d.MinInputTokens, d.MaxInputTokens, d.MinOutputTokens, d.MaxOutputTokens))
		}
	}
	if sw, err := ParseSweep(c.TestScenarios.Sweep, "test_scenarios.sweep"); err != nil {
		errs = append(errs, err)
	} else if sw != nil && len(errs) == 0 {
		if out, err = sw.Expand(out, "test_scenarios.sweep"); err != nil {
			errs = append(errs, err)
		}
	}
	if w.SharedPrefixTokens != 0 || w.PrefixGroups != 0 {
		sp := &SharedPrefix{Tokens: w.SharedPrefixTokens, Groups: w.PrefixGroups}
		if sp.Groups == 0 {
			sp.Groups = 1
		}
		switch {
		case sp.Tokens < 1 || sp.Tokens > MaxShapedTokens:
			bad("workload.shared_prefix_tokens", w.SharedPrefixTokens, fmt.Sprintf("use a number of tokens from 1 to %d (and --prefix-groups for how many prefixes)", MaxShapedTokens))
		case sp.Groups < 1 || sp.Groups > MaxPrefixGroups:
			bad("workload.prefix_groups", w.PrefixGroups, fmt.Sprintf("use 1 to %d shared prefixes", MaxPrefixGroups))
		case w.Dataset != nil:
			errs = append(errs, errors.New("workload.shared_prefix_tokens (--shared-prefix-tokens) shapes generated prompts; it does not apply to workload.dataset (--dataset): use one"))
		default:
			for i := range out {
				if out[i].Suite != SuiteLoad {
					continue // the idle-engine TTFT suite stays a cold prefill
				}
				out[i].SharedPrefix = sp
				if in := out[i].InputTokens; in != nil && in.Kind == TokensFixed && int(in.A) <= sp.Tokens {
					errs = append(errs, fmt.Errorf("scenario %s: --input-tokens %d leaves no unique suffix after a shared prefix of %d tokens; ask for more, or leave --input-tokens out for a suffix of %d",
						out[i].Name, int(in.A), sp.Tokens, DefaultSuffixTokens))
				}
			}
		}
	}
	if w.Dataset != nil {
		for _, s := range out {
			if s.InputTokens != nil {
				errs = append(errs, fmt.Errorf("scenario %s: workload.dataset (--dataset) and input_tokens (--input-tokens, a sweep of input_tokens) both choose the prompts; use one", s.Name))
				break
			}
		}
	}
	return out, errors.Join(errs...)
}

// SharedPrefix is --shared-prefix-tokens and --prefix-groups.
type SharedPrefix struct {
	Tokens int `json:"tokens"`
	Groups int `json:"groups"`
}

// DefaultSuffixTokens is the unique part of a prompt with a shared prefix
// when --input-tokens does not set the whole length.
const DefaultSuffixTokens = 64

// MaxTurns bounds a conversation's turns.
const MaxTurns = 100

// MaxPrefixGroups bounds --prefix-groups: each prefix is kept in memory.
const MaxPrefixGroups = 10_000

// MaxShapedTokens bounds --input-tokens and --output-tokens: beyond the
// largest contexts served today.
const MaxShapedTokens = 10_000_000

// shapeTokens sets each scenario's input and output shapes: the
// workload's, or its load test's own.
func (c Config) shapeTokens(out []Scenario) []error {
	var errs []error
	parse := func(spec, field string) *TokenLength {
		if strings.TrimSpace(spec) == "" {
			return nil
		}
		t, err := ParseTokenLength(spec, field)
		if err == nil && t.Largest() > MaxShapedTokens {
			err = fmt.Errorf("%s %q: at most %d tokens", field, spec, MaxShapedTokens)
		}
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		return &t
	}
	in := parse(c.Workload.InputTokens, "workload.input_tokens")
	outTok := parse(c.Workload.OutputTokens, "workload.output_tokens")
	for i := range out {
		out[i].InputTokens, out[i].OutputTokens = in, outTok
	}
	for i, lt := range c.TestScenarios.LoadTests {
		own := parse(lt.InputTokens, fmt.Sprintf("test_scenarios.load_tests[%d].input_tokens", i))
		ownOut := parse(lt.OutputTokens, fmt.Sprintf("test_scenarios.load_tests[%d].output_tokens", i))
		for j := range out {
			if out[j].Name != lt.Name || out[j].Suite != SuiteLoad {
				continue
			}
			if own != nil {
				out[j].InputTokens = own
			}
			if ownOut != nil {
				out[j].OutputTokens = ownOut
			}
		}
	}
	return errs
}

func (lt LoadTest) scenario(field string, maxTokens int) (Scenario, []error) {
	var errs []error
	bad := func(f string, value any, allowed string) {
		errs = append(errs, fmt.Errorf("%s.%s: %v is not allowed; %s", field, f, value, allowed))
	}
	s := Scenario{Name: lt.Name, Suite: SuiteLoad, Rate: lt.Rate, ThinkTime: lt.ThinkTime.Duration,
		Requests: lt.Requests, CapPolicy: lt.CapPolicy, MaxTokens: maxTokens,
		Duration:       time.Duration(lt.DurationSeconds * float64(time.Second)),
		WarmupDuration: time.Duration(lt.WarmupSeconds * float64(time.Second))}
	if lt.MaxTokens != 0 {
		s.MaxTokens = lt.MaxTokens
		if lt.MaxTokens < 1 {
			bad("max_tokens", lt.MaxTokens, "use a whole number ≥ 1")
		}
	}
	if strings.TrimSpace(lt.Name) == "" {
		errs = append(errs, fmt.Errorf("%s.name: missing; give each load test a name", field))
	}
	arrival := Arrival(strings.ToLower(lt.Arrival))
	if lt.Trace != "" && arrival == "" {
		arrival = ArrivalTrace
	}
	if arrival == "" {
		arrival = ArrivalClosed
		if lt.Rate > 0 {
			arrival = ArrivalConstant
		}
	}
	s.Arrival = arrival
	switch arrival {
	case ArrivalClosed:
		if lt.ConcurrentUsers < 1 {
			bad("concurrent_users", lt.ConcurrentUsers, "a closed-loop test needs a whole number of users ≥ 1")
		}
		if lt.Rate != 0 {
			bad("rate", lt.Rate, "rate applies to arrival constant or poisson; remove it or change arrival")
		}
		s.Concurrency = lt.ConcurrentUsers
	case ArrivalConstant, ArrivalPoisson:
		if lt.Rate <= 0 || lt.Rate > 100000 {
			bad("rate", lt.Rate, "an open-loop test needs requests per second > 0 and ≤ 100000")
		}
		if lt.MaxConcurrency < 0 {
			bad("max_concurrency", lt.MaxConcurrency, "use 0 (no cap) or a whole number ≥ 1")
		}
		s.Concurrency = lt.MaxConcurrency
		if lt.ConcurrentUsers != 0 {
			bad("concurrent_users", lt.ConcurrentUsers, "users apply to arrival closed; use max_concurrency to cap an open loop")
		}
	case ArrivalTrace:
		if lt.Trace == "" {
			errs = append(errs, fmt.Errorf("%s.trace: missing; arrival trace replays a trace file (--trace FILE)", field))
			break
		}
		if lt.Rate != 0 || lt.ConcurrentUsers != 0 || lt.DurationSeconds != 0 || lt.Requests != 0 {
			errs = append(errs, fmt.Errorf("%s: a trace sets the arrivals, their number and the duration; remove rate, concurrent_users, duration_seconds and requests (trace_speed scales time, max_concurrency caps)", field))
		}
		speed := lt.TraceSpeed
		if speed == 0 {
			speed = 1
		}
		tr, err := LoadTrace(lt.Trace, speed)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s.trace: %w", field, err))
			break
		}
		s.Trace = tr
		s.Concurrency = lt.MaxConcurrency
	default:
		bad("arrival", fmt.Sprintf("%q", lt.Arrival), "use closed, constant, poisson or trace")
	}
	if lt.Turns != 0 {
		switch {
		case lt.Turns < 1 || lt.Turns > MaxTurns:
			bad("turns", lt.Turns, fmt.Sprintf("use 1 to %d turns a conversation", MaxTurns))
		case arrival != ArrivalClosed && lt.Turns > 1:
			bad("turns", lt.Turns, "conversations are held by closed-loop users (arrival closed, concurrent_users); an open loop sends independent requests")
		default:
			s.Turns = lt.Turns
		}
	}
	if lt.Trace != "" && arrival != ArrivalTrace {
		bad("arrival", fmt.Sprintf("%q", lt.Arrival), "a load test with a trace replays it: leave arrival out or set it to trace")
	}
	switch lt.CapPolicy {
	case "", "wait", "drop":
		if s.CapPolicy == "" {
			s.CapPolicy = "wait"
		}
	default:
		bad("cap_policy", fmt.Sprintf("%q", lt.CapPolicy), "use wait or drop")
	}
	if lt.DurationSeconds < 0 {
		bad("duration_seconds", lt.DurationSeconds, "use seconds > 0")
	}
	if lt.Requests < 0 {
		bad("requests", lt.Requests, "use a whole number ≥ 1")
	}
	if lt.DurationSeconds == 0 && lt.Requests == 0 && arrival != ArrivalTrace {
		errs = append(errs, fmt.Errorf("%s: no stop condition; set duration_seconds or requests", field))
	}
	if lt.ThinkTime.Duration < 0 {
		bad("think_time", lt.ThinkTime, "use a duration ≥ 0 like 500ms")
	}
	if lt.WarmupSeconds < 0 {
		bad("warmup_seconds", lt.WarmupSeconds, "use seconds ≥ 0")
	}
	if lt.TargetP95MS < 0 {
		bad("target_p95_ms", lt.TargetP95MS, "use milliseconds ≥ 0 (0 = no target)")
	}
	metric := lt.TargetMetric
	if metric == "" {
		metric = "ttft"
	}
	if !contains(goalMetrics, metric) {
		bad("target_metric", fmt.Sprintf("%q", lt.TargetMetric), "use one of "+strings.Join(goalMetrics, ", "))
	}
	if lt.TargetP95MS > 0 {
		open := s.Arrival.Open()
		s.Target = &Goal{Metric: metric, Percentile: 95, LimitMS: lt.TargetP95MS, FromArrival: open && (metric == "ttft" || metric == "e2e")}
	}
	return s, errs
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ExpectedRequests estimates a scenario's request count for the dry-run
// plan; -1 means it depends on the server's speed (closed loop by duration).
func (s Scenario) ExpectedRequests() int {
	switch s.Arrival {
	case ArrivalSequential:
		return s.Requests + s.WarmupRequests
	case ArrivalTrace:
		if s.Trace != nil {
			return s.Trace.Requests
		}
	case ArrivalConstant, ArrivalPoisson:
		n := int(s.Rate * (s.Duration + s.WarmupDuration).Seconds())
		if s.Requests > 0 && (s.Duration == 0 || s.Requests < n) {
			n = s.Requests + int(s.Rate*s.WarmupDuration.Seconds())
		}
		return n
	}
	if s.Duration == 0 {
		return s.Requests
	}
	return -1
}

// ExpectedDuration estimates wall time; zero when it depends on the server.
func (s Scenario) ExpectedDuration() time.Duration {
	if s.Arrival == ArrivalTrace && s.Trace != nil {
		return time.Duration(s.Trace.SpanS * float64(time.Second))
	}
	if s.Duration > 0 {
		return s.Duration + s.WarmupDuration
	}
	if s.Arrival == ArrivalConstant || s.Arrival == ArrivalPoisson {
		return time.Duration(float64(s.Requests)/s.Rate*float64(time.Second)) + s.WarmupDuration
	}
	return 0
}
