package run

import (
	"bufio"
	"context"
	"encoding/json"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/load"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/sim"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
	"github.com/llmbench/kubectl-llmbench/pkg/export"
)

// countedSim serves the vLLM simulator and counts the completions that
// reach it: the rate as the server saw it.
type countedSim struct {
	URL      string
	arrivals atomic.Int64
}

func newCountedSim(t *testing.T) *countedSim {
	t.Helper()
	s := sim.New(sim.Options{Seed: 3, TimeScale: 0.05})
	h := s.Handler(engine.EngineVLLM)
	cs := &countedSim{}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == engine.APIChat.Path() {
			cs.arrivals.Add(1)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	cs.URL = hs.URL
	return cs
}

// localWorker is a worker process, in-process: its API on loopback.
type localWorker struct {
	w      *Worker
	srv    *httptest.Server
	cancel context.CancelFunc
	done   chan error
	dir    string
}

// startWorkers starts n workers of plan; wrap, when set, stands between
// the plugin and worker i (a flaky tunnel).
func startWorkers(t *testing.T, plan Plan, wrap func(i int, h http.Handler) http.Handler) ([]*localWorker, []Remote) {
	t.Helper()
	var ws []*localWorker
	var remotes []Remote
	for i := range plan.Workers {
		dir := t.TempDir()
		w, err := NewWorker(WorkerOptions{Plan: plan, Index: i, Node: "node-" + string(rune('a'+i)), Pod: "w-" + string(rune('0'+i)), Dir: dir, Token: "tok-" + string(rune('0'+i))})
		if err != nil {
			t.Fatal(err)
		}
		h := w.Handler()
		if wrap != nil {
			h = wrap(i, h)
		}
		srv := httptest.NewServer(h)
		ctx, cancel := context.WithCancel(context.Background())
		lw := &localWorker{w: w, srv: srv, cancel: cancel, done: make(chan error, 1), dir: dir}
		go func() { lw.done <- w.Run(ctx) }()
		t.Cleanup(func() { cancel(); srv.Close(); <-lw.done })
		ws = append(ws, lw)
		gone := func() (bool, string) { return ctx.Err() != nil, "killed" }
		remotes = append(remotes, Remote{Index: i, Pod: "w-" + string(rune('0'+i)), Node: "node-" + string(rune('a'+i)), BaseURL: srv.URL,
			HTTP: &http.Client{Timeout: 5 * time.Second}, Gone: gone, Token: "tok-" + string(rune('0'+i))})
	}
	return ws, remotes
}

func testPlan(targets []engine.Target, s workload.Scenario, workers int) Plan {
	return Plan{Workers: workers, Targets: targets, Scenarios: []workload.Scenario{s},
		Prompts: []engine.Request{{Messages: []engine.Message{{Role: "user", Content: "Say hello."}}}},
		Timeout: 10 * time.Second, Grace: time.Second, Seed: 5, UniquePrompts: true,
		StartTolerance: time.Second, Linger: time.Minute}
}

// distributed runs plan's workers through run.Run's Remote, as the plugin
// does, and returns the run folder with what the collector reported.
func distributed(t *testing.T, ctx context.Context, plan Plan, wrap func(int, http.Handler) http.Handler, during func([]*localWorker)) (string, *Result, []*localWorker) {
	t.Helper()
	cfg := baseConfig(t, plan.Targets)
	cfg.Scenarios = plan.Scenarios
	var ws []*localWorker
	cfg.Remote = func(ctx context.Context, runID string, sink load.Sink, man *export.Manifest) load.RunResult {
		plan.RunID = runID
		var remotes []Remote
		ws, remotes = startWorkers(t, plan, wrap)
		c := &Collector{Workers: remotes, Sink: sink, Poll: 50 * time.Millisecond, LostAfter: 3 * time.Second, Lead: 300 * time.Millisecond, Grace: time.Second}
		if err := c.Ready(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Begin(ctx); err != nil {
			t.Fatal(err)
		}
		if during != nil {
			go during(ws)
		}
		stop := make(chan struct{})
		go func() { <-ctx.Done(); close(stop) }()
		workers := c.Follow(context.WithoutCancel(ctx), stop)
		c.Release(ctx)
		man.LoadFrom = &export.LoadFrom{Where: "inside the cluster", Workers: workers}
		return MergeResults(plan.Targets, c.Results(), ctx.Err() != nil)
	}
	res, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Close() })
	return res.Dir, res, ws
}

