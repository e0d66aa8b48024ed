package run

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/load"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
	"github.com/llmbench/kubectl-llmbench/pkg/export"
)

// Worker states, in order.
const (
	WorkerProbing = "probing" // reaching the engines
	WorkerReady   = "ready"   // waiting for the start
	WorkerRunning = "running"
	WorkerDone    = "done"   // journal final, waiting to be collected
	WorkerFailed  = "failed" // never ran its part: Error says why
)

// The worker's HTTP API, which the plugin reaches through the API server.
const (
	PathHealth  = "/healthz"
	PathStatus  = "/status"
	PathStart   = "/start"
	PathJournal = "/journal"
	PathStop    = "/stop"
	PathRelease = "/release"
	// HeaderJournalFinal is "true" on a journal answer that reaches its
	// final end: the worker will write nothing more.
	HeaderJournalFinal = "X-Llmbench-Journal-Final"
)

// WorkerStatus is a worker's progress, as GET /status tells it.
type WorkerStatus struct {
	Index int    `json:"index"`
	Pod   string `json:"pod,omitempty"`
	Node  string `json:"node,omitempty"`
	State string `json:"state"`
	// NowUnixNS is the worker's clock when it answered: the plugin picks
	// the start on the cluster's clocks, not its own.
	NowUnixNS     int64 `json:"now_unix_ns"`
	StartAtUnixNS int64 `json:"start_at_unix_ns,omitempty"`
	// LateMS is how long after the agreed instant the worker began its
	// part, or any later scenario after its slot (Plan.Slots), at most.
	LateMS float64 `json:"late_ms"`
	// Unreachable are the engines this worker could not reach.
	Unreachable []string `json:"unreachable,omitempty"`
	Records     int64    `json:"records"`
	Failed      int64    `json:"failed"`
	// Current is the engine/scenario being run.
	Current      string          `json:"current,omitempty"`
	JournalBytes int64           `json:"journal_bytes"`
	Result       *load.RunResult `json:"result,omitempty"`
	// CPUSeconds is the process's user+system CPU over WallSeconds, the
	// time its part has run; Cores the CPUs it may use (GOMAXPROCS
	// follows the Pod's CPU limit).
	CPUSeconds  float64 `json:"cpu_seconds"`
	WallSeconds float64 `json:"wall_seconds"`
	Cores       int     `json:"cores"`
	Error       string  `json:"error,omitempty"`
}

// Start is the body of POST /start.
type Start struct {
	AtUnixNS int64 `json:"at_unix_ns"`
}

// WorkerOptions is one load worker: shard Index of the plan.
type WorkerOptions struct {
	Plan      Plan
	Index     int
	Node, Pod string
	// Dir receives the worker's journal.
	Dir string
	// Token, when set, must come as a bearer token with every call of
	// the API but the readiness probe.
	Token string
	Log   *slog.Logger
}

// Worker runs its part of a plan when told to start, journals each
// request as it finishes, and serves the journal until it is collected.
type Worker struct {
	o       WorkerOptions
	journal string

	mu     sync.Mutex
	status WorkerStatus
	// The CPU and wall time of the part itself, from its start to its end
	// (zero end: still running).
	runFrom, runTo time.Time
	cpuFrom, cpuTo float64

	start    chan int64
	release  chan struct{}
	stopOnce sync.Once
	stop     chan struct{}
	relOnce  sync.Once
}

// NewWorker checks the options and prepares the journal's folder.
func NewWorker(o WorkerOptions) (*Worker, error) {
	if err := (workload.Shard{Index: o.Index, Count: o.Plan.Workers}).Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating the worker's folder: %w", err)
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	w := &Worker{o: o, journal: filepath.Join(o.Dir, export.JournalFile),
		start: make(chan int64, 1), release: make(chan struct{}), stop: make(chan struct{})}
	w.status = WorkerStatus{Index: o.Index, Pod: o.Pod, Node: o.Node, State: WorkerProbing, Cores: runtime.GOMAXPROCS(0)}
	return w, nil
}

