package sim

import (
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
)

// vllmHistograms are the histograms a simulated vLLM exposes, with the
// buckets and HELP of transcripts/vllm-metrics.prom (V1 loggers.py).
var vllmHistograms = []struct {
	name, help string
	buckets    []float64
}{
	{"vllm:request_prompt_tokens", "Number of prefill tokens processed.", []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000}},
	{"vllm:request_generation_tokens", "Number of generation tokens processed.", []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000}},
	{"vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.", []float64{0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640, 2560}},
	{"vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", []float64{0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80}},
	{"vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.", phaseBuckets},
	{"vllm:request_queue_time_seconds", "Histogram of time spent in WAITING phase for request.", phaseBuckets},
	{"vllm:request_prefill_time_seconds", "Histogram of time spent in PREFILL phase for request.", phaseBuckets},
	{"vllm:request_decode_time_seconds", "Histogram of time spent in DECODE phase for request.", phaseBuckets},
}

var phaseBuckets = []float64{0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680}

// Indexes into vllmHistograms.
const (
	hPromptTokens = iota
	hGenerationTokens
	hTTFT
	hITL
	hE2E
	hQueue
	hPrefill
	hDecode
)

type histogram struct {
	buckets []float64
	counts  []uint64 // per bucket, not cumulative; the last is +Inf
	sum     float64
	n       uint64
}

func (h *histogram) observe(v float64) {
	i := sort.SearchFloat64s(h.buckets, v) // first bound ≥ v: le is inclusive
	h.counts[i]++
	h.sum += v
	h.n++
}

// serverMetrics is what a simulated engine tells /metrics: what it did,
// recorded as each request ends, and its scheduler's state when scraped.
type serverMetrics struct {
	created float64 // Unix seconds, every family's _created
	mu      sync.Mutex
	hists   []histogram
	// Token counters and requests by finished_reason.
	prompt, generation, prefixQueries, prefixHits float64
	finished                                      map[string]float64
	// tgi makes the histograms TGI's (tgiHistograms), not vLLM's.
	tgi bool
	// served hears each request recorded (Options.Served).
	served func(Served)
	engine engine.EngineType
}

func newServerMetrics() *serverMetrics {
	m := &serverMetrics{created: float64(time.Now().UnixNano()) / 1e9, finished: map[string]float64{}}
	for _, h := range vllmHistograms {
		m.hists = append(m.hists, histogram{buckets: h.buckets, counts: make([]uint64, len(h.buckets)+1)})
	}
	return m
}

// record folds one finished request in. gaps are its inter-token gaps;
// reason is stop, length or abort.
func (m *serverMetrics) record(j *job, tm timing, tokens int, gaps []time.Duration, reason string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.served != nil {
		m.served(Served{Engine: m.engine, Arrived: tm.arrived, Admitted: tm.admitted, First: tm.first, Last: tm.last,
			PromptTokens: j.promptTokens, Tokens: tokens, Reason: reason, Preemptions: j.preemptions})
	}
	if m.tgi {
		m.recordTGI(j, tm, tokens, gaps, reason)
		return
	}
	m.finished[reason]++
	m.prompt += float64(j.promptTokens)
	m.prefixQueries += float64(j.promptTokens)
	m.prefixHits += float64(j.cachedTokens)
	m.generation += float64(tokens)
	if reason == "abort" || tm.first.IsZero() {
		return
	}
	sec := func(d time.Duration) float64 { return d.Seconds() }
	m.hists[hPromptTokens].observe(float64(j.promptTokens))
	m.hists[hGenerationTokens].observe(float64(tokens))
	m.hists[hTTFT].observe(sec(tm.first.Sub(tm.arrived)))
	m.hists[hE2E].observe(sec(tm.last.Sub(tm.arrived)))
	m.hists[hQueue].observe(sec(tm.admitted.Sub(tm.queued)))
	m.hists[hPrefill].observe(sec(tm.first.Sub(tm.admitted)))
	m.hists[hDecode].observe(sec(tm.last.Sub(tm.first)))
	for _, g := range gaps {
		m.hists[hITL].observe(sec(g))
	}
}

