package openmetrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/metric"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

const namespace = "llmbench"

// Label names.
const (
	labelEngine     = "engine"
	labelScenario   = "scenario"
	labelPhase      = "phase"
	labelOutcome    = "outcome"
	labelErrorClass = "error_class"
	labelVersion    = "version"
)

// Outcomes of llmbench_requests_total.
const (
	outcomeOK    = "ok"
	outcomeError = "error"
)

// Classic buckets, seconds. Whole requests and first tokens run from a
// few milliseconds (a warm small model on a GPU) to minutes (a long answer
// on a CPU, or a queue under overload); token gaps from under a millisecond
// to seconds (a decode stalled behind a prefill).
var (
	latencyBuckets = []float64{
		0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75,
		1, 1.5, 2, 3, 5, 7.5, 10, 15, 20, 30, 45, 60, 120, 300,
	}
	// A healthy client sends within tens of microseconds of schedule; a
	// saturated one or a concurrency cap, seconds late.
	lagBuckets = []float64{
		0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
	}
	tokenGapBuckets = []float64{
		0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05,
		0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 2.5,
	}
)

// Native histograms: a factor of 1.1 keeps each bucket within about 5% of
// its values (schema 3), enough to read a p99 from; the bucket cap and
// reset keep a long run with a wide spread from growing without bound.
const (
	nativeBucketFactor   = 1.1
	nativeMaxBucketCount = 160
	nativeMinReset       = time.Hour
)

// Exporter turns the run's records into Prometheus metrics as they finish.
// It is safe for concurrent use; its methods satisfy load.Sink and
// load.Observer.
type Exporter struct {
	reg *prometheus.Registry

	requests     *prometheus.CounterVec
	inFlight     *prometheus.GaugeVec
	ttft         *prometheus.HistogramVec
	ttfb         *prometheus.HistogramVec
	tpot         *prometheus.HistogramVec
	itl          *prometheus.HistogramVec
	e2e          *prometheus.HistogramVec
	scheduleLag  *prometheus.HistogramVec
	outputTokens *prometheus.CounterVec
	promptTokens *prometheus.CounterVec
	running      *prometheus.GaugeVec
	askedRate    *prometheus.GaugeVec

	// ttftOf and the others read a Record's values as the summarizer does.
	ttftOf, ttfbOf, tpotOf, e2eOf func(*engine.Record) *float64

	mu     sync.Mutex
	groups map[groupKey]*group
}

type groupKey struct{ engine, scenario string }

type requestKey struct {
	phase      engine.Phase
	errorClass string
	ok         bool
}

// group holds one engine × scenario's children, resolved once, so a
// record costs a map lookup instead of a label hash per observation.
type group struct {
	inFlight     prometheus.Gauge
	ttft         prometheus.Observer
	ttfb         prometheus.Observer
	tpot         prometheus.Observer
	itl          prometheus.Observer
	e2e          prometheus.Observer
	scheduleLag  prometheus.Observer
	outputTokens prometheus.Counter
	promptTokens prometheus.Counter
	running      prometheus.Gauge
	askedRate    prometheus.Gauge
	requests     map[requestKey]prometheus.Counter

	// announced are the requests RequestSent told of and Write has not
	// yet taken, by record: records never sent (dropped, or cancelled
	// while waiting for the client's cap) and in-cluster workers' arrive
	// unannounced and must not take a real request's place.
	announced map[*engine.Record]struct{}
}

// New returns an Exporter with its own registry; version is reported as
// llmbench_build_info.
func New(version string) *Exporter {
	byGroup := []string{labelEngine, labelScenario}
	hist := func(name, help string, buckets []float64) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace:                       namespace,
			Name:                            name,
			Help:                            help,
			Buckets:                         buckets,
			NativeHistogramBucketFactor:     nativeBucketFactor,
			NativeHistogramMaxBucketNumber:  nativeMaxBucketCount,
			NativeHistogramMinResetDuration: nativeMinReset,
		}, byGroup)
	}
	e := &Exporter{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "requests_total",
			Help: "Requests finished, by phase (warmup, measure), outcome (ok, error) and error_class (empty when ok).",
		}, []string{labelEngine, labelScenario, labelPhase, labelOutcome, labelErrorClass}),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "requests_in_flight",
			Help: "Requests sent and not yet finished.",
		}, byGroup),
		ttft: hist("ttft_seconds", "Time to first token, from the send; measured, successful, warm requests.", latencyBuckets),
		ttfb: hist("ttfb_seconds", "Time to the response's first byte, from the send; measured, successful, warm requests.", latencyBuckets),
		tpot: hist("tpot_seconds", "Time per output token after the first, one per request; measured, successful, warm requests.", tokenGapBuckets),
		itl:  hist("itl_seconds", "Inter-token latency, one observation per gap between streamed tokens; measured, successful, warm requests.", tokenGapBuckets),
		e2e:  hist("e2e_seconds", "End-to-end request latency, from the send to the last byte; measured, successful, warm requests.", latencyBuckets),
		scheduleLag: hist("schedule_lag_seconds",
			"How late each measured request was sent after its scheduled arrival (the client's own lag, or its concurrency cap).", lagBuckets),
		outputTokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "output_tokens_total",
			Help: "Output tokens of measured, successful requests.",
		}, byGroup),
		promptTokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "prompt_tokens_total",
			Help: "Prompt tokens of measured, successful requests.",
		}, byGroup),
		running: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "scenario_running",
			Help: "1 while the scenario runs against the engine, 0 after.",
		}, byGroup),
		askedRate: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "scenario_asked_rate_requests_per_second",
			Help: "The arrival rate an open-loop scenario asks for; absent for closed-loop and sequential ones.",
		}, byGroup),
		groups: map[groupKey]*group{},
	}
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Name: "build_info",
		Help: "Always 1; version is the kubectl-llmbench that runs the benchmark.",
	}, []string{labelVersion})
	buildInfo.WithLabelValues(version).Set(1)
	e.reg.MustRegister(e.requests, e.inFlight, e.ttft, e.ttfb, e.tpot, e.itl, e.e2e, e.scheduleLag,
		e.outputTokens, e.promptTokens, e.running, e.askedRate, buildInfo)
	e.ttftOf, e.ttfbOf, e.tpotOf, e.e2eOf = of(metric.TTFT), of(metric.TTFB), of(metric.TPOT), of(metric.E2E)
	return e
}

