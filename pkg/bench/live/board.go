// Package live follows a run while it happens: per engine × scenario how
// far it has got, what is in flight, the rate achieved against the rate
// asked, and rolling TTFT/TPOT over the last minute. The terminal
// dashboard draws its snapshots and live.jsonl keeps them; the summary
// and every report still come from the journal, record by record.
package live

import (
	"math"
	"sync"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/load"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

// rateSpan is how many seconds the achieved rate, tokens/s and lag look
// back: long enough to smooth a Poisson rate, short enough to show a
// stall within seconds.
const rateSpan = 10

// Lane states.
const (
	Pending = "pending"
	Running = "running"
	Done    = "done"
)

// Board is a load.Sink, a load.Observer and a load.RequestObserver: put it
// beside the journal and it follows the run. Safe for concurrent use; a
// record costs one short critical section.
type Board struct {
	mu       sync.Mutex
	now      func() time.Time
	parallel bool
	started  time.Time
	lanes    []*lane
	byKey    map[key]*lane
	workers  []Worker
}

type key struct{ engine, scenario string }

type lane struct {
	engine   string
	s        workload.Scenario
	planned  bool
	state    string
	started  time.Time
	finished time.Time
	done     int
	failed   int
	// announced are the requests sent and not yet finished, by record:
	// records never sent (dropped, or cancelled waiting for the client's
	// cap) arrive unannounced and must not take a real one's place.
	announced map[*engine.Record]struct{}
	heard     bool // any request was announced at all
	// final is the lane as it ended, once done: nothing it shows changes.
	final *Lane
	guard func(*engine.Record) string
	slo   string // why the SLO can no longer hold
	w     window
}

// Worker is one in-cluster load worker as its last status said.
type Worker struct {
	Index    int     `json:"index"`
	Node     string  `json:"node,omitempty"`
	State    string  `json:"state"`
	Current  string  `json:"current,omitempty"`
	Records  int64   `json:"records"`
	Failed   int64   `json:"failed"`
	LateMS   float64 `json:"late_ms"`
	CPUShare float64 `json:"cpu_share,omitempty"`
	Cores    int     `json:"cores,omitempty"`
}

// NewBoard plans a lane per engine × scenario, in the order the runner
// takes them (engines one after another unless parallel). Scenarios that
// start without being planned (capacity levels) get a lane when they do.
func NewBoard(engines []string, scenarios []workload.Scenario, parallel bool) *Board {
	b := &Board{now: time.Now, parallel: parallel, byKey: map[key]*lane{}}
	b.started = b.now()
	for _, e := range engines {
		for _, s := range scenarios {
			l := b.lane(e, s.Name)
			l.s, l.planned = s, true
		}
	}
	return b
}

func (b *Board) lane(engineName, scenario string) *lane {
	k := key{engineName, scenario}
	if l := b.byKey[k]; l != nil {
		return l
	}
	l := &lane{engine: engineName, s: workload.Scenario{Name: scenario}, state: Pending, announced: map[*engine.Record]struct{}{}}
	b.byKey[k] = l
	b.lanes = append(b.lanes, l)
	return l
}

func (b *Board) ScenarioStarted(t engine.Target, s workload.Scenario) {
	b.mu.Lock()
	defer b.mu.Unlock()
	l := b.lane(t.Name, s.Name)
	l.s, l.state, l.started, l.final = s, Running, b.now(), nil
	l.guard = nil
	if s.SLO != nil {
		l.guard = load.SLOGuard(s)
	}
}

func (b *Board) ScenarioFinished(t engine.Target, s workload.Scenario) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lane(t.Name, s.Name).finish(b.now())
}

func (l *lane) finish(at time.Time) {
	l.state, l.finished, l.final = Done, at, nil
	ln := l.snapshot(at)
	l.final = &ln
}

// Finish ends every lane still running: an in-cluster run hears its
// scenarios' records but not their edges.
func (b *Board) Finish() {
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, l := range b.lanes {
		if l.state == Running {
			l.finish(now)
		}
	}
}

func (b *Board) RequestSent(rec *engine.Record) {
	b.mu.Lock()
	l := b.lane(rec.Engine, rec.Scenario)
	l.announced[rec] = struct{}{}
	l.heard = true
	b.mu.Unlock()
}