// Run probes the engines, waits for the start, runs the worker's part and
// then waits until the plugin has collected the journal (POST /release),
// for at most the plan's Linger. It returns an error when the part could
// not run.
func (w *Worker) Run(ctx context.Context) error {
	p := w.o.Plan
	hc := engine.NewHTTPClient(engine.HTTPOptions{InsecureSkipVerify: p.Insecure, Resolve: p.Resolve})
	targets := p.Targets
	var unreachable []string
	for _, t := range targets {
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if _, err := engine.Probe(pctx, hc, t); err != nil {
			unreachable = append(unreachable, fmt.Sprintf("%s at %s: %v", t.Name, engine.RedactURL(t.URL()), err))
		}
		cancel()
	}
	w.update(func(s *WorkerStatus) { s.State, s.Unreachable = WorkerReady, unreachable })
	w.o.Log.Info("worker ready", "index", w.o.Index, "unreachable", len(unreachable))

	linger := p.Linger
	if linger <= 0 {
		linger = 10 * time.Minute
	}
	var at int64
	select {
	case at = <-w.start:
	case <-w.stop:
		return w.fail("stopped before the start")
	case <-ctx.Done():
		return w.fail("stopped before the start")
	case <-time.After(linger):
		return w.fail(fmt.Sprintf("no start came within %s; the plugin is gone", linger))
	}
	if !load.SleepUntil(ctx, time.Unix(0, at)) {
		return w.fail("stopped before the start")
	}
	late := time.Since(time.Unix(0, at))
	cpu := processCPUSeconds()
	w.update(func(s *WorkerStatus) {
		s.State, s.LateMS = WorkerRunning, float64(late)/float64(time.Millisecond)
		w.runFrom, w.cpuFrom = time.Now(), cpu
	})
	if tol := p.StartTolerance; tol > 0 && late > tol {
		return w.fail(fmt.Sprintf("began %s after the agreed start (tolerance %s): its load would not overlap the others'", late.Round(time.Millisecond), tol))
	}

	j, err := export.OpenJournal(w.journal)
	if err != nil {
		return w.fail(err.Error())
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-w.stop:
			cancel()
		case <-runCtx.Done():
		}
	}()
	index := w.o.Index
	stamp := load.SinkFunc(func(rec *engine.Record) error {
		rec.LoadWorker, rec.LoadNode = &index, w.o.Node
		return nil
	})
	count := load.SinkFunc(func(rec *engine.Record) error {
		w.update(func(s *WorkerStatus) {
			s.Records++
			if !rec.OK {
				s.Failed++
			}
		})
		return nil
	})
	runner := &load.Runner{
		Targets: targets, Scenarios: p.Scenarios, Prompts: p.Prompts, HTTP: hc, Timeout: p.Timeout,
		Clock: engine.NewClock(), RunID: p.RunID, Sink: load.NewMultiSink(stamp, j, count), Observer: w,
		Parallel: p.Parallel, Grace: p.Grace, Seed: p.Seed, Log: w.o.Log,
		UniquePrompts: p.UniquePrompts, SamplePrompts: p.SamplePrompts, FollowUps: p.FollowUps,
		Shard: workload.Shard{Index: w.o.Index, Count: p.Workers},
	}
	slots := p.Slots(time.Unix(0, at))
	runner.Slot = func(i, k int) time.Time {
		t := slots(i, k)
		if late := time.Since(t); !t.IsZero() && late > 0 {
			ms := float64(late) / float64(time.Millisecond)
			w.update(func(s *WorkerStatus) { s.LateMS = max(s.LateMS, ms) })
		}
		return t
	}
	res := runner.Run(runCtx)
	if err := j.Close(); err != nil {
		w.o.Log.Error("closing the journal", "error", err)
	}
	cpu = processCPUSeconds()
	w.update(func(s *WorkerStatus) {
		s.State, s.Result, s.Current = WorkerDone, &res, ""
		w.runTo, w.cpuTo = time.Now(), cpu
	})
	w.o.Log.Info("worker finished", "status", res.Status)
	select {
	case <-w.release:
	case <-ctx.Done():
	case <-time.After(linger):
		w.o.Log.Warn("nobody collected the journal", "after", linger)
	}
	return nil
}

func (w *Worker) fail(msg string) error {
	w.update(func(s *WorkerStatus) { s.State, s.Error = WorkerFailed, msg })
	return errors.New(msg)
}

func (w *Worker) update(f func(*WorkerStatus)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	f(&w.status)
}

// Status is the worker's progress now.
func (w *Worker) Status() WorkerStatus {
	w.mu.Lock()
	s := w.status
	from, to, cpuFrom, cpuTo := w.runFrom, w.runTo, w.cpuFrom, w.cpuTo
	w.mu.Unlock()
	now := time.Now()
	s.NowUnixNS = now.UnixNano()
	if !from.IsZero() {
		if to.IsZero() {
			to, cpuTo = now, processCPUSeconds()
		}
		s.WallSeconds, s.CPUSeconds = to.Sub(from).Seconds(), cpuTo-cpuFrom
	}
	if fi, err := os.Stat(w.journal); err == nil {
		s.JournalBytes = fi.Size()
	}
	return s
}

