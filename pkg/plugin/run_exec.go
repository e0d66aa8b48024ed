package plugin

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/live"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/load"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/openmetrics"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
	"github.com/llmbench/kubectl-llmbench/pkg/export"
	"github.com/llmbench/kubectl-llmbench/pkg/placement"
	"github.com/llmbench/kubectl-llmbench/pkg/run"
)

// graceAfterStop is how long in-flight requests may finish after Ctrl-C.
const graceAfterStop = 5 * time.Second

// Run executes the benchmark and writes the run folder.
func (o *RunOptions) Run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	// Every message of the run goes through one writer: straight to the
	// terminal, or above the dashboard while it draws.
	tty := !o.plain && isTerminal(o.ErrOut)
	stderr := o.ErrOut
	msgs := &switchWriter{w: stderr}
	o.ErrOut = msgs
	defer func() { o.ErrOut = stderr }()
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Writing to a closed pipe then fails with an error instead of
	// killing the run before its reports are written.
	signal.Ignore(syscall.SIGPIPE)
	returned := make(chan struct{})
	// The dashboard, once there is one, for the second Ctrl-C.
	var dashboard atomic.Pointer[runView]
	defer close(returned)
	go func() {
		select {
		case <-ctx.Done():
		case <-returned:
			return
		}
		stop()
		// A second Ctrl-C quits at once; the journal already holds every
		// finished request. The dashboard first gives the terminal back
		// its cursor.
		second := make(chan os.Signal, 1)
		signal.Notify(second, os.Interrupt, syscall.SIGTERM)
		go func() {
			select {
			case <-second:
				if v := dashboard.Load(); v != nil {
					v.kill()
				}
				os.Exit(130)
			case <-returned:
				signal.Stop(second)
			}
		}()
		fmt.Fprintf(msgs, "\nstopping: no new requests; waiting up to %s for those in flight (Ctrl-C again to quit at once)\n", graceAfterStop)
	}()

	if o.insecure {
		fmt.Fprintln(o.ErrOut, "warning: TLS verification of the engines is off (--insecure-skip-engine-tls-verify); use it only for self-signed test endpoints")
	}
	// Port-forwards outlive discovery: their log starts on stderr and
	// moves to run.log (and stderr with -v) once the run folder exists.
	clusterLog := newSwitchHandler(slog.NewTextHandler(o.ErrOut, &slog.HandlerOptions{Level: map[bool]slog.Level{true: slog.LevelInfo, false: slog.LevelWarn}[o.verbose]}))
	o.planOnly = o.dryRun
	var ic *inCluster
	var clusterInfo *placement.Info
	if o.ic.enabled {
		var err error
		if ic, err = o.reachInCluster(ctx); err != nil {
			return err
		}
		clusterInfo = ic.info
		if o.dryRun {
			return o.printInClusterPlan(ic)
		}
	} else {
		info, release, err := o.reach(ctx, o.kube, o.cfg.Services.Namespace, o.seed(), o.ErrOut, slog.New(clusterLog))
		if err != nil {
			return err
		}
		defer release()
		if o.dryRun {
			return o.printPlan()
		}
		clusterInfo = info
	}

	var names []string
	for _, t := range o.resolved {
		names = append(names, t.Name)
	}
	o.view = newRunView(live.NewBoard(names, o.scenarios, o.parallel), "kubectl-llmbench run "+o.cfg.Benchmark.Name, msgs, stderr, tty)
	watch := watchers{o.view}
	if o.metricsAddr != "" {
		exp := openmetrics.New(Version())
		bound, stopMetrics, err := exp.Serve(o.metricsAddr)
		if err != nil {
			return err
		}
		defer func() {
			// A scraper that stalls must not hold the run's exit.
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			stopMetrics(sctx)
		}()
		fmt.Fprintf(o.ErrOut, "Metrics: http://%s/metrics (OpenMetrics; dashboards/kubectl-llmbench.json for Grafana)\n", bound)
		watch = append(watch, exp)
	}
	dashboard.Store(o.view)
	cfg := o.runConfig(clusterInfo, watch)
	cfg.Started = func(dir string, l *slog.Logger) {
		clusterLog.set(l.Handler())
		if err := o.view.keep(dir); err != nil {
			l.Warn("live.jsonl will be missing", "error", err)
		}
		o.view.start()
	}
	if ic != nil {
		cfg.Remote = o.remote(ic, slog.New(clusterLog))
		cfg.ScrapeInterval = 0
	}
	res, err := run.Run(ctx, cfg, watch)
	o.view.stop()
	if res == nil {
		return err
	}
	defer res.Close()
	dir, log := res.Dir, res.Log
	if err != nil {
		return err
	}
	if ic != nil && ic.err != nil && ctx.Err() == nil {
		return fmt.Errorf("%w; what was measured, if anything, is in %s", ic.err, dir)
	}
	for _, t := range res.Targets {
		if t.Error != "" {
			fmt.Fprintf(o.ErrOut, "engine %s skipped: %s\n", t.Target.Name, t.Error)
		}
		for _, a := range t.Aborted {
			fmt.Fprintf(o.ErrOut, "engine %s, scenario %s\n", t.Target.Name, a)
		}
		if t.Calibration != nil {
			fmt.Fprintln(o.ErrOut, safeText(export.CalibrationText(t.Target.Name, t.Calibration)))
		}
	}
	// A closed stdout (piped into head) must not cost the reports.
	if err := export.WriteTable(o.Out, res.Summary); err != nil {
		log.Warn("printing the summary table", "error", err)
	}
	var reportErr error
	if !o.noReport || o.baselineDir != "" {
		reportErr = o.writeReports(dir)
	}
	fmt.Fprintf(o.Out, "\nResults: %s (status %s)\n", dir, res.Status)
	if reportErr != nil {
		fmt.Fprintf(o.ErrOut, "error: %v; the journal and summary.json are complete, retry with: kubectl llmbench report %s\n", reportErr, dir)
	}
	if res.RecordErrors > 0 {
		return fmt.Errorf("%d request(s) could not be written to the journal (first: %s); the summary is complete but requests.jsonl is not", res.RecordErrors, res.FirstRecordError)
	}
	switch res.Status {
	case "interrupted":
		return &ExitError{Code: 130, Err: fmt.Errorf("interrupted: the summary of what was measured is in %s", dir)}
	case "failed":
		return fmt.Errorf("no measured request succeeded; see the errors above, the error examples in %s and %s", filepath.Join(dir, export.SummaryFile), filepath.Join(dir, "run.log"))
	}
	return nil
}