func journalRecords(t *testing.T, path string) []engine.Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []engine.Record
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var r engine.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func readManifest(t *testing.T, dir string) export.Manifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, export.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	var m export.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// Four workers at an aggregate Poisson rate: the server sees every
// arrival of the merged schedule, at the asked rate, and the run folder is
// exactly the four journals together.
func TestDistributedRunMergesEveryWorkersJournal(t *testing.T) {
	cs := newCountedSim(t)
	targets := []engine.Target{{Name: "vllm", Type: engine.EngineVLLM, API: engine.APIChat, BaseURL: cs.URL}}
	const rate, span = 80.0, 2 * time.Second
	s := workload.Scenario{Name: "poisson", Suite: workload.SuiteLoad, Arrival: workload.ArrivalPoisson, Rate: rate, Duration: span, MaxTokens: 8}
	dir, res, ws := distributed(t, context.Background(), testPlan(targets, s, 4), nil, nil)
	if res.Status != "complete" {
		t.Fatalf("status %s", res.Status)
	}
	merged := journalRecords(t, filepath.Join(dir, export.JournalFile))
	perWorker := map[int]int{}
	ids := map[int64]bool{}
	total := 0
	for i, w := range ws {
		own := journalRecords(t, filepath.Join(w.dir, export.JournalFile))
		total += len(own)
		if len(own) == 0 {
			t.Fatalf("worker %d sent nothing", i)
		}
	}
	for _, r := range merged {
		if r.LoadWorker == nil || r.LoadNode == "" {
			t.Fatalf("request %d does not say which worker sent it", r.RequestID)
		}
		if ids[r.RequestID] {
			t.Fatalf("request %d twice in the merged journal", r.RequestID)
		}
		ids[r.RequestID] = true
		perWorker[*r.LoadWorker]++
		if r.RunID != res.RunID {
			t.Fatalf("a worker's record has run id %q, the run is %q", r.RunID, res.RunID)
		}
	}
	if len(merged) != total {
		t.Fatalf("merged journal has %d records, the workers' journals %d", len(merged), total)
	}
	if got := cs.arrivals.Load(); got != int64(total) {
		t.Fatalf("the server saw %d requests, the journals hold %d", got, total)
	}
	// The merged schedule is Poisson at the whole rate: 5 standard
	// deviations of its count over the window.
	mean := rate * span.Seconds()
	if d := math.Abs(float64(total) - mean); d > 5*math.Sqrt(mean) {
		t.Fatalf("%d requests in %s at %g/s: want %g ± %.0f", total, span, rate, mean, 5*math.Sqrt(mean))
	}
	if len(perWorker) != 4 {
		t.Fatalf("records by worker: %v", perWorker)
	}
	sum, err := export.LoadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	if g := sum.Summary.Groups; len(g) != 1 || g[0].Requests != total {
		t.Fatalf("summary groups %+v, want one of %d requests", g, total)
	}
	m := readManifest(t, dir)
	if m.LoadFrom == nil || len(m.LoadFrom.Workers) != 4 {
		t.Fatalf("manifest load_from: %+v", m.LoadFrom)
	}
	for _, w := range m.LoadFrom.Workers {
		if w.State != "done" || w.Records != int64(perWorker[w.Index]) || w.CPUSeconds <= 0 || w.Cores <= 0 {
			t.Fatalf("worker %d in the manifest: %+v (merged %d records)", w.Index, w, perWorker[w.Index])
		}
	}
}

// A worker killed mid-run is reported lost, and what it had sent home is
// kept; the others finish.
func TestDistributedRunKeepsALostWorkersRecords(t *testing.T) {
	cs := newCountedSim(t)
	targets := []engine.Target{{Name: "vllm", Type: engine.EngineVLLM, API: engine.APIChat, BaseURL: cs.URL}}
	s := workload.Scenario{Name: "closed", Suite: workload.SuiteLoad, Arrival: workload.ArrivalClosed, Concurrency: 6, Duration: 3 * time.Second, MaxTokens: 8}
	dir, _, _ := distributed(t, context.Background(), testPlan(targets, s, 3), nil, func(ws []*localWorker) {
		// Killed once it has journaled something.
		deadline := time.Now().Add(10 * time.Second)
		for ws[2].w.Status().Records < 3 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond) // a few polls bring them home
		ws[2].cancel()
		ws[2].srv.CloseClientConnections()
		ws[2].srv.Close()
	})
	m := readManifest(t, dir)
	var lost export.LoadWorker
	for _, w := range m.LoadFrom.Workers {
		if w.Index == 2 {
			lost = w
		} else if w.State != "done" {
			t.Fatalf("worker %d: %+v", w.Index, w)
		}
	}
	if lost.State != "lost" || lost.Records < 3 {
		t.Fatalf("the killed worker: %+v, want lost with its records", lost)
	}
	kept := 0
	for _, r := range journalRecords(t, filepath.Join(dir, export.JournalFile)) {
		if *r.LoadWorker == 2 {
			kept++
		}
	}
	if int64(kept) != lost.Records {
		t.Fatalf("the merged journal keeps %d of the lost worker's records, the manifest says %d", kept, lost.Records)
	}
}

