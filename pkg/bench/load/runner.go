package load

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

// Observer hears about scenario boundaries, for progress displays.
type Observer interface {
	ScenarioStarted(t engine.Target, s workload.Scenario)
	ScenarioFinished(t engine.Target, s workload.Scenario)
}

// RequestObserver, when the Observer has it too, hears each request just
// before it is sent (its record knows the engine, scenario and phase but
// no timing yet): the live view and the metrics endpoint count what is in
// flight from it and the Sink's records.
type RequestObserver interface {
	RequestSent(rec *engine.Record)
}

// Runner executes scenarios against targets and hands every record to Sink.
type Runner struct {
	Targets   []engine.Target
	Scenarios []workload.Scenario
	// Prompts are used in turn by sequence (or drawn, SamplePrompts);
	// MaxTokens comes from the scenario unless a template has its own.
	Prompts  []engine.Request
	HTTP     *http.Client
	Timeout  time.Duration
	Clock    engine.Clock
	RunID    string
	Sink     Sink
	Observer Observer
	// Parallel runs targets at once instead of one after another.
	Parallel bool
	// Grace is how long in-flight requests may finish after a stop.
	Grace time.Duration
	Seed  int64
	Log   *slog.Logger

	// UniquePrompts marks every user turn (see request).
	UniquePrompts bool
	// SamplePrompts draws each request's template, seeded by scenario and
	// sequence (a dataset), instead of taking them in turn.
	SamplePrompts bool
	// FollowUps are, by prompt index, the later user turns of the
	// conversation a template opens (a dataset's); a multi-turn scenario
	// sends them in order before drawing new templates.
	FollowUps [][]string
	// Guard, when set, gives each engine × scenario a check of every
	// finished record; a reason ends the scenario early (SLOGuard: a
	// capacity level whose SLO can no longer hold).
	Guard func(engine.Target, workload.Scenario) func(*engine.Record) string
	// Slot, when set, says when target i's scenario k may start: the
	// runner waits until then (a zero time: at once), so the generators
	// of a distributed run begin each scenario together.
	Slot func(i, k int) time.Time
	// Shard, when not whole, runs only this generator's part of every
	// scenario (run --in-cluster --workers N); its records are numbered
	// as they would be in the whole (workload.Shard).
	Shard workload.Shard

	nextID       atomic.Int64
	sinkErrors   atomic.Int64
	firstSinkErr atomic.Value
	shapesMu     sync.Mutex
	shapes       map[string]*shape // by target name
}

// TargetStatus is the outcome of one target in a run.
type TargetStatus struct {
	Target engine.Target     `json:"target"`
	Info   engine.EngineInfo `json:"info"`
	// Calibration is how prompts were shaped to --input-tokens on this
	// engine, when they were.
	Calibration *workload.Calibration `json:"prompt_calibration,omitempty"`
	Error       string                `json:"error,omitempty"`
	// Aborted lists scenarios stopped early because the engine stopped
	// accepting connections, with the reason.
	Aborted []string `json:"aborted_scenarios,omitempty"`
}

// RunResult is what a run did, for the manifest.
type RunResult struct {
	Status      string         `json:"status"` // complete | interrupted | failed
	Targets     []TargetStatus `json:"targets"`
	StartUnixNS int64          `json:"start_unix_ns"`
	EndUnixNS   int64          `json:"end_unix_ns"`
	// InterruptedUnixNS is when the run saw its stop (Ctrl-C): no request
	// was sent after it. 0 when it was not interrupted.
	InterruptedUnixNS int64 `json:"interrupted_unix_ns,omitempty"`
	// RecordErrors counts records a sink (the journal) failed to take.
	RecordErrors     int64  `json:"record_errors,omitempty"`
	FirstRecordError string `json:"first_record_error,omitempty"`
}

