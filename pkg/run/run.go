package run

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/load"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/reconcile"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/scrape"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/summary"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/verdict"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
	"github.com/llmbench/kubectl-llmbench/pkg/export"
)

// Config is everything a run needs, resolved: the engines are reachable
// and the scenarios checked.
type Config struct {
	// Name is the benchmark's name; the folder is named after it.
	Name      string
	OutputDir string
	Targets   []engine.Target
	Scenarios []workload.Scenario
	// Capacity, when set, searches each engine's highest load that meets
	// its template's SLO after the scenarios ran.
	Capacity *load.CapacitySearch
	Prompts  []engine.Request
	Weights  workload.Weights
	HTTP     *http.Client
	// Timeout bounds each request; Grace is how long requests in flight
	// may finish after ctx is cancelled.
	Timeout, Grace time.Duration
	Parallel       bool
	Seed           int64
	UniquePrompts  bool
	// ScrapeInterval, when > 0, scrapes the vLLM and TGI engines' own
	// /metrics before the first request, at this interval, and after the
	// last, into metrics.jsonl.
	ScrapeInterval time.Duration
	// SamplePrompts draws each request's prompt from Prompts (a dataset);
	// FollowUps are its conversations' later user turns, by prompt.
	SamplePrompts bool
	FollowUps     [][]string
	// Manifest starts the run's manifest (tool, command, configuration,
	// cluster, baseline); Run fills in the rest.
	Manifest export.Manifest
	// Log receives the run's log besides run.log (stderr with -v).
	Log slog.Handler
	// Out receives plain announcements: where the results go, each
	// capacity level's verdict, engines skipped.
	Out io.Writer
	// Started, when set, hears the run folder and its log once they
	// exist, before anything is sent.
	Started func(dir string, log *slog.Logger)
	// Observer hears every scenario start and end (progress).
	Observer load.Observer
	// Remote, when set, produces the records instead of a runner on this
	// machine: the load workers of a distributed run (run --in-cluster).
	// It gets the run's id, which its records must carry, the sink that
	// journals and summarises them as they come, and the manifest, to
	// say where the load came from.
	Remote func(ctx context.Context, runID string, sink load.Sink, man *export.Manifest) load.RunResult
}

// Result is what a run measured and where it is.
type Result struct {
	Dir, RunID string
	load.RunResult
	Summary verdict.Summary
	// Scenarios are the ones run, capacity levels included.
	Scenarios []workload.Scenario
	// Log still writes to run.log (and Config.Log), for what the caller
	// does after the run (reports, tunnels closing) until Close.
	Log     *slog.Logger
	logFile *os.File
}

// Close closes run.log.
func (r *Result) Close() error { return r.logFile.Close() }