// cutter cuts every journal answer after cut bytes: a port-forward that
// drops while the journal comes home.
func cutter(cut int, cuts *atomic.Int64) func(int, http.Handler) http.Handler {
	return func(i int, h http.Handler) http.Handler {
		if i != 1 {
			return h
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != PathJournal {
				h.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			body := rec.Body.Bytes()
			if len(body) <= cut {
				for k, v := range rec.Header() {
					w.Header()[k] = v
				}
				w.WriteHeader(rec.Code)
				w.Write(body)
				return
			}
			cuts.Add(1)
			// The promised length, then the connection dies mid-body.
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			w.Write(body[:cut])
			w.(http.Flusher).Flush()
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.(*net.TCPConn).SetLinger(0)
				conn.Close()
			}
		})
	}
}

func TestDistributedRunResumesAJournalAfterADroppedConnection(t *testing.T) {
	cs := newCountedSim(t)
	targets := []engine.Target{{Name: "vllm", Type: engine.EngineVLLM, API: engine.APIChat, BaseURL: cs.URL}}
	s := workload.Scenario{Name: "closed", Suite: workload.SuiteLoad, Arrival: workload.ArrivalClosed, Concurrency: 4, Requests: 60, MaxTokens: 8}
	var cuts atomic.Int64
	dir, _, ws := distributed(t, context.Background(), testPlan(targets, s, 2), cutter(1500, &cuts), nil)
	if cuts.Load() == 0 {
		t.Fatal("no journal answer was cut: the test proves nothing")
	}
	own := journalRecords(t, filepath.Join(ws[1].dir, export.JournalFile))
	want := map[int64]bool{}
	for _, r := range own {
		want[r.RequestID] = true
	}
	got := map[int64]int{}
	for _, r := range journalRecords(t, filepath.Join(dir, export.JournalFile)) {
		if *r.LoadWorker == 1 {
			got[r.RequestID]++
		}
	}
	if len(got) != len(want) {
		t.Fatalf("worker 1 journaled %d requests, %d came home (after %d cuts)", len(want), len(got), cuts.Load())
	}
	for id, n := range got {
		if n != 1 || !want[id] {
			t.Fatalf("request %d came home %d times (journaled: %v)", id, n, want[id])
		}
	}
	if n := len(journalRecords(t, filepath.Join(dir, export.JournalFile))); n != 60 {
		t.Fatalf("%d requests in the merged journal, the scenario asked 60", n)
	}
}

// Ctrl-C stops every worker; what they measured until then is kept and
// the run is interrupted.
func TestDistributedRunInterruptedKeepsWhatWasCollected(t *testing.T) {
	cs := newCountedSim(t)
	targets := []engine.Target{{Name: "vllm", Type: engine.EngineVLLM, API: engine.APIChat, BaseURL: cs.URL}}
	s := workload.Scenario{Name: "closed", Suite: workload.SuiteLoad, Arrival: workload.ArrivalClosed, Concurrency: 4, Duration: time.Minute, MaxTokens: 8}
	ctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	start := time.Now()
	dir, res, _ := distributed(t, ctx, testPlan(targets, s, 2), nil, func(ws []*localWorker) {
		for ws[0].w.Status().Records < 5 && time.Since(start) < 10*time.Second {
			time.Sleep(20 * time.Millisecond)
		}
		once.Do(cancel)
	})
	if res.Status != "interrupted" {
		t.Fatalf("status %s, want interrupted", res.Status)
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Fatalf("the stop took %s: the minute-long scenario was not stopped", took)
	}
	recs := journalRecords(t, filepath.Join(dir, export.JournalFile))
	if len(recs) < 5 {
		t.Fatalf("%d records kept", len(recs))
	}
	for _, w := range readManifest(t, dir).LoadFrom.Workers {
		if w.State != "stopped" {
			t.Fatalf("worker %d: %+v, want stopped", w.Index, w)
		}
	}
}

// A worker answers only its plugin: every call but the readiness probe
// needs its token.
func TestWorkerAnswersOnlyItsToken(t *testing.T) {
	cs := newCountedSim(t)
	targets := []engine.Target{{Name: "vllm", Type: engine.EngineVLLM, API: engine.APIChat, BaseURL: cs.URL}}
	plan := testPlan(targets, workload.Scenario{Name: "c", Arrival: workload.ArrivalClosed, Concurrency: 1, Requests: 1, MaxTokens: 4}, 1)
	ws, _ := startWorkers(t, plan, nil)
	url := ws[0].srv.URL
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(url + PathHealth)
		if err == nil && resp.StatusCode == http.StatusOK {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the readiness probe never answered 200 without a token")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, c := range []struct{ method, path, token string }{
		{"GET", PathStatus, ""}, {"GET", PathJournal + "?offset=0", "wrong"}, {"POST", PathStart, ""}, {"POST", PathStop, "tok-1"}, {"POST", PathRelease, ""},
	} {
		req, _ := http.NewRequest(c.method, url+c.path, strings.NewReader(`{"at_unix_ns": 1}`))
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s %s with token %q: %s, want 401", c.method, c.path, c.token, resp.Status)
		}
	}
	if st := ws[0].w.Status().State; st != WorkerReady {
		t.Fatalf("the refused calls moved the worker to %s", st)
	}
}