// runConfig is the run the flags describe, on the engines resolved.
func (o *RunOptions) runConfig(clusterInfo *placement.Info, progress load.Observer) run.Config {
	cfg := run.Config{
		Name: o.cfg.Benchmark.Name, OutputDir: o.outputDir,
		Targets: o.resolved, Scenarios: o.scenarios, Capacity: o.capacity, Prompts: o.prompts,
		Weights: o.weights,
		HTTP:    engine.NewHTTPClient(engine.HTTPOptions{InsecureSkipVerify: o.insecure, Resolve: o.connectTo}),
		Timeout: o.timeout(), Grace: graceAfterStop, Parallel: o.parallel, Seed: o.seed(), ScrapeInterval: o.scrapeInterval,
		UniquePrompts: o.cfg.Workload.UniquePrompts == nil || *o.cfg.Workload.UniquePrompts,
		SamplePrompts: o.dataset != nil, FollowUps: o.followUps,
		Manifest: export.Manifest{Tool: "kubectl-llmbench", ToolVersion: Version(), Command: redactArgs(os.Args),
			Config: o.cfg, Cluster: clusterInfo, Baseline: o.baselineDir, Dataset: o.dataset},
		Out: o.ErrOut, Observer: progress,
	}
	if o.verbose {
		cfg.Log = slog.NewTextHandler(o.ErrOut, &slog.HandlerOptions{Level: slog.LevelInfo})
	}
	return cfg
}

// writeReports loads the run back from its folder and writes the chosen
// formats.
func (o *RunOptions) writeReports(dir string) error {
	r, err := export.LoadRun(dir)
	if err != nil {
		return err
	}
	if o.baselineDir != "" {
		if err := attachBaseline(r, o.baselineDir); err != nil {
			return err
		}
		fmt.Fprintf(o.Out, "\nCompared with %s: %s\n", filepath.Base(o.baselineDir), export.DiffVerdict(*r.Baseline))
		if o.noReport {
			return export.WriteJSON(filepath.Join(dir, export.ComparisonFile), r.Baseline)
		}
	}
	return export.WriteFormats(dir, r, o.formats)
}

func (o *RunOptions) seed() int64 {
	if o.cfg.Workload.Seed != nil {
		return *o.cfg.Workload.Seed
	}
	return 42
}

