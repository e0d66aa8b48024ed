package sim

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// tgiDurationBuckets are TGI's for every *_duration histogram: 0.0001 ×
// 1.5^k for k = 1..35, multiplied up as server.rs does (the strings of
// transcripts/tgi-metrics.prom).
var tgiDurationBuckets = func() []float64 {
	out := make([]float64, 35)
	v := 0.0001
	for i := range out {
		v *= 1.5
		out[i] = v
	}
	return out
}()

// tgiLengthBuckets are max/100 × (1..100): input lengths against
// max_input_tokens, generated tokens against max_total_tokens.
func tgiLengthBuckets(maxTokens int) []float64 {
	out := make([]float64, 100)
	for k := range out {
		out[k] = float64(maxTokens) / 100 * float64(k+1)
	}
	return out
}

// tgiHistograms are the histograms a simulated TGI exposes. A family with
// a label (tgi_batch_inference_duration's method) has one entry per series,
// adjacent, as the transcript prints them under one HELP and TYPE. Every
// request is its own prefill batch here, and each of its tokens after the
// first one decode step, so per-request means add up exactly where a real
// TGI's batches blur them.
var tgiHistograms = []struct {
	name, help, label string
	buckets           []float64
}{
	{"tgi_request_duration", "Request duration", "", tgiDurationBuckets},
	{"tgi_request_validation_duration", "Request validation duration", "", tgiDurationBuckets},
	{"tgi_request_queue_duration", "Request queue duration", "", tgiDurationBuckets},
	{"tgi_request_inference_duration", "Request inference duration", "", tgiDurationBuckets},
	{"tgi_request_mean_time_per_token_duration", "Mean time per token per request", "", tgiDurationBuckets},
	{"tgi_request_input_length", "Input token length per request", "", tgiLengthBuckets(tgiMaxInput)},
	{"tgi_request_generated_tokens", "Generated tokens per request", "", tgiLengthBuckets(tgiMaxTotal)},
	{"tgi_batch_inference_duration", "Batch inference duration", `method="prefill"`, tgiDurationBuckets},
	{"tgi_batch_inference_duration", "Batch inference duration", `method="decode"`, tgiDurationBuckets},
}

const (
	tDuration = iota
	tValidation
	tQueue
	tInference
	tMeanPerToken
	tInput
	tGenerated
	tPrefillBatch
	tDecodeBatch
)

func newTGIMetrics() *serverMetrics {
	m := &serverMetrics{finished: map[string]float64{}, tgi: true}
	for _, h := range tgiHistograms {
		m.hists = append(m.hists, histogram{buckets: h.buckets, counts: make([]uint64, len(h.buckets)+1)})
	}
	return m
}

// recordTGI folds a finished request in as TGI's router does: durations
// from validation (arrival) through the last token, inference from the
// batch slot on.
func (m *serverMetrics) recordTGI(j *job, tm timing, tokens int, gaps []time.Duration, reason string) {
	m.finished[reason]++
	if reason == "abort" || tm.first.IsZero() {
		return
	}
	sec := func(d time.Duration) float64 { return d.Seconds() }
	inference := tm.last.Sub(tm.admitted)
	m.hists[tDuration].observe(sec(tm.last.Sub(tm.arrived)))
	m.hists[tValidation].observe(sec(tm.queued.Sub(tm.arrived)))
	m.hists[tPrefillBatch].observe(sec(tm.first.Sub(tm.admitted)))
	for _, g := range gaps {
		m.hists[tDecodeBatch].observe(sec(g))
	}
	m.hists[tQueue].observe(sec(tm.admitted.Sub(tm.queued)))
	m.hists[tInference].observe(sec(inference))
	m.hists[tMeanPerToken].observe(sec(inference) / float64(max(tokens, 1)))
	m.hists[tInput].observe(float64(j.promptTokens))
	m.hists[tGenerated].observe(float64(tokens))
}

// tgiMetrics serves /metrics as metrics-exporter-prometheus 0.15 renders
// TGI's: counters, then gauges, then histograms, each family followed by
// a blank line, no _total suffix, integral values without a decimal
// point, le as the last label.
func (e *backend) tgiMetrics(w http.ResponseWriter, _ *http.Request) {
	m := e.metrics
	running, waiting, _ := e.queueState()
	var b strings.Builder
	num := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	m.mu.Lock()
	defer m.mu.Unlock()
	total, failed := 0.0, m.finished["abort"]
	for _, n := range m.finished {
		total += n
	}
	b.WriteString("# HELP tgi_request_count Total number of requests\n# TYPE tgi_request_count counter\ntgi_request_count " + num(total) + "\n\n")
	b.WriteString("# HELP tgi_request_success Number of successful requests\n# TYPE tgi_request_success counter\ntgi_request_success " + num(total-failed) + "\n\n")
	if failed > 0 {
		b.WriteString("# TYPE tgi_request_failure counter\ntgi_request_failure{err=\"incomplete\"} " + num(failed) + "\n\n")
	}
	b.WriteString("# HELP tgi_queue_size Current queue size\n# TYPE tgi_queue_size gauge\ntgi_queue_size " + num(float64(waiting)) + "\n\n")
	b.WriteString("# HELP tgi_batch_current_size Current batch size\n# TYPE tgi_batch_current_size gauge\ntgi_batch_current_size " + num(float64(running)) + "\n\n")
	open := "" // the family whose HELP and TYPE are written
	for i, def := range tgiHistograms {
		h := m.hists[i]
		if h.n == 0 {
			continue // a series appears only after first use
		}
		if open != def.name {
			if open != "" {
				b.WriteString("\n")
			}
			b.WriteString("# HELP " + def.name + " " + def.help + "\n# TYPE " + def.name + " histogram\n")
			open = def.name
		}
		labels, sep := "", ""
		if def.label != "" {
			labels, sep = "{"+def.label+"}", def.label+","
		}
		cum := uint64(0)
		for k, c := range h.counts {
			cum += c
			le := "+Inf"
			if k < len(h.buckets) {
				le = num(h.buckets[k])
			}
			b.WriteString(def.name + "_bucket{" + sep + `le="` + le + `"} ` + strconv.FormatUint(cum, 10) + "\n")
		}
		b.WriteString(def.name + "_sum" + labels + " " + num(h.sum) + "\n" + def.name + "_count" + labels + " " + strconv.FormatUint(h.n, 10) + "\n")
	}
	if open != "" {
		b.WriteString("\n")
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte(b.String()))
}