// of is the registry's reader of a metric; a name without one is a bug
// in this package, found by the first test.
func of(name string) func(*engine.Record) *float64 {
	d, ok := metric.Lookup(name)
	if !ok || d.Of == nil {
		panic("openmetrics: metric " + name + " has no reader in pkg/bench/metric")
	}
	return d.Of
}

// group returns the children of engine × scenario; the caller holds e.mu.
func (e *Exporter) group(engineName, scenario string) *group {
	k := groupKey{engineName, scenario}
	if g := e.groups[k]; g != nil {
		return g
	}
	g := &group{
		inFlight:     e.inFlight.WithLabelValues(engineName, scenario),
		ttft:         e.ttft.WithLabelValues(engineName, scenario),
		ttfb:         e.ttfb.WithLabelValues(engineName, scenario),
		tpot:         e.tpot.WithLabelValues(engineName, scenario),
		itl:          e.itl.WithLabelValues(engineName, scenario),
		e2e:          e.e2e.WithLabelValues(engineName, scenario),
		scheduleLag:  e.scheduleLag.WithLabelValues(engineName, scenario),
		outputTokens: e.outputTokens.WithLabelValues(engineName, scenario),
		promptTokens: e.promptTokens.WithLabelValues(engineName, scenario),
		requests:     map[requestKey]prometheus.Counter{},
		announced:    map[*engine.Record]struct{}{},
	}
	e.groups[k] = g
	return g
}

// RequestSent is called as a request is about to be sent.
func (e *Exporter) RequestSent(rec *engine.Record) {
	e.mu.Lock()
	g := e.group(rec.Engine, rec.Scenario)
	g.announced[rec] = struct{}{}
	g.inFlight.Set(float64(len(g.announced)))
	e.mu.Unlock()
}

// Write takes a finished record, warm-up included. It never fails: a
// metrics endpoint must not stop a run.
func (e *Exporter) Write(rec *engine.Record) error {
	k := requestKey{phase: rec.Phase, errorClass: rec.ErrorClass, ok: rec.OK}
	if rec.OK {
		k.errorClass = ""
	}
	e.mu.Lock()
	g := e.group(rec.Engine, rec.Scenario)
	if _, ok := g.announced[rec]; ok {
		delete(g.announced, rec)
		g.inFlight.Set(float64(len(g.announced)))
	}
	requests := g.requests[k]
	if requests == nil {
		outcome := outcomeOK
		if !rec.OK {
			outcome = outcomeError
		}
		requests = e.requests.WithLabelValues(rec.Engine, rec.Scenario, string(rec.Phase), outcome, k.errorClass)
		g.requests[k] = requests
	}
	e.mu.Unlock()

	requests.Inc()
	if !rec.Sent() {
		return nil
	}
	g.scheduleLag.Observe(rec.ScheduleLagMS / 1e3)
	if !rec.OK {
		return nil
	}
	g.outputTokens.Add(float64(rec.OutputTokens))
	g.promptTokens.Add(float64(rec.PromptTokens))
	if rec.ColdStart {
		return nil
	}
	observeMS(g.ttft, e.ttftOf(rec))
	observeMS(g.ttfb, e.ttfbOf(rec))
	observeMS(g.tpot, e.tpotOf(rec))
	observeMS(g.e2e, e.e2eOf(rec))
	for _, v := range rec.ITLMS {
		g.itl.Observe(v / 1e3)
	}
	return nil
}

func observeMS(o prometheus.Observer, ms *float64) {
	if ms != nil {
		o.Observe(*ms / 1e3)
	}
}

// ScenarioStarted marks the scenario running against t and, for an open
// loop with a rate, the rate it asks for.
func (e *Exporter) ScenarioStarted(t engine.Target, s workload.Scenario) {
	e.mu.Lock()
	defer e.mu.Unlock()
	g := e.group(t.Name, s.Name)
	if g.running == nil {
		g.running = e.running.WithLabelValues(t.Name, s.Name)
	}
	g.running.Set(1)
	if s.Arrival.Open() && s.Rate > 0 {
		if g.askedRate == nil {
			g.askedRate = e.askedRate.WithLabelValues(t.Name, s.Name)
		}
		g.askedRate.Set(s.Rate)
	}
}

// ScenarioFinished marks the scenario done; its asked rate stays, so a
// dashboard can still show what was asked beside what was achieved.
func (e *Exporter) ScenarioFinished(t engine.Target, s workload.Scenario) {
	e.mu.Lock()
	defer e.mu.Unlock()
	g := e.group(t.Name, s.Name)
	if g.running == nil {
		g.running = e.running.WithLabelValues(t.Name, s.Name)
	}
	g.running.Set(0)
}