// tokensPlan says how long a scenario's prompts and answers are, with the
// first draws of a distribution: the same for every engine and every run
// with this seed.
func tokensPlan(s workload.Scenario, seed int64) string {
	draws := func(t workload.TokenLength, purpose string) string {
		if t.Kind == workload.TokensFixed {
			return t.String()
		}
		var first []string
		for i := range 5 {
			first = append(first, strconv.Itoa(t.Draw(workload.RequestRand(seed, s.Name, int64(i), purpose))))
		}
		return fmt.Sprintf("%s (first: %s, …)", t, strings.Join(first, ", "))
	}
	if s.Trace != nil && s.InputTokens == nil && s.OutputTokens == nil {
		return "the trace's own prompt and answer lengths (prompts in each engine's own tokenizer)"
	}
	out := fmt.Sprintf("%d output tokens", s.MaxTokens)
	if s.OutputTokens != nil {
		out = draws(*s.OutputTokens, "output") + " output tokens"
	}
	if s.InputTokens == nil {
		return out
	}
	return draws(*s.InputTokens, "input") + " prompt tokens in each engine's own tokenizer, " + out
}

// printPlan is --dry-run: what would be sent, and for how long.
func (o *RunOptions) printPlan() error {
	w := o.Out
	fmt.Fprintf(w, "Plan for %q (nothing will be sent)\n\nEngines (one after another%s):\n", o.cfg.Benchmark.Name, map[bool]string{true: "; --parallel: at once", false: ""}[o.parallel])
	for _, t := range o.resolved {
		model := t.Model
		if model == "" {
			model = "(discovered at start)"
		}
		url := t.URL()
		switch {
		case t.Access == "simulator":
			url = "built-in simulator on 127.0.0.1"
		case t.BaseURL == "":
			url = "via " + t.Access // a tunnel, not opened in a dry run
		case t.Access != "explicit" && t.Access != "":
			url += " via " + t.Access
		}
		fmt.Fprintf(w, "  %-10s %-7s %s  model %s\n", t.Name, t.Type, url, model)
	}
	if ds := o.dataset; ds != nil {
		fmt.Fprintf(w, "\n%s\n", export.DatasetText(ds))
	}
	var scraped []string
	for _, t := range o.resolved {
		if u := t.MetricsURL(); u != "" {
			s := t.Name + " " + engine.RedactURL(u)
			if t.Metrics != nil && t.Metrics.Found != "" {
				s += " (" + t.Metrics.Found + ")"
			}
			scraped = append(scraped, s)
		}
		if g := t.GPUMetrics; g != nil {
			scraped = append(scraped, t.Name+" GPUs "+engine.RedactURL(g.URL)+" ("+g.Found+")")
		}
	}
	if len(scraped) > 0 && o.scrapeInterval > 0 {
		fmt.Fprintf(w, "\nEngine metrics scraped every %s into metrics.jsonl: %s\n", o.scrapeInterval, strings.Join(scraped, ", "))
	}
	fmt.Fprintln(w, "\nScenarios per engine:")
	var total time.Duration
	for _, s := range o.scenarios {
		n := s.ExpectedRequests()
		count := fmt.Sprintf("%d requests", n)
		if n < 0 {
			count = "requests as fast as answers come"
		}
		shape := string(s.Arrival)
		switch s.Arrival {
		case workload.ArrivalClosed:
			shape = fmt.Sprintf("closed loop, %d users, think %s", s.Concurrency, s.ThinkTime)
		case workload.ArrivalConstant, workload.ArrivalPoisson:
			shape = fmt.Sprintf("open loop, %s at %g req/s", s.Arrival, s.Rate)
			if s.Concurrency > 0 {
				shape += fmt.Sprintf(", cap %d in flight (%s)", s.Concurrency, s.CapPolicy)
			}
		case workload.ArrivalTrace:
			shape = fmt.Sprintf("open loop, replaying %s (%d requests over %.1fs, speed ×%g)", s.Trace.Path, s.Trace.Requests, s.Trace.SpanS, s.Trace.Speed)
		}
		d := s.ExpectedDuration()
		total += d
		dur := "until done"
		if d > 0 {
			dur = d.String()
		}
		goal := "no target"
		if s.Target != nil {
			goal = "target " + s.Target.String()
		}
		fmt.Fprintf(w, "  %-16s %s; %s; %s; %s; %s\n", s.Name, shape, count, tokensPlan(s, o.seed()), dur, goal)
	}
	if c := o.capacity; c != nil {
		t := c.Template
		fmt.Fprintf(w, "\nCapacity search per engine (%s): from %g, doubling until the SLO (%s) is missed, then bisecting to within %.0f%%; at most %d levels of %s each, shaped like %s\n",
			c.Kind, c.Start(), t.SLO, load.CapacityPrecision*100, load.CapacityMaxLevels, t.Duration, t.Name)
	}
	if !o.parallel {
		total *= time.Duration(len(o.resolved))
	}
	fmt.Fprintf(w, "\nTimed scenarios take about %s in all, plus the sequential TTFT suite.\nResults would go to %s/\n", total, o.outputDir)
	return nil
}