// Run probes every target, then runs each scenario against each target that
// answered. A target that cannot be reached is reported and skipped; the
// others still run. Cancelling ctx stops new requests at once and gives
// in-flight ones Grace to finish.
func (r *Runner) Run(ctx context.Context) RunResult {
	if r.Log == nil {
		r.Log = slog.New(slog.DiscardHandler)
	}
	res := RunResult{StartUnixNS: r.Clock.UnixNS(time.Now())}
	// A runner may run again (each level of a capacity search): a result
	// counts only its own journal failures, so merged results add up.
	sinkErrorsBefore := r.sinkErrors.Load()
	// Requests outlive the stop signal by Grace so answers already on
	// their way are measured rather than thrown away.
	reqCtx, cancelReq := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelReq()
	finished := make(chan struct{})
	defer close(finished)
	var interruptedAt atomic.Int64
	go func() {
		select {
		case <-ctx.Done():
			// Stamped after the stop, so that every request sent before
			// it carries an earlier start.
			interruptedAt.Store(r.Clock.UnixNS(time.Now()))
		case <-finished:
			return
		}
		t := time.NewTimer(r.Grace)
		defer t.Stop()
		select {
		case <-t.C:
			cancelReq()
		case <-finished:
		}
	}()

	res.Targets = make([]TargetStatus, len(r.Targets))
	runTarget := func(i int) {
		st := &res.Targets[i]
		st.Target = r.Targets[i]
		hc := r.HTTP
		if st.Target.HTTP != nil {
			hc = st.Target.HTTP
		}
		info, err := engine.Probe(ctx, hc, st.Target)
		var noInfo *engine.InfoEndpointError
		if errors.As(err, &noInfo) && st.Target.Type == engine.EngineOpenAI && st.Target.Model != "" {
			r.Log.Warn("no model list; using the given model", "target", st.Target.Name, "error", err)
			err = nil
		} else if err == nil {
			st.Info = info
			st.Target.Model, err = engine.ResolveModel(st.Target, info)
		}
		if err != nil {
			st.Error = err.Error()
			r.Log.Error("target skipped", "target", st.Target.Name, "url", st.Target.BaseURL, "error", err)
			return
		}
		r.Log.Info("target ready", "target", st.Target.Name, "url", st.Target.URL(), "model", st.Target.Model, "version", info.Version)
		sh, err := r.calibrate(ctx, hc, st.Target, info)
		if err != nil {
			st.Error = err.Error()
			r.Log.Error("target skipped", "target", st.Target.Name, "error", err)
			return
		}
		st.Calibration = sh.cal
		client := &engine.Client{HTTP: hc, Target: st.Target, Timeout: r.Timeout, Clock: r.Clock}
		for k, s := range r.Scenarios {
			if r.Slot != nil {
				if at := r.Slot(i, k); !at.IsZero() {
					SleepUntil(ctx, at)
				}
			}
			if ctx.Err() != nil {
				return
			}
			if r.Observer != nil {
				r.Observer.ScenarioStarted(st.Target, s)
			}
			r.Log.Info("scenario started", "target", st.Target.Name, "scenario", s.Name, "arrival", s.Arrival)
			if reason := r.runScenario(ctx, reqCtx, client, sh, s); reason != "" {
				st.Aborted = append(st.Aborted, s.Name+": "+reason)
			}
			r.Log.Info("scenario finished", "target", st.Target.Name, "scenario", s.Name)
			if r.Observer != nil {
				r.Observer.ScenarioFinished(st.Target, s)
			}
		}
	}
	if r.Parallel {
		var wg sync.WaitGroup
		for i := range r.Targets {
			wg.Add(1)
			go func() { defer wg.Done(); runTarget(i) }()
		}
		wg.Wait()
	} else {
		for i := range r.Targets {
			runTarget(i)
		}
	}
	res.EndUnixNS = r.Clock.UnixNS(time.Now())
	res.RecordErrors = r.sinkErrors.Load() - sinkErrorsBefore
	if e, ok := r.firstSinkErr.Load().(string); ok {
		res.FirstRecordError = e
	}
	res.Status = "complete"
	ok := 0
	for _, t := range res.Targets {
		if t.Error == "" {
			ok++
		}
	}
	switch {
	case ctx.Err() != nil:
		res.Status = "interrupted"
		res.InterruptedUnixNS = interruptedAt.Load()
		if res.InterruptedUnixNS == 0 { // the watcher has not run yet
			res.InterruptedUnixNS = res.EndUnixNS
		}
	case ok == 0:
		res.Status = "failed"
	}
	return res
}