// ScenarioStarted and ScenarioFinished make the worker the runner's
// observer, for its status.
func (w *Worker) ScenarioStarted(t engine.Target, s workload.Scenario) {
	w.update(func(st *WorkerStatus) { st.Current = t.Name + "/" + s.Name })
}

func (w *Worker) ScenarioFinished(engine.Target, workload.Scenario) {}

// Handler is the worker's HTTP API.
func (w *Worker) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+PathHealth, func(rw http.ResponseWriter, _ *http.Request) {
		if st := w.Status().State; st == WorkerProbing {
			http.Error(rw, "reaching the engines", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(rw, "ok\n")
	})
	mux.HandleFunc("GET "+PathStatus, func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Type", "application/json")
		json.NewEncoder(rw).Encode(w.Status())
	})
	mux.HandleFunc("POST "+PathStart, func(rw http.ResponseWriter, r *http.Request) {
		var st Start
		if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&st); err != nil || st.AtUnixNS <= 0 {
			http.Error(rw, "body: {\"at_unix_ns\": N}", http.StatusBadRequest)
			return
		}
		if s := w.Status(); s.State != WorkerReady {
			http.Error(rw, "worker is "+s.State+", not ready", http.StatusConflict)
			return
		}
		if tol := w.o.Plan.StartTolerance; tol > 0 {
			if late := time.Since(time.Unix(0, st.AtUnixNS)); late > tol {
				http.Error(rw, fmt.Sprintf("the start reached this worker %s after the agreed instant (tolerance %s)", late.Round(time.Millisecond), tol), http.StatusConflict)
				return
			}
		}
		select {
		case w.start <- st.AtUnixNS:
			w.update(func(s *WorkerStatus) { s.StartAtUnixNS = st.AtUnixNS })
			rw.WriteHeader(http.StatusAccepted)
		default:
			http.Error(rw, "already started", http.StatusConflict)
		}
	})
	mux.HandleFunc("GET "+PathJournal, w.serveJournal)
	mux.HandleFunc("POST "+PathStop, func(rw http.ResponseWriter, _ *http.Request) {
		w.stopOnce.Do(func() { close(w.stop) })
		rw.WriteHeader(http.StatusAccepted)
	})
	mux.HandleFunc("POST "+PathRelease, func(rw http.ResponseWriter, _ *http.Request) {
		w.relOnce.Do(func() { close(w.release) })
		rw.WriteHeader(http.StatusAccepted)
	})
	return w.authorized(mux)
}

// authorized lets through the readiness probe, and every other call that
// carries the worker's token.
func (w *Worker) authorized(next http.Handler) http.Handler {
	want := []byte("Bearer " + w.o.Token)
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if w.o.Token != "" && r.URL.Path != PathHealth && subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			http.Error(rw, "this worker answers only the plugin that started it", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(rw, r)
	})
}

// serveJournal sends the journal from ?offset= to its end now; the
// plugin asks again from where it got to, so a dropped connection costs
// nothing but a retry.
func (w *Worker) serveJournal(rw http.ResponseWriter, r *http.Request) {
	offset, err := strconv.ParseInt(r.URL.Query().Get("offset"), 10, 64)
	if err != nil || offset < 0 {
		http.Error(rw, "offset: a byte offset ≥ 0", http.StatusBadRequest)
		return
	}
	// The state is read before the size: a journal seen final is final
	// at that size or beyond, never short of it.
	final := w.Status().State
	f, err := os.Open(w.journal)
	if errors.Is(err, os.ErrNotExist) {
		if final == WorkerFailed {
			rw.Header().Set(HeaderJournalFinal, "true")
		}
		rw.WriteHeader(http.StatusOK)
		return
	}
	if err != nil {
		http.Error(rw, err.Error(), http.StatusInternalServerError)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		http.Error(rw, err.Error(), http.StatusInternalServerError)
		return
	}
	if offset > fi.Size() {
		http.Error(rw, fmt.Sprintf("offset %d is past the journal's end (%d)", offset, fi.Size()), http.StatusRequestedRangeNotSatisfiable)
		return
	}
	if final == WorkerDone || final == WorkerFailed {
		rw.Header().Set(HeaderJournalFinal, "true")
	}
	rw.Header().Set("Content-Type", "application/x-ndjson")
	rw.Header().Set("Content-Length", strconv.FormatInt(fi.Size()-offset, 10))
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return
	}
	io.CopyN(rw, f, fi.Size()-offset)
}
