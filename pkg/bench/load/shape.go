package load

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

// shape is what one engine needs to shape requests to token lengths: its
// calibration (nil when no scenario shapes prompts) and its context.
type shape struct {
	cal *workload.Calibration
	// context is the engine's context length when it reports one (0:
	// unknown); draws are clipped so prompt and answer fit in it.
	context int
	// prefixes are each scenario's shared prefixes, by group, written
	// when a scenario first needs them (a capacity search's levels come
	// after calibration).
	mu       sync.Mutex
	prefixes map[string][]prefix
}

// prefixesOf are s's shared prefixes on this engine: the same texts for
// every engine, seeded by scenario and group.
func (sh *shape) prefixesOf(s workload.Scenario, seed int64) []prefix {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if ps, ok := sh.prefixes[s.Name]; ok {
		return ps
	}
	ps := make([]prefix, s.SharedPrefix.Groups)
	for g := range ps {
		ps[g].text, ps[g].tokens = sh.cal.Text(workload.RequestRand(seed, s.Name, int64(g), "prefix"), s.SharedPrefix.Tokens)
	}
	if sh.prefixes == nil {
		sh.prefixes = map[string][]prefix{}
	}
	sh.prefixes[s.Name] = ps
	return ps
}

// prefix is one shared prefix: its text and its tokens on this engine,
// chat template included.
type prefix struct {
	text   string
	tokens int
}

// calibrate counts the synthetic words on the engine once per run (a
// capacity search runs the runner again), and checks that the fixed
// lengths asked for fit the engine's context. With no scenario shaping
// prompts it sends nothing.
func (r *Runner) calibrate(ctx context.Context, hc *http.Client, t engine.Target, info engine.EngineInfo) (*shape, error) {
	r.shapesMu.Lock()
	defer r.shapesMu.Unlock()
	if sh, ok := r.shapes[t.Name]; ok {
		return sh, nil
	}
	sh := &shape{context: info.MaxModelLen}
	for _, s := range r.Scenarios {
		in, out := 0, s.MaxTokens
		if s.InputTokens != nil {
			in = s.InputTokens.Largest()
		}
		if s.OutputTokens != nil {
			out = s.OutputTokens.Largest()
		}
		if sh.context > 0 && in > 0 && in+out > sh.context {
			return nil, fmt.Errorf("scenario %s: %d input + %d output tokens do not fit %s's context of %d tokens; lower --input-tokens (workload.input_tokens) or raise the engine's context (max_model_len, --max-total-tokens)",
				s.Name, in, out, t.Name, sh.context)
		}
	}
	for _, s := range r.Scenarios {
		if s.Trace == nil || sh.context <= 0 {
			continue
		}
		clipped := 0
		for _, e := range s.Trace.Entries {
			if out := max(e.Output, 1); e.Input > 0 && e.Input+out > sh.context {
				clipped++
			}
		}
		if clipped > 0 {
			r.Log.Warn("trace requests longer than the engine's context: their prompts are clipped to fit", "target", t.Name,
				"scenario", s.Name, "clipped", clipped, "of", len(s.Trace.Entries), "context", sh.context)
		}
	}
	checks := workload.CheckLengths(r.Scenarios)
	for i := range checks {
		if sh.context > 1 {
			checks[i] = min(checks[i], sh.context-1) // a probe asks for one token
		}
	}
	checks = slices.Compact(checks)
	if len(checks) > 0 {
		timeout := r.Timeout
		if timeout <= 0 {
			timeout = 2 * time.Minute
		}
		c := workload.Counter{Prompt: func(ctx context.Context, text string) (int, error) {
			return engine.ProbePromptTokens(ctx, hc, t, text, timeout)
		}}
		if t.Type != engine.EngineOllama {
			c.Raw = func(ctx context.Context, text string) (int, error) { return engine.CountTokens(ctx, hc, t, text) }
		}
		r.Log.Info("calibrating prompt lengths", "target", t.Name, "check_lengths", checks)
		cal, err := workload.Calibrate(ctx, c, checks, r.Seed)
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("calibrating prompt lengths on %s: %w", t.Name, err)
			}
			r.Log.Warn("the engine cannot count tokens: its prompt lengths are estimates", "target", t.Name, "error", err)
			cal = workload.EstimatedCalibration(err)
		}
		r.Log.Info("prompt lengths calibrated", "target", t.Name, "method", cal.Method, "base_tokens", cal.BaseTokens,
			"tokens_per_word", cal.TokensPerWord, "exact", cal.Exact, "calls", cal.Calls)
		if !cal.Exact {
			r.Log.Warn("shaped prompts did not count exactly on the engine; prompt_mismatch in the journal says by how much per request",
				"target", t.Name, "checks", fmt.Sprint(cal.Checks))
		}
		for _, sc := range r.Scenarios {
			if sc.InputTokens != nil && sc.InputTokens.Kind == workload.TokensFixed && int(sc.InputTokens.A) < cal.BaseTokens && cal.Method != "estimate" {
				return nil, fmt.Errorf("scenario %s: --input-tokens %d is shorter than the shortest prompt %s takes: %d tokens (its chat template and the opener %q); ask for at least %d",
					sc.Name, int(sc.InputTokens.A), t.Name, cal.BaseTokens, workload.PromptOpener, cal.BaseTokens)
			}
		}
		sh.cal = cal
	}
	if r.shapes == nil {
		r.shapes = map[string]*shape{}
	}
	r.shapes[t.Name] = sh
	return sh, nil
}