// Write takes a finished record. Records that were never announced (an
// in-cluster run's, pulled from the workers' journals) open their lane
// themselves.
func (b *Board) Write(rec *engine.Record) error {
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	l := b.lane(rec.Engine, rec.Scenario)
	if l.state == Pending {
		l.state, l.started = Running, now
		if l.s.SLO != nil {
			l.guard = load.SLOGuard(l.s)
		}
	}
	delete(l.announced, rec)
	l.final = nil
	l.done++
	failed := !rec.OK && rec.ErrorClass != engine.ErrCanceled
	if failed {
		l.failed++
	}
	if l.guard != nil && l.slo == "" {
		l.slo = l.guard(rec)
	}
	// A record is placed by when it ended, on the board's clock: one
	// stamped ahead of it (another machine's clock) counts as now, and
	// one older than the window, or than the second its slot holds,
	// counts in the totals only.
	sec := now.Unix()
	if rec.EndUnixNS > 0 {
		sec = min(sec, rec.EndUnixNS/int64(time.Second))
	}
	bk := l.w.at(sec, now.Unix())
	if bk == nil {
		return nil
	}
	if failed {
		bk.failed++
	} else {
		bk.done++
	}
	if rec.Sent() {
		bk.lg.add(rec.ScheduleLagMS)
	}
	if rec.OK && rec.Phase == engine.PhaseMeasure {
		bk.tokens += rec.OutputTokens
		// A model load is reported on its own by the summary, not in its
		// percentiles: the rolling ones leave it out alike.
		if rec.ColdStart {
			return nil
		}
		if rec.TTFTMS != nil {
			bk.ttft.add(*rec.TTFTMS)
		}
		if rec.TPOTMS != nil {
			bk.tpot.add(*rec.TPOTMS)
		}
	}
	return nil
}

// SetWorkers records the in-cluster workers' last statuses.
func (b *Board) SetWorkers(ws []Worker) {
	b.mu.Lock()
	b.workers = append(b.workers[:0], ws...)
	b.mu.Unlock()
}

// Lane is one engine × scenario as of a snapshot. Rolling figures are
// over the last minute (rates over the last rateSpan seconds); nil when
// nothing finished in that time.
type Lane struct {
	Engine   string `json:"engine"`
	Scenario string `json:"scenario"`
	State    string `json:"state"`
	// ElapsedS is the time since the scenario started (to its end once
	// done).
	ElapsedS float64 `json:"elapsed_s"`
	// ExpectedRequests and ExpectedS are the scenario's own bounds; 0
	// when it has none (a duration-bounded closed loop knows only its
	// end).
	ExpectedRequests int     `json:"expected_requests,omitempty"`
	ExpectedS        float64 `json:"expected_s,omitempty"`
	Done             int     `json:"done"`
	Failed           int     `json:"failed"`
	// InFlight is -1 where no request was announced before it finished
	// (records pulled from in-cluster workers' journals).
	InFlight int `json:"in_flight"`
	// Progress is 0..1, or -1 when nothing bounds the scenario.
	Progress float64 `json:"progress"`
	// ETAS is how long until the scenario ends: its own bounds, else
	// its time on an engine that has finished it; -1 when unknown.
	ETAS float64 `json:"eta_s"`
	// AskedRPS is an open loop's rate; 0 for closed loops.
	AskedRPS   float64  `json:"asked_rps,omitempty"`
	DoneRPS    float64  `json:"done_rps"`
	TokensPerS float64  `json:"output_tokens_per_s"`
	LagP95MS   *float64 `json:"schedule_lag_p95_ms"`
	TTFTP50MS  *float64 `json:"ttft_p50_ms"`
	TTFTP95MS  *float64 `json:"ttft_p95_ms"`
	TPOTP50MS  *float64 `json:"tpot_p50_ms"`
	TPOTP95MS  *float64 `json:"tpot_p95_ms"`
	// Spark is the TTFT p50 of each two seconds of the last minute,
	// oldest first; nil where nothing finished.
	Spark []*float64 `json:"ttft_p50_ms_last_minute"`
	// SLO is "" without one, "holding" while it can still hold, and
	// "missed" once more requests have missed it than it allows of all
	// the scenario can send (SLOReason says which and by how much).
	SLO       string `json:"slo,omitempty"`
	SLOReason string `json:"slo_reason,omitempty"`
}

// Snapshot is the whole board at one instant.
type Snapshot struct {
	AtUnixNS int64   `json:"at_unix_ns"`
	ElapsedS float64 `json:"elapsed_s"`
	// Progress and ETAS are over every planned lane; ETAExact is false
	// when some scenario's length is unknown (then its time on another
	// engine stands in, or it counts as nothing); both are -1 when
	// nothing still to run has a length.
	Progress float64  `json:"progress"`
	ETAS     float64  `json:"eta_s"`
	ETAExact bool     `json:"eta_exact"`
	Lanes    []Lane   `json:"lanes"`
	Workers  []Worker `json:"workers,omitempty"`
}

