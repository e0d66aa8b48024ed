package sim

import (
	"container/list"
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
)

// backend is one simulated server: its profile and its own scheduler state,
// so that load on one backend never slows another.
type backend struct {
	kind    engine.EngineType
	prof    Profile // latencies already scaled
	seed    int64
	created time.Time // what Ollama reports as the model's modified_at

	// requests numbers generation requests; with the seed it picks each
	// request's RNG, which makes a sequential run reproducible.
	requests atomic.Uint64

	mu       sync.Mutex
	inFlight int       // admitted by enter, not yet left
	running  int       // holding a batch slot
	waiting  list.List // of *waiter, FIFO
	// runningNow mirrors running for the per-token hot path, which must not
	// take the lock.
	runningNow atomic.Int64

	// models are the served models, in listing order; engines other than
	// Ollama have one.
	models []*modelState
	// dialect is the Ollama release imitated (Profile.Version).
	dialect ollamaDialect

	// cache is the prefix cache (Profile.PrefixCaching), nil without.
	cache *prefixCache
	// metrics is what /metrics reports (vLLM), nil where the engine has
	// none.
	metrics *serverMetrics

	// kv is vLLM's KV cache (nil for the others); busy the time a
	// sequence was running, the simulated GPU's utilisation.
	kv   *kvCache
	busy busyClock
	// gpuLast is the last DCGM scrape's instant and busy time.
	gpuMu       sync.Mutex
	gpuLastAt   time.Time
	gpuLastBusy time.Duration

	// trace, when set (tests), sees each modelled gap before it is slept.
	trace func(request uint64, token int, gap time.Duration)
}

// modelState is one served model. Ollama loads each model on its first
// request, so each has its own cold load.
type modelState struct {
	name        string // with its tag for Ollama
	naturalStop int    // Model.NaturalStopTokens
	bytePrompt  bool   // Model.BytePrompt

	loadUntil time.Time // under engine.mu; zero until the first request starts the load
	loaded    atomic.Bool
	lastUsed  atomic.Int64 // unix nanoseconds, for /api/ps expires_at
}

type waiter struct {
	ready   chan struct{}
	granted bool // set under engine.mu when a released slot passes to it
}

func newEngine(kind engine.EngineType, opts Options, created time.Time) *backend {
	e := &backend{kind: kind, prof: resolveProfile(kind, opts), seed: opts.Seed, created: created}
	e.dialect = newOllamaDialect(e.prof.Version)
	e.busy.since, e.gpuLastAt = time.Now(), time.Now()
	switch kind {
	case engine.EngineVLLM:
		e.metrics = newServerMetrics()
		e.kv = newKVCache(int64(e.prof.KVCacheTokens))
	case engine.EngineTGI:
		e.metrics = newTGIMetrics()
	}
	if e.metrics != nil {
		e.metrics.served = opts.Served
		e.metrics.engine = kind
	}
	if e.prof.PrefixCaching {
		e.cache = newPrefixCache(e.prof.prefixBlock(), prefixCacheBlocks)
	}
	if kind == engine.EngineOllama && len(e.prof.Models) > 0 {
		for _, m := range e.prof.Models {
			e.models = append(e.models, &modelState{name: ollamaTagged(m.Name), naturalStop: m.NaturalStopTokens, bytePrompt: m.BytePrompt})
		}
	} else {
		name := e.prof.Model
		if kind == engine.EngineOllama {
			name = ollamaTagged(name)
		}
		e.models = []*modelState{{name: name}}
	}
	return e
}

// enter counts a request in flight unless limit (0 = none) are already in
// flight. TGI's permits and Ollama's pending queue both reject at arrival.
func (e *backend) enter(limit int) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if limit > 0 && e.inFlight >= limit {
		return false
	}
	e.inFlight++
	return true
}

func (e *backend) leave() {
	e.mu.Lock()
	e.inFlight--
	e.mu.Unlock()
}

// acquire waits, in arrival order, for one of MaxBatch decode slots.
func (e *backend) acquire(ctx context.Context) error {
	e.mu.Lock()
	if e.running < e.prof.MaxBatch && e.waiting.Len() == 0 {
		e.running++
		e.runningNow.Store(int64(e.running))
		e.busy.set(e.running)
		e.mu.Unlock()
		return nil
	}
	w := &waiter{ready: make(chan struct{})}
	el := e.waiting.PushBack(w)
	e.mu.Unlock()

	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		e.mu.Lock()
		granted := w.granted
		if !granted {
			e.waiting.Remove(el)
		}
		e.mu.Unlock()
		if granted {
			// The slot arrived as the client left: pass it on.
			e.release()
		}
		return ctx.Err()
	}
}

// release frees a slot, handing it straight to the oldest waiter.
func (e *backend) release() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if front := e.waiting.Front(); front != nil {
		w := e.waiting.Remove(front).(*waiter)
		w.granted = true
		close(w.ready)
		return
	}
	e.running--
	e.runningNow.Store(int64(e.running))
	e.busy.set(e.running)
}

// queueState reports running and waiting counts (tests and /api/ps).
func (e *backend) queueState() (running, waiting, inFlight int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.running, e.waiting.Len(), e.inFlight
}

// waitLoaded blocks until model m is loaded. The first caller starts the
// load; everyone arriving during it waits for the same moment, as requests
// do while Ollama loads a model.
func (e *backend) waitLoaded(ctx context.Context, t *time.Timer, m *modelState) error {
	if m.loaded.Load() {
		return nil
	}
	e.mu.Lock()
	if m.loadUntil.IsZero() {
		m.loadUntil = time.Now().Add(e.prof.ColdLoad)
	}
	until := m.loadUntil
	e.mu.Unlock()
	if err := sleepUntil(ctx, t, until); err != nil {
		return err
	}
	m.loaded.Store(true)
	return nil
}

// decodeGap is the modelled time to the next token with running sequences
// in the batch; u in [0,1) draws the jitter.
func (p *Profile) decodeGap(running int64, u float64) time.Duration {
	if running < 1 {
		running = 1
	}
	f := 1 + p.DecodeSlowdownPerSeq*float64(running-1)
	f *= 1 + p.Jitter*(2*u-1)
	if f < 0 {
		f = 0
	}
	return time.Duration(float64(p.DecodePerToken) * f)
}

func (p *Profile) prefill(promptTokens int) time.Duration {
	return p.PrefillBase + time.Duration(promptTokens)*p.PrefillPerToken
}

// newRequestRNG gives request number n its own stream. splitmix64 spreads
// consecutive counters over the PCG state.
func newRequestRNG(seed int64, n uint64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), splitmix64(n)))
}

func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// sleepUntil waits for a monotonic deadline on a reused timer. A deadline
// already past returns at once, so a writer that fell behind catches up the
// way a real server's buffered output does.
func sleepUntil(ctx context.Context, t *time.Timer, deadline time.Time) error {
	d := time.Until(deadline)
	if d <= 0 {
		return ctx.Err()
	}
	t.Reset(d)
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		t.Stop()
		return ctx.Err()
	}
}