// vllmMetrics serves /metrics as vLLM's API server does: text format,
// families in loggers.py order, labels sorted, _created series after
// each counter and histogram, floats as prometheus_client writes them.
func (e *backend) vllmMetrics(w http.ResponseWriter, _ *http.Request) {
	m := e.metrics
	running, waiting, _ := e.queueState()
	kvUsage, preemptions := float64(running)/float64(max(e.prof.MaxBatch, 1)), int64(0)
	if e.kv != nil {
		// A preempted sequence keeps its batch slot here but is waiting
		// to vLLM's scheduler.
		preempted, n := e.kv.state()
		running, waiting, kvUsage, preemptions = running-preempted, waiting+preempted, e.kv.usage(), n
	}
	labels := `engine="0",model_name=` + strconv.Quote(e.prof.Model)
	var b strings.Builder
	family := func(name, typ, help string) {
		b.WriteString("# HELP " + name + " " + help + "\n# TYPE " + name + " " + typ + "\n")
	}
	created := func(name, help string) {
		family(name+"_created", "gauge", help)
		b.WriteString(name + "_created{" + labels + "} " + pyFloat(m.created) + "\n")
	}
	gauge := func(name, help string, v float64) {
		family(name, "gauge", help)
		b.WriteString(name + "{" + labels + "} " + pyFloat(v) + "\n")
	}
	counter := func(name, help string, v float64) {
		family(name+"_total", "counter", help)
		b.WriteString(name + "_total{" + labels + "} " + pyFloat(v) + "\n")
		created(name, help)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	gauge("vllm:num_requests_running", "Number of requests in model execution batches.", float64(running))
	gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed.", float64(waiting))
	gauge("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", kvUsage)
	counter("vllm:prefix_cache_queries", "Prefix cache queries, in terms of number of queried tokens.", m.prefixQueries)
	counter("vllm:prefix_cache_hits", "Prefix cache hits, in terms of number of cached tokens.", m.prefixHits)
	counter("vllm:num_preemptions", "Cumulative number of preemption from the engine.", float64(preemptions))
	counter("vllm:prompt_tokens", "Number of prefill tokens processed.", m.prompt)
	counter("vllm:generation_tokens", "Number of generation tokens processed.", m.generation)
	const success = "Count of successfully processed requests."
	family("vllm:request_success_total", "counter", success)
	for _, reason := range []string{"stop", "length", "abort"} {
		b.WriteString(`vllm:request_success_total{engine="0",finished_reason="` + reason + `",model_name=` + strconv.Quote(e.prof.Model) + "} " + pyFloat(m.finished[reason]) + "\n")
	}
	created("vllm:request_success", success)
	for i, def := range vllmHistograms {
		h := m.hists[i]
		family(def.name, "histogram", def.help)
		cum := uint64(0)
		for k, c := range h.counts {
			cum += c
			le := "+Inf"
			if k < len(h.buckets) {
				le = pyFloat(h.buckets[k])
			}
			b.WriteString(def.name + `_bucket{engine="0",le="` + le + `",model_name=` + strconv.Quote(e.prof.Model) + "} " + pyFloat(float64(cum)) + "\n")
		}
		b.WriteString(def.name + "_count{" + labels + "} " + pyFloat(float64(h.n)) + "\n")
		b.WriteString(def.name + "_sum{" + labels + "} " + pyFloat(h.sum) + "\n")
		created(def.name, def.help)
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_, _ = w.Write([]byte(b.String()))
}

// pyFloat writes a float as prometheus_client's floatToGoString does:
// Python's repr, switching to an exponent (its own way) past six digits
// before the point.
func pyFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	if dot := strings.Index(s, "."); v > 0 && dot > 6 {
		mantissa := strings.TrimRight(s[:1]+"."+s[1:dot]+s[dot+1:], "0.")
		return mantissa + "e+0" + strconv.Itoa(dot-1)
	}
	return s
}