// Snapshot reads the board.
func (b *Board) Snapshot() Snapshot {
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	snap := Snapshot{AtUnixNS: now.UnixNano(), ElapsedS: now.Sub(b.started).Seconds(), ETAExact: true,
		Workers: append([]Worker(nil), b.workers...)}
	// A scenario another engine has finished took about as long here:
	// the estimate for lanes nothing else bounds.
	took := map[string]float64{}
	for _, l := range b.lanes {
		if l.state == Done {
			took[l.s.Name] = l.finished.Sub(l.started).Seconds()
		}
	}
	remaining := map[string]float64{}
	counted := false
	for _, l := range b.lanes {
		ln := l.snapshot(now)
		if t, ok := took[ln.Scenario]; ok && ln.ETAS < 0 {
			ln.ETAS = max(0, t-ln.ElapsedS)
			snap.ETAExact = false
		}
		snap.Lanes = append(snap.Lanes, ln)
		switch {
		case ln.State == Done:
		case ln.ETAS >= 0:
			remaining[l.engine] += ln.ETAS
			counted = true
		case ln.State == Pending && ln.ExpectedS > 0:
			remaining[l.engine] += ln.ExpectedS
			counted = true
		default:
			snap.ETAExact = false
		}
	}
	for _, r := range remaining {
		if b.parallel {
			snap.ETAS = max(snap.ETAS, r)
		} else {
			snap.ETAS += r
		}
	}
	snap.Progress = 1
	switch total := snap.ElapsedS + snap.ETAS; {
	case !counted && !snap.ETAExact:
		// Nothing still to run says how long it will take.
		snap.Progress, snap.ETAS = -1, -1
	case snap.ETAS > 0 && total > 0:
		snap.Progress = snap.ElapsedS / total
	}
	return snap
}

func (l *lane) snapshot(now time.Time) Lane {
	s := l.s
	if l.final != nil {
		return *l.final
	}
	ln := Lane{Engine: l.engine, Scenario: s.Name, State: l.state, Done: l.done, Failed: l.failed, InFlight: len(l.announced),
		Progress: -1, ETAS: -1}
	if !l.heard && l.done > 0 {
		ln.InFlight = -1
	}
	if n := s.ExpectedRequests(); n > 0 {
		ln.ExpectedRequests = n
	}
	ln.ExpectedS = s.ExpectedDuration().Seconds()
	if s.Arrival == workload.ArrivalConstant || s.Arrival == workload.ArrivalPoisson {
		ln.AskedRPS = s.Rate
	}
	switch l.state {
	case Pending:
		ln.Progress, ln.ETAS = 0, -1
		if ln.ExpectedS > 0 {
			ln.ETAS = ln.ExpectedS
		}
		return ln
	case Done:
		now = l.finished
		ln.Progress, ln.ETAS = 1, 0
	}
	elapsed := now.Sub(l.started).Seconds()
	ln.ElapsedS = elapsed
	if l.state == Running {
		if ln.ExpectedRequests > 0 {
			ln.Progress = min(1, float64(l.done)/float64(ln.ExpectedRequests))
			if l.done > 0 {
				ln.ETAS = elapsed * float64(ln.ExpectedRequests-l.done) / float64(l.done)
			}
		}
		if ln.ExpectedS > 0 {
			ln.Progress = max(ln.Progress, min(1, elapsed/ln.ExpectedS))
			ln.ETAS = max(0, ln.ExpectedS-elapsed)
		}
		ln.ETAS = max(ln.ETAS, -1)
	}

	sec := now.Unix()
	recent := l.w.since(sec, rateSpan)
	// The span the recent buckets cover: from the start of the oldest
	// second to now, and never before the scenario started.
	span := min(float64(now.UnixNano())/1e9-float64(sec-rateSpan+1), elapsed)
	if span > 0 {
		var done, tokens int
		for _, bk := range recent {
			done += bk.done + bk.failed
			tokens += bk.tokens
		}
		ln.DoneRPS, ln.TokensPerS = float64(done)/span, float64(tokens)/span
	}
	_, lag := quantiles(recent, func(bk *bucket) *reservoir { return &bk.lg })
	ln.LagP95MS = num(lag)
	minute := l.w.since(sec, Window)
	p50, p95 := quantiles(minute, func(bk *bucket) *reservoir { return &bk.ttft })
	ln.TTFTP50MS, ln.TTFTP95MS = num(p50), num(p95)
	p50, p95 = quantiles(minute, func(bk *bucket) *reservoir { return &bk.tpot })
	ln.TPOTP50MS, ln.TPOTP95MS = num(p50), num(p95)
	ln.Spark = make([]*float64, SparkPoints)
	step := int64(Window / SparkPoints)
	for i := range ln.Spark {
		// Point i covers seconds (end-step, end].
		end := sec - int64(SparkPoints-1-i)*step
		p50, _ := quantiles(l.w.since(end, step), func(bk *bucket) *reservoir { return &bk.ttft })
		ln.Spark[i] = num(p50)
	}
	if s.SLO != nil {
		ln.SLO = "holding"
		if l.slo != "" {
			ln.SLO, ln.SLOReason = "missed", l.slo
		}
	}
	return ln
}

func num(v float64) *float64 {
	if math.IsNaN(v) {
		return nil
	}
	return &v
}