// SleepUntil waits for t or ctx; it reports whether t came. For
// coarse waits (a start, a slot), not sends: those use sleepUntil.
func SleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return true
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// scenarioRun carries one scenario's shared state across its workers.
type scenarioRun struct {
	r      *Runner
	client *engine.Client
	shape  *shape
	s      workload.Scenario
	// shard numbers this generator's records among all generators'.
	shard    workload.Shard
	stop     <-chan struct{}
	reqCtx   context.Context
	measured atomic.Int64
	// seq numbers this scenario's requests per engine, so every engine
	// gets the same prompts in the same order.
	seq atomic.Int64
	// conversations numbers the multi-turn conversations started.
	conversations atomic.Int64

	connectStreak atomic.Int64
	guard         func(*engine.Record) string
	abort         context.CancelFunc
	abortOnce     sync.Once
	aborted       atomic.Value // string
}

// maxConnectStreak consecutive connection failures end a scenario: the
// engine is gone, and a closed loop would otherwise journal thousands of
// instant failures a second.
const maxConnectStreak = 25

// runScenario runs one scenario and returns why it was aborted, if it was.
func (r *Runner) runScenario(stopCtx, reqCtx context.Context, c *engine.Client, sh *shape, s workload.Scenario) string {
	if r.Log == nil {
		r.Log = slog.New(slog.DiscardHandler)
	}
	sctx, abort := context.WithCancel(stopCtx)
	defer abort()
	if sh == nil {
		sh = &shape{}
	}
	part, ok := s.Part(r.Shard)
	if !ok {
		return "" // nothing of it falls to this generator
	}
	shard := r.Shard
	if s.Arrival == workload.ArrivalSequential {
		shard = workload.Shard{} // kept whole on one generator
	}
	sr := &scenarioRun{r: r, client: c, shape: sh, s: part, shard: shard, stop: sctx.Done(), reqCtx: reqCtx, abort: abort}
	if r.Guard != nil {
		sr.guard = r.Guard(c.Target, s)
	}
	switch s.Arrival {
	case workload.ArrivalSequential:
		sr.sequential()
	case workload.ArrivalClosed:
		sr.closed()
	default:
		sr.open()
	}
	if reason, ok := sr.aborted.Load().(string); ok {
		return reason
	}
	return ""
}

func (sr *scenarioRun) newRecord(phase engine.Phase, worker int) *engine.Record {
	t := sr.client.Target
	// Ids are unique across the shards of a run: each takes every
	// Count-th, as it takes every Count-th sequence.
	id := sr.r.Shard.Global(sr.r.nextID.Add(1)-1) + 1
	seq := sr.shard.Global(sr.seq.Add(1) - 1)
	return &engine.Record{RunID: sr.r.RunID, Engine: t.Name, EngineType: t.Type, API: t.API, Model: t.Model,
		Suite: sr.s.Suite, Scenario: sr.s.Name, Phase: phase, RequestID: id, Worker: worker,
		Sequence: seq, PromptIndex: sr.promptIndex(seq)}
}

// promptIndex is the template a request is built from: the prompts in
// turn, or with SamplePrompts (a dataset) a seeded draw, the same for
// every engine.
func (sr *scenarioRun) promptIndex(seq int64) int {
	n := len(sr.r.Prompts)
	if sr.r.SamplePrompts && n > 1 {
		return workload.RequestRand(sr.r.Seed, sr.s.Name, seq, "prompt").IntN(n)
	}
	return int(seq % int64(n))
}

// request builds the request for a record. With UniquePrompts each user
// turn starts with a marker of its own, so no engine answers from a prefix
// cache what a real user's new question would make it compute.
func (sr *scenarioRun) request(rec *engine.Record) engine.Request {
	p := sr.r.Prompts[rec.PromptIndex]
	if p.MaxTokens <= 0 {
		p.MaxTokens = sr.s.MaxTokens // a dataset's template asks for its own answer's length
	}
	if sr.s.InputTokens != nil || sr.s.OutputTokens != nil || sr.s.Trace != nil || sr.s.SharedPrefix != nil {
		if p = sr.shaped(rec, p); p.PromptTokens > 0 {
			return p // unique already: its words are drawn per request
		}
	}
	if sr.r.UniquePrompts && len(p.Messages) > 0 {
		msgs := append([]engine.Message(nil), p.Messages...)
		last := len(msgs) - 1
		msgs[last].Content = fmt.Sprintf("[%s #%d] %s", sr.s.Name, rec.Sequence, msgs[last].Content)
		p.Messages = msgs
	}
	return p
}

func (sr *scenarioRun) send(rec *engine.Record, req engine.Request, intended time.Time) {
	sr.sendOn(sr.client, rec, req, intended)
}

