package summary

import (
	"maps"
	"slices"
	"sync"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/metric"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/stats"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

// Summarizer folds records into a summary one at a time, as they finish,
// so the memory a run needs follows its engines, scenarios and metrics,
// not its request count (see Sample). It is a Sink.
type Summarizer struct {
	mu     sync.Mutex
	runID  string
	obj    Objectives
	idx    map[groupKey]int
	groups []*groupAcc
}

// groupAcc is one engine × scenario while its records arrive.
type groupAcc struct {
	g           Group // counts so far; Metrics and verdicts when finished
	samples     map[string]*stats.Sample
	first, last int64
	seen        bool
	tally       sloTally
	cold        coldSamples
	// unreported holds the TTFT of shared-prefix requests whose engine
	// said nothing of its cache; where others of the group had usage's
	// cached_tokens, they were misses (vLLM leaves prompt_tokens_details
	// out when nothing was cached [UNSURE]).
	unreported  stats.Sample
	cachedUsage bool
	// turns are the multi-turn TTFT and prompt samples, by turn.
	turns map[int]*turnAcc
}

type turnAcc struct{ ttft, prompt stats.Sample }

// NewSummarizer starts an empty summary judged against obj.
func NewSummarizer(runID string, obj Objectives) *Summarizer {
	return &Summarizer{runID: runID, obj: obj, idx: map[groupKey]int{}}
}

// SummarizerOf folds records already in memory.
func SummarizerOf(runID string, records []engine.Record, obj Objectives) *Summarizer {
	sz := NewSummarizer(runID, obj)
	for i := range records {
		sz.Add(&records[i])
	}
	return sz
}

// Judge adds the objectives of scenarios decided while the run goes on
// (the levels of a capacity search); call it before their records arrive.
func (sz *Summarizer) Judge(scenarios []workload.Scenario) {
	sz.mu.Lock()
	defer sz.mu.Unlock()
	more := ObjectivesOf(scenarios)
	// Copies: the caller's maps stay as they were.
	sz.obj.Goals = merged(sz.obj.Goals, more.Goals)
	sz.obj.SLOs = merged(sz.obj.SLOs, more.SLOs)
	sz.obj.Levels = merged(sz.obj.Levels, more.Levels)
}

// Write adds a finished record.
func (sz *Summarizer) Write(rec *engine.Record) error {
	sz.Add(rec)
	return nil
}

// Add folds one record in. Group order follows first appearance.
func (sz *Summarizer) Add(r *engine.Record) {
	sz.mu.Lock()
	defer sz.mu.Unlock()
	k := groupKey{r.Engine, r.Scenario}
	gi, ok := sz.idx[k]
	if !ok {
		gi = len(sz.groups)
		sz.idx[k] = gi
		sz.groups = append(sz.groups, &groupAcc{
			g: Group{Engine: r.Engine, EngineType: r.EngineType, Model: r.Model, Suite: r.Suite, Scenario: r.Scenario,
				Errors: map[string]int{}, ErrorExamples: map[string]string{}},
			samples: map[string]*stats.Sample{}})
	}
	sz.groups[gi].add(r, sz.obj.SLOs[r.Scenario])
}

func (a *groupAcc) sample(name string) *stats.Sample {
	s := a.samples[name]
	if s == nil {
		s = &stats.Sample{}
		a.samples[name] = s
	}
	return s
}

func (a *groupAcc) add(r *engine.Record, slo *workload.SLO) {
	g := &a.g
	if r.Phase == engine.PhaseWarmup {
		g.Warmup++
		return
	}
	switch r.ErrorClass {
	case engine.ErrDropped:
		g.Dropped++
		return
	case engine.ErrCanceled:
		g.Canceled++
		return
	}
	g.Requests++
	if slo != nil {
		a.tally.add(slo, r)
	}
	if r.ClientQueued {
		g.ClientQueued++
	}
	a.sample(metric.ScheduleLag).Add(r.ScheduleLagMS)
	if !a.seen || r.StartUnixNS < a.first {
		a.first = r.StartUnixNS
	}
	if !a.seen || r.EndUnixNS > a.last {
		a.last = r.EndUnixNS
	}
	a.seen = true
	if !r.OK {
		g.Failed++
		g.Errors[r.ErrorClass]++
		if _, ok := g.ErrorExamples[r.ErrorClass]; !ok {
			g.ErrorExamples[r.ErrorClass] = r.Error
		}
		return
	}
	g.Succeeded++
	g.OutputTokensTotal += r.OutputTokens
	if r.OutputMismatch {
		g.OutputMismatch++
	}
	if r.PromptMismatch {
		g.PromptMismatch++
	}
	if r.OutputTokensSource == engine.TokensFromChunks {
		g.TokensEstimated++
	}
	if r.ColdStart {
		// A model load is not the engine's steady state; it is reported
		// on its own instead of inflating TTFT percentiles.
		a.cold.add(r)
		return
	}
	add := func(name string, v *float64) {
		if v != nil {
			a.sample(name).Add(*v)
		}
	}
	for i := range metric.Defs {
		if d := &metric.Defs[i]; d.Of != nil {
			add(d.Name, d.Of(r))
		}
	}
	if r.TTFTMS != nil {
		a.sample(metric.TTFTFromArrival).Add(r.ScheduleLagMS + *r.TTFTMS)
	}
	if r.E2EMS != nil {
		a.sample(metric.E2EFromArrival).Add(r.ScheduleLagMS + *r.E2EMS)
	}
	if len(r.ITLMS) > 0 {
		itl := a.sample(metric.ITL)
		for _, v := range r.ITLMS {
			itl.Add(v)
		}
	}
	if r.Turn > 0 && r.TTFTMS != nil {
		if a.turns == nil {
			a.turns = map[int]*turnAcc{}
		}
		t := a.turns[r.Turn]
		if t == nil {
			t = &turnAcc{}
			a.turns[r.Turn] = t
		}
		t.ttft.Add(*r.TTFTMS)
		t.prompt.Add(float64(r.PromptTokens))
	}
	if c := r.CachedTokens; c == nil && r.SharedPrefixTokens > 0 && r.TTFTMS != nil {
		a.unreported.Add(*r.TTFTMS)
	}
	if c := r.CachedTokens; c != nil {
		a.cachedUsage = a.cachedUsage || r.CachedTokensSource == engine.CachedFromUsage
		a.sample(metric.CachedTokens).Add(float64(*c))
		if r.TTFTMS != nil {
			split := metric.TTFTPrefixMiss
			if *c > 0 {
				split = metric.TTFTPrefixHit
			}
			a.sample(split).Add(*r.TTFTMS)
		}
	}
	a.sample(metric.PromptTokens).Add(float64(r.PromptTokens))
	a.sample(metric.OutputTokens).Add(float64(r.OutputTokens))
}

// finish derives the group's statistics and verdicts from what arrived.
func (a *groupAcc) finish(obj Objectives) Group {
	g := a.g
	// The accumulator keeps counting: the summary gets its own maps.
	g.Errors = maps.Clone(g.Errors)
	g.ErrorExamples = maps.Clone(g.ErrorExamples)
	g.Metrics = map[string]stats.Stats{}
	for name, s := range a.samples {
		g.Metrics[name] = s.Stats()
	}
	for turn, t := range a.turns {
		g.ByTurn = append(g.ByTurn, TurnStats{Turn: turn, TTFT: t.ttft.Stats(), PromptTokensMean: t.prompt.Mean()})
	}
	slices.SortFunc(g.ByTurn, func(x, y TurnStats) int { return x.Turn - y.Turn })
	if a.cachedUsage && a.unreported.Len() > 0 {
		var miss stats.Sample
		miss.Merge(a.samples[metric.TTFTPrefixMiss])
		miss.Merge(&a.unreported)
		g.Metrics[metric.TTFTPrefixMiss] = miss.Stats()
	}
	if g.Requests > 0 {
		g.ErrorRate = float64(g.Failed) / float64(g.Requests)
	}
	if w := float64(a.last-a.first) / 1e9; w > 0 {
		g.WindowS = w
		g.RequestsPerS = float64(g.Succeeded) / w
		g.OutputTokensPerS = float64(g.OutputTokensTotal) / w
	}
	if goal := obj.Goals[g.Scenario]; goal != nil {
		g.Target = EvaluateGoal(*goal, a.samples[goal.MetricName()], g.Failed)
	}
	if slo := obj.SLOs[g.Scenario]; slo != nil {
		g.SLO = evaluateSLO(*slo, &g, a.samples, a.tally)
	}
	finishServerViews(&g, &a.cold)
	return g
}

// Group is one engine × scenario's summary as it stands.
func (sz *Summarizer) Group(engine, scenario string) (Group, bool) {
	sz.mu.Lock()
	defer sz.mu.Unlock()
	gi, ok := sz.idx[groupKey{engine, scenario}]
	if !ok {
		return Group{}, false
	}
	return sz.groups[gi].finish(sz.obj), true
}

// Measured is one engine × scenario with the samples behind its
// statistics, for the verdicts that test samples rather than summaries.
type Measured struct {
	Group   Group
	Samples map[string]*stats.Sample
}

// Inspect calls f with every group finished, in order of first appearance,
// while no record can be added, so that the verdicts f computes from the
// samples see the same records as the groups.
func (sz *Summarizer) Inspect(f func(runID string, obj Objectives, groups []Measured)) {
	sz.mu.Lock()
	defer sz.mu.Unlock()
	groups := make([]Measured, len(sz.groups))
	for i, a := range sz.groups {
		groups[i] = Measured{Group: a.finish(sz.obj), Samples: a.samples}
	}
	f(sz.runID, sz.obj, groups)
}

func merged[V any](a, b map[string]V) map[string]V {
	out := maps.Clone(a)
	if out == nil {
		out = map[string]V{}
	}
	maps.Copy(out, b)
	return out
}