// shaped fills a request's lengths from the scenario's shapes, the same
// draws for every engine: the prompt in this engine's tokens (at least
// the opener and template, at most what leaves room for the answer in
// the context), the answer's max_tokens.
func (sr *scenarioRun) shaped(rec *engine.Record, p engine.Request) engine.Request {
	s := sr.s
	var entry *workload.TraceEntry
	if s.Trace != nil && rec.Sequence < int64(len(s.Trace.Entries)) {
		entry = &s.Trace.Entries[rec.Sequence]
	}
	switch {
	case s.OutputTokens != nil:
		o := *s.OutputTokens
		if sr.shape.context > 0 {
			o.Max = sr.shape.context - 1
		}
		p.MaxTokens = o.Draw(workload.RequestRand(sr.r.Seed, s.Name, rec.Sequence, "output"))
	case entry != nil && entry.Output > 0:
		p.MaxTokens = entry.Output
		if sr.shape.context > 0 {
			p.MaxTokens = min(p.MaxTokens, sr.shape.context-1)
		}
	}
	if sr.shape.cal == nil {
		return p
	}
	var n int
	switch {
	case s.SharedPrefix != nil && s.InputTokens == nil && entry == nil:
		n = s.SharedPrefix.Tokens + workload.DefaultSuffixTokens
	case s.InputTokens != nil:
		in := *s.InputTokens
		if sr.shape.context > 0 {
			in.Max = max(1, sr.shape.context-p.MaxTokens)
		}
		n = in.Draw(workload.RequestRand(sr.r.Seed, s.Name, rec.Sequence, "input"))
	case entry != nil && entry.Input > 0:
		// A trace's prompt longer than the context is clipped to fit, as
		// the engine would refuse it; calibrate counted how many.
		n = entry.Input
		if sr.shape.context > 0 {
			n = max(1, min(n, sr.shape.context-p.MaxTokens))
		}
	default:
		return p
	}
	// A length below the opener and template is sent as the shortest
	// prompt the engine can take, and its record shows the mismatch.
	rng := workload.RequestRand(sr.r.Seed, s.Name, rec.Sequence, "text")
	var text string
	var ps []prefix
	if s.SharedPrefix != nil {
		ps = sr.shape.prefixesOf(s, sr.r.Seed)
	}
	if len(ps) > 0 && n > ps[0].tokens {
		g := workload.RequestRand(sr.r.Seed, s.Name, rec.Sequence, "prefix").IntN(len(ps))
		pf := ps[g]
		text, _ = sr.shape.cal.Extend(rng, pf.text, n-pf.tokens)
		rec.SharedPrefixTokens, rec.PrefixGroup = pf.tokens, &g
	} else {
		text, _ = sr.shape.cal.Text(rng, n)
	}
	p.Messages = []engine.Message{{Role: "user", Content: text}}
	p.PromptTokens = n
	return p
}