// sendOn sends with a client of the caller's (a conversation's, which
// keeps the answers).
func (sr *scenarioRun) sendOn(c *engine.Client, rec *engine.Record, req engine.Request, intended time.Time) {
	if ro, ok := sr.r.Observer.(RequestObserver); ok {
		ro.RequestSent(rec)
	}
	c.Do(sr.reqCtx, req, intended, rec)
	sr.emit(rec)
	if sr.guard != nil {
		if reason := sr.guard(rec); reason != "" {
			sr.stopWith(reason, "scenario stopped by its guard", rec)
		}
	}
	if rec.ErrorClass != engine.ErrConnect {
		// Only a complete answer (or an error the engine itself chose to
		// send) proves it is there; a stream cut as it went down must not
		// restart the count.
		switch rec.ErrorClass {
		case "", engine.ErrHTTP4xx, engine.ErrHTTP429, engine.ErrHTTP5xx, engine.ErrStream, engine.ErrOverloaded, engine.ErrParse, engine.ErrNoGenerated:
			sr.connectStreak.Store(0)
		}
		return
	}
	if sr.connectStreak.Add(1) == maxConnectStreak {
		sr.stopWith(fmt.Sprintf("stopped after %d consecutive connection failures (last: %s)", maxConnectStreak, rec.Error),
			"engine unreachable, scenario stopped", rec)
	}
}

// stopWith ends the scenario early, keeping the first reason given.
func (sr *scenarioRun) stopWith(reason, msg string, rec *engine.Record) {
	sr.abortOnce.Do(func() {
		// Cancel before logging: while the log line is written, the other
		// workers would otherwise keep sending into a dead engine.
		sr.aborted.Store(reason)
		sr.abort()
		sr.r.Log.Warn(msg, "target", rec.Engine, "scenario", rec.Scenario, "reason", reason)
	})
}

func (sr *scenarioRun) emit(rec *engine.Record) {
	if err := sr.r.Sink.Write(rec); err != nil {
		if sr.r.sinkErrors.Add(1) == 1 {
			sr.r.firstSinkErr.Store(err.Error())
		}
		sr.r.Log.Error("recording a request failed", "request_id", rec.RequestID, "error", err)
	}
}

func (sr *scenarioRun) stopped() bool {
	// The streak is read here too, so a worker that loops on instant
	// refusals sees the limit the moment another worker reaches it, not
	// only once that worker has got round to cancelling.
	if sr.connectStreak.Load() >= maxConnectStreak {
		return true
	}
	select {
	case <-sr.stop:
		return true
	default:
		return false
	}
}

// sequential sends one request at a time: the idle-engine TTFT suite.
func (sr *scenarioRun) sequential() {
	total := sr.s.WarmupRequests + sr.s.Requests
	for i := 0; i < total && !sr.stopped(); i++ {
		phase := engine.PhaseMeasure
		if i < sr.s.WarmupRequests {
			phase = engine.PhaseWarmup
		}
		rec := sr.newRecord(phase, 0)
		sr.send(rec, sr.request(rec), time.Now())
	}
}

// window returns when measurement starts and ends (zero end: no limit).
func (sr *scenarioRun) window(start time.Time) (time.Time, time.Time) {
	measureStart := start.Add(sr.s.WarmupDuration)
	var end time.Time
	if sr.s.Duration > 0 {
		end = measureStart.Add(sr.s.Duration)
	}
	return measureStart, end
}

// admit decides the phase of a request intended at t, or false when the
// scenario is over.
func (sr *scenarioRun) admit(t, measureStart, end time.Time) (engine.Phase, bool) {
	if !end.IsZero() && !t.Before(end) {
		return "", false
	}
	if t.Before(measureStart) {
		return engine.PhaseWarmup, true
	}
	if sr.s.Requests > 0 && sr.measured.Add(1) > int64(sr.s.Requests) {
		return "", false
	}
	return engine.PhaseMeasure, true
}

// closed runs N users; each sends, waits for the whole answer, thinks, and
// sends again. In-flight requests are exactly N by construction.
func (sr *scenarioRun) closed() {
	start := time.Now()
	measureStart, end := sr.window(start)
	var wg sync.WaitGroup
	for u := 0; u < sr.s.Concurrency; u++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if sr.s.Turns > 1 {
				sr.converse(u, measureStart, end)
				return
			}
			timer := time.NewTimer(time.Hour)
			defer timer.Stop()
			intended := time.Now()
			for !sr.stopped() {
				phase, ok := sr.admit(intended, measureStart, end)
				if !ok {
					return
				}
				rec := sr.newRecord(phase, sr.user(u))
				sr.send(rec, sr.request(rec), intended)
				intended = time.Now().Add(sr.s.ThinkTime)
				if !sleepUntil(sr.stop, timer, intended) {
					return
				}
			}
		}()
	}
	wg.Wait()
}

