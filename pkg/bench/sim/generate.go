package sim

import (
	"context"
	"math/rand/v2"
	"time"
)

// job is one generation request after parsing and validation.
type job struct {
	arrived      time.Time
	seq          uint64      // the engine's request number
	model        *modelState // the model asked for; an engine's only one otherwise
	rng          *rand.Rand  // seeded by (Seed, seq): texts and jitter
	promptTokens int
	// cachedTokens of the prompt were found in the prefix cache: prefill
	// is charged for the rest.
	cachedTokens int
	maxTokens    int
	// forceLength is vLLM's ignore_eos: no natural stop.
	forceLength bool
	// minTokens is vLLM's min_tokens: EOS is suppressed before it.
	minTokens int
	// unlimited is Ollama's num_predict <= 0: maxTokens is only the
	// simulator's cap and the generation ends as a natural stop.
	unlimited bool
	// preemptions counts the KV cache preempting it.
	preemptions int
	// eosIsToken: vLLM and TGI count the EOS token in the output and emit a
	// chunk for it (empty text, or special:true on TGI's native API).
	// Ollama does not.
	eosIsToken bool
}

// outcome is how a generation will end, known before it starts.
type outcome struct {
	tokens int
	eos    bool // natural stop (stop / eos_token) rather than length
}

// timing holds monotonic instants of one generation.
type timing struct {
	arrived  time.Time
	queued   time.Time // parsed and validated; starts waiting for a slot
	admitted time.Time // got a batch slot
	loaded   time.Time // model load done (Ollama's cold start)
	first    time.Time
	last     time.Time
}

// emitFunc sends token i. last marks the final token.
type emitFunc func(i int, w *word, last bool) error

func (e *backend) newJob(arrived time.Time) *job {
	seq := e.requests.Add(1)
	return &job{arrived: arrived, seq: seq, rng: newRequestRNG(e.seed, seq), model: e.models[0]}
}

func (e *backend) plan(j *job) outcome {
	o := outcome{tokens: j.maxTokens}
	if j.unlimited {
		o.eos = true
	}
	natural := e.prof.NaturalStopTokens
	if j.model.naturalStop > 0 {
		natural = j.model.naturalStop
	}
	if !j.forceLength && natural > 0 {
		stopAt := max(natural, j.minTokens, 1)
		if stopAt < o.tokens {
			o.tokens, o.eos = stopAt, true
		}
	}
	return o
}

// run waits for a batch slot, the model load and the prefill, then emits
// each token at its modelled time. Deadlines accumulate from the first token
// rather than from each write, so write overhead does not stretch the model.
func (e *backend) run(ctx context.Context, j *job, o outcome, emit emitFunc) (timing, error) {
	tm := timing{arrived: j.arrived}
	var gaps []time.Duration // for /metrics' inter-token latency
	if e.metrics != nil {
		gaps = make([]time.Duration, 0, o.tokens)
	}
	emitted := 0
	defer func() {
		reason := "length"
		switch {
		case emitted < o.tokens:
			reason = "abort"
		case o.eos:
			reason = "stop"
		}
		e.metrics.record(j, tm, emitted, gaps, reason)
	}()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()

	tm.queued = time.Now()
	if err := e.acquire(ctx); err != nil {
		return tm, err
	}
	defer e.release()
	tm.admitted = time.Now()
	if err := e.waitLoaded(ctx, timer, j.model); err != nil {
		return tm, err
	}
	tm.loaded = time.Now()

	held, start := int64(j.promptTokens), tm.loaded
	if e.kv != nil {
		if err := e.kv.reserve(ctx, held, false); err != nil {
			return tm, err
		}
		defer func() { e.kv.release(held) }()
		start = time.Now() // prefill begins once the prompt fits
	}
	next := start.Add(e.prof.prefill(max(0, j.promptTokens-j.cachedTokens)))
	for i := 0; i < o.tokens; i++ {
		if e.kv != nil && !e.kv.grow(held) {
			// Preempted: everything held is freed and recomputed once
			// it fits again with the next token.
			e.kv.release(held)
			j.preemptions++
			if err := e.kv.reserve(ctx, held+1, true); err != nil {
				held = 0
				return tm, err
			}
			next = time.Now().Add(e.prof.prefill(int(held)))
		}
		held++
		if err := sleepUntil(ctx, timer, next); err != nil {
			return tm, err
		}
		w := &vocab[j.rng.IntN(len(vocab))]
		u := j.rng.Float64()
		last := i == o.tokens-1
		if last && o.eos && j.eosIsToken {
			w = &eosWord
		}
		now := time.Now()
		if i == 0 {
			tm.first = now
		} else if gaps != nil {
			gaps = append(gaps, now.Sub(tm.last))
		}
		tm.last = now
		if err := emit(i, w, last); err != nil {
			return tm, err
		}
		emitted++
		if !last {
			gap := e.prof.decodeGap(e.runningNow.Load(), u)
			if e.trace != nil {
				e.trace(j.seq, i, gap)
			}
			next = next.Add(gap)
		}
	}
	j.model.lastUsed.Store(time.Now().UnixNano())
	return tm, nil
}