// Run measures cfg's engines and writes the run folder: the manifest and
// the journal as requests finish, then summary.json. An error without a
// Result means nothing was measured; once the journal exists, Run returns
// a Result (close it) even when ctx is cancelled or a file could not be
// written, so the caller can say where the measurements are.
func Run(ctx context.Context, cfg Config, sinks ...load.Sink) (*Result, error) {
	out := cfg.Out
	if out == nil {
		out = io.Discard
	}
	clock := engine.NewClock()
	dir, runID, err := createFolder(cfg.OutputDir, cfg.Name, clock.Anchor())
	if err != nil {
		return nil, err
	}
	logFile, err := os.OpenFile(filepath.Join(dir, "run.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("creating run.log: %w", err)
	}
	// run.log stays open for the caller once there is a Result to
	// close it; before that, an error closes it here.
	keepLog := false
	defer func() {
		if !keepLog {
			logFile.Close()
		}
	}()
	handlers := []slog.Handler{slog.NewTextHandler(logFile, &slog.HandlerOptions{Level: slog.LevelDebug})}
	if cfg.Log != nil {
		handlers = append(handlers, cfg.Log)
	}
	log := slog.New(slog.NewMultiHandler(handlers...))
	if cfg.Started != nil {
		cfg.Started(dir, log)
	}

	man := startManifest(cfg, runID, clock)
	manPath := filepath.Join(dir, export.ManifestFile)
	if err := export.WriteJSON(manPath, man); err != nil {
		return nil, err
	}
	journal, err := export.OpenJournal(filepath.Join(dir, export.JournalFile))
	if err != nil {
		return nil, err
	}
	obj := summary.ObjectivesOf(cfg.Scenarios)
	obj.Weights = cfg.Weights
	summarizer := summary.NewSummarizer(runID, obj)
	recon := reconcile.NewBuilder()
	runner := &load.Runner{
		Targets: cfg.Targets, Scenarios: cfg.Scenarios, Prompts: cfg.Prompts,
		HTTP: cfg.HTTP, Timeout: cfg.Timeout, Clock: clock, RunID: runID,
		Sink:     load.NewMultiSink(append([]load.Sink{journal, summarizer, recon}, sinks...)...),
		Observer: cfg.Observer, Parallel: cfg.Parallel, Grace: cfg.Grace, Seed: cfg.Seed, Log: log,
		UniquePrompts: cfg.UniquePrompts, SamplePrompts: cfg.SamplePrompts, FollowUps: cfg.FollowUps,
	}
	fmt.Fprintf(out, "Run %s: %d engine(s) × %d scenario(s), results in %s\n", runID, len(cfg.Targets), len(cfg.Scenarios), dir)
	stopScrape, scraper := startScraping(ctx, cfg, dir, clock, log, man)
	if scraper != nil {
		runner.Observer = &markObserver{next: cfg.Observer, scraper: scraper, ctx: ctx}
	}
	scenarios := cfg.Scenarios
	res := load.RunResult{Status: "complete"}
	switch {
	case cfg.Remote != nil:
		res = cfg.Remote(ctx, runID, runner.Sink, man)
	case cfg.Capacity == nil || len(cfg.Scenarios) > 0:
		res = runner.Run(ctx)
	}
	if cfg.Capacity != nil {
		levels := capacity(ctx, runner, summarizer, *cfg.Capacity, out, &res)
		scenarios = append(append([]workload.Scenario(nil), scenarios...), levels...)
		man.Scenarios = scenarios
	}
	stopScrape()
	if err := journal.Close(); err != nil {
		log.Error("closing journal", "error", err)
	}

	sum := verdict.SummaryOf(summarizer)
	if scraper != nil {
		scrapes, err := export.LoadMetricsJournal(dir)
		if err != nil {
			log.Warn("reading the engines' metrics back", "error", err)
		}
		sum.AddEngineMetrics(recon.Windows(scrapes))
	}
	succeeded := 0
	for _, g := range sum.Groups {
		succeeded += g.Succeeded
	}
	if res.Status == "complete" && succeeded == 0 {
		// Engines answered their probes but no measured request succeeded:
		// there is nothing to compare.
		res.Status = "failed"
	}
	finishManifest(man, res)
	// The manifest is finished first (with it, `kubectl llmbench report`
	// can rebuild everything from the journal), then the summary is
	// written from memory, so it exists even if the reports fail.
	result := &Result{Dir: dir, RunID: runID, RunResult: res, Summary: sum, Scenarios: scenarios, Log: log, logFile: logFile}
	keepLog = true
	if err := export.WriteJSON(manPath, man); err != nil {
		return result, err
	}
	if err := export.WriteJSON(filepath.Join(dir, export.SummaryFile), sum); err != nil {
		return result, fmt.Errorf("%w; the journal and manifest are complete: retry with kubectl llmbench report %s", err, dir)
	}
	log.Info("run finished", "status", res.Status, "dir", dir)
	return result, nil
}

// capacity runs the search on the runner (its sinks keep the journal),
// judging each level with the summarizer, and merges its result into res.
func capacity(ctx context.Context, runner *load.Runner, sz *summary.Summarizer, c load.CapacitySearch, out io.Writer, res *load.RunResult) []workload.Scenario {
	c.Visit = func(s workload.Scenario) { sz.Judge([]workload.Scenario{s}) }
	c.Met = func(t engine.Target, s workload.Scenario) bool {
		g, ok := sz.Group(t.Name, s.Name)
		return ok && g.SLO != nil && g.SLO.Met
	}
	c.Judged = func(t engine.Target, s workload.Scenario, met bool) {
		fmt.Fprintf(out, "%s at %s: SLO %s\n", t.Name, s.Level, map[bool]string{true: "met", false: "missed"}[met])
	}
	capRes, levels := runner.FindCapacity(ctx, c)
	load.MergeResult(res, capRes)
	return levels
}

func startManifest(cfg Config, runID string, clock engine.Clock) *export.Manifest {
	m := cfg.Manifest
	host, _ := os.Hostname()
	m.RunID, m.Status = runID, "running"
	m.StartedAt = clock.Anchor().UTC().Format(time.RFC3339Nano)
	m.Host = export.HostInfo{Hostname: host, OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}
	m.Scenarios, m.Parallel = cfg.Scenarios, cfg.Parallel
	m.Targets = nil
	for _, t := range cfg.Targets {
		m.Targets = append(m.Targets, load.TargetStatus{Target: t})
	}
	return &m
}

func finishManifest(m *export.Manifest, res load.RunResult) {
	m.Status = res.Status
	m.Targets = res.Targets
	m.EndedAt = time.Unix(0, res.EndUnixNS).UTC().Format(time.RFC3339Nano)
	if res.InterruptedUnixNS != 0 {
		m.InterruptedAt = time.Unix(0, res.InterruptedUnixNS).UTC().Format(time.RFC3339Nano)
	}
}

// startScraping scrapes the engines that serve Prometheus metrics on their
// API port (vLLM, TGI) into metrics.jsonl, and returns what stops it after
// one last scrape. A scrape that fails is journaled and counted in the
// manifest, never fatal.
func startScraping(ctx context.Context, cfg Config, dir string, clock engine.Clock, log *slog.Logger, man *export.Manifest) (func(), *scrape.Scraper) {
	var sources []scrape.Source
	for _, t := range cfg.Targets {
		if u := t.MetricsURL(); u != "" {
			hc := t.HTTP
			if t.Metrics != nil && t.Metrics.HTTP != nil {
				hc = t.Metrics.HTTP
			}
			sources = append(sources, scrape.Source{Engine: t.Name, URL: u, HTTP: hc})
		}
		if g := t.GPUMetrics; g != nil {
			sources = append(sources, scrape.Source{Engine: t.Name, Kind: scrape.KindGPU, URL: g.URL, HTTP: g.HTTP, Select: scrape.SelectDCGM(g.Pods)})
		}
	}
	if cfg.ScrapeInterval <= 0 || len(sources) == 0 {
		return func() {}, nil
	}
	j, err := export.OpenMetricsJournal(filepath.Join(dir, export.MetricsJournalFile))
	if err != nil {
		log.Warn("engine metrics are not scraped", "error", err)
		return func() {}, nil
	}
	s := &scrape.Scraper{HTTP: cfg.HTTP, Sources: sources, Interval: cfg.ScrapeInterval,
		Now: func() int64 { return clock.UnixNS(time.Now()) },
		Sink: func(sc scrape.Scrape) {
			if sc.Error != "" {
				log.Warn("scraping engine metrics failed", "target", sc.Engine, "kind", sc.Kind, "error", sc.Error)
			}
			if err := j.Write(sc); err != nil {
				log.Error("recording engine metrics", "target", sc.Engine, "error", err)
			}
		}}
	log.Info("scraping engine metrics", "every", cfg.ScrapeInterval, "targets", len(sources))
	stop, done := make(chan struct{}), make(chan struct{})
	go func() { s.Run(ctx, stop); close(done) }()
	return func() {
		close(stop)
		<-done
		if err := j.Close(); err != nil {
			log.Error("closing the metrics journal", "error", err)
		}
		man.MetricsScrapes = j.Tally
	}, s
}

// markObserver scrapes an engine at each of its scenarios' start and end,
// before the first request leaves and after the last answer: the windows
// reconciliation cuts the engine's counters at.
type markObserver struct {
	next    load.Observer
	scraper *scrape.Scraper
	ctx     context.Context
}

func (m *markObserver) ScenarioStarted(t engine.Target, s workload.Scenario) {
	m.scraper.Mark(m.ctx, t.Name, s.Name, scrape.EdgeStart)
	if m.next != nil {
		m.next.ScenarioStarted(t, s)
	}
}

func (m *markObserver) RequestSent(rec *engine.Record) {
	if ro, ok := m.next.(load.RequestObserver); ok {
		ro.RequestSent(rec)
	}
}

func (m *markObserver) ScenarioFinished(t engine.Target, s workload.Scenario) {
	if m.next != nil {
		m.next.ScenarioFinished(t, s)
	}
	m.scraper.Mark(context.WithoutCancel(m.ctx), t.Name, s.Name, scrape.EdgeEnd)
}