// arrivalLead is how long before its time an open-loop arrival's
// goroutine is started.
const arrivalLead = 2 * time.Millisecond

// open sends at the pacer's times whatever the server does. With a cap, an
// arrival that finds the cap full waits (client_queued, lag recorded) or is
// dropped (recorded with error_class dropped), never silently delayed. A
// wait ends with the scenario: what is still queued at its end, or at a
// stop, is recorded as not sent.
func (sr *scenarioRun) open() {
	pace, first, arrivals := ShardPacer(sr.s, scheduleSeed(sr.r.Seed, sr.s.Name), sr.shard)
	var sem chan struct{}
	if sr.s.Concurrency > 0 {
		sem = make(chan struct{}, sr.s.Concurrency)
	}
	start := time.Now()
	measureStart, end := sr.window(start)
	over := make(chan struct{})
	if !end.IsZero() {
		t := time.AfterFunc(time.Until(end), func() { close(over) })
		defer t.Stop()
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var wg sync.WaitGroup
	intended := start.Add(first)
	for sent := 0; arrivals < 0 || sent < arrivals; sent++ {
		phase, ok := sr.admit(intended, measureStart, end)
		if !ok {
			break
		}
		// Built before the wait: a long shaped prompt takes a while to
		// write, and it must not make the request leave late.
		rec := sr.newRecord(phase, 0)
		req := sr.request(rec)
		// The arrival's goroutine starts a little ahead and waits for its
		// own time: started at the due time, waking an idle thread for it
		// made requests leave a few hundred microseconds late.
		if !waitTimer(sr.stop, timer, intended.Add(-arrivalLead)) {
			break
		}
		wg.Add(1)
		go func(at time.Time) {
			defer wg.Done()
			own := time.NewTimer(time.Hour)
			defer own.Stop()
			if !sleepUntil(sr.stop, own, at) {
				return
			}
			if sem != nil {
				select {
				case sem <- struct{}{}:
				default:
					if sr.s.CapPolicy == "drop" {
						sr.notSent(rec, at, engine.ErrDropped, fmt.Sprintf("client cap of %d requests in flight reached", sr.s.Concurrency))
						return
					}
					rec.ClientQueued = true
					select {
					case sem <- struct{}{}:
					case <-sr.stop:
						sr.notSent(rec, at, engine.ErrCanceled, "stopped while waiting for the client cap")
						return
					case <-over:
						sr.notSent(rec, at, engine.ErrDropped, fmt.Sprintf("the scenario ended while it waited for the client cap of %d", sr.s.Concurrency))
						return
					}
				}
				defer func() { <-sem }()
				// A slot freed as the window closed: select chose it over
				// the end, or the end's timer had not fired yet.
				if rec.ClientQueued && !end.IsZero() && !time.Now().Before(end) {
					sr.notSent(rec, at, engine.ErrDropped, fmt.Sprintf("the scenario ended while it waited for the client cap of %d", sr.s.Concurrency))
					return
				}
			}
			sr.send(rec, req, at)
		}(intended)
		intended = intended.Add(pace())
	}
	wg.Wait()
}

// user is the number, among all generators' users, of this one's u-th.
func (sr *scenarioRun) user(u int) int { return int(sr.shard.Global(int64(u))) }

// notSent records an arrival the client never sent.
func (sr *scenarioRun) notSent(rec *engine.Record, at time.Time, class, msg string) {
	rec.IntendedStartUnixNS = sr.r.Clock.UnixNS(at)
	rec.StartUnixNS, rec.EndUnixNS = rec.IntendedStartUnixNS, sr.r.Clock.UnixNS(time.Now())
	rec.ErrorClass, rec.Error = class, msg
	sr.emit(rec)
}

// scheduleSeed gives every engine the same arrival times for a scenario, so
// engines are compared on identical workloads.
func scheduleSeed(seed int64, scenario string) int64 {
	h := fnv.New64a()
	h.Write([]byte(scenario))
	return seed ^ int64(h.Sum64()>>1)
}
