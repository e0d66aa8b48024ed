package reconcile

import (
	"math"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/stats"
)

// Window is one engine × scenario reconciled: the server's account of the
// measured window beside the client's records that ended inside it.
type Window struct {
	Engine   string `json:"engine"`
	Scenario string `json:"scenario"`
	// Dialect is whose metric names were read: vllm or tgi.
	Dialect string `json:"dialect,omitempty"`
	// StartUnixNS and EndUnixNS are the scrapes that bound the window:
	// the scenario's start (or the first scrape after its warm-up) and
	// its end.
	StartUnixNS int64 `json:"start_unix_ns"`
	EndUnixNS   int64 `json:"end_unix_ns"`
	// WarmupIncluded: no scrape fell between the warm-up's last answer
	// and the scenario's end, so the window starts with the scenario and
	// both sides count the warm-up too.
	WarmupIncluded bool `json:"warmup_included,omitempty"`
	// Scrapes is how many scrapes lie in the window, bounds included.
	Scrapes int `json:"scrapes"`
	// ClientRequests are the successful requests whose answer ended in
	// the window; ServerRequests what the engine counted as finished.
	ClientRequests int      `json:"client_requests"`
	ServerRequests *float64 `json:"server_requests,omitempty"`
	// CountMismatch: the two differ by more than a boundary's worth (one
	// request and 1%): another tenant on the engine, retries, or answers
	// the client gave up on. The residuals then compare different sets.
	CountMismatch bool    `json:"count_mismatch,omitempty"`
	Phases        []Phase `json:"phases,omitempty"`
	Gauges        []Gauge `json:"gauges,omitempty"`
	// GPU are the engine's GPUs over the window (GPUUtil, GPUMemUsed,
	// GPUPower), where a DCGM exporter was scraped; GPUs is how many.
	GPU      []Gauge  `json:"gpu,omitempty"`
	GPUs     int      `json:"gpus,omitempty"`
	Counters Counters `json:"counters"`
	// Breakdown splits the client's mean TTFT into where it went.
	Breakdown *Breakdown `json:"ttft_breakdown,omitempty"`
	Notes     []string   `json:"notes,omitempty"`
	// Unavailable says why the window could not be reconciled at all.
	Unavailable string `json:"unavailable,omitempty"`
}

// Phase is one timed phase of a request, from the server's histogram, and
// where the client measures the same thing, its records beside it.
type Phase struct {
	Name   string      `json:"phase"`
	Metric string      `json:"metric,omitempty"`
	Server ServerStats `json:"server"`
	// Client is the same window's records (exact percentiles).
	Client *stats.Stats `json:"client,omitempty"`
	// Residual is client minus server: what the network, a tunnel and
	// the client add. Mean exact; percentiles are differences of
	// percentiles (the server's interpolated), not percentiles of
	// per-request differences, which the metrics cannot pair.
	Residual *Residual `json:"residual_ms,omitempty"`
}

// ServerStats are a histogram delta's figures in milliseconds. The mean
// is exact (_sum/_count); the percentiles are interpolated inside the
// engine's buckets, as Prometheus' histogram_quantile does, and can be off
// by up to a bucket's width.
type ServerStats struct {
	Count  float64 `json:"count"`
	MeanMS float64 `json:"mean_ms"`
	// Interpolated marks percentiles read from buckets; false where the
	// figure is an estimate with a mean only (Estimated says how).
	Interpolated bool    `json:"percentiles_from_buckets"`
	P50MS        float64 `json:"p50_ms,omitempty"`
	P90MS        float64 `json:"p90_ms,omitempty"`
	P95MS        float64 `json:"p95_ms,omitempty"`
	P99MS        float64 `json:"p99_ms,omitempty"`
	// AtMost lists the percentiles that fell in the lowest bucket: their
	// value is that bucket's bound, an upper bound and no more.
	AtMost    []string `json:"at_most,omitempty"`
	Estimated string   `json:"estimated,omitempty"`
}

// Residual is client minus server, in milliseconds.
type Residual struct {
	MeanMS float64  `json:"mean"`
	P50MS  *float64 `json:"p50,omitempty"`
	P95MS  *float64 `json:"p95,omitempty"`
	P99MS  *float64 `json:"p99,omitempty"`
}

// Gauge is an engine gauge over the window's scrapes.
type Gauge struct {
	Name   string  `json:"name"`
	Metric string  `json:"metric"`
	First  float64 `json:"first"`
	Last   float64 `json:"last"`
	Min    float64 `json:"min"`
	Mean   float64 `json:"mean"`
	Max    float64 `json:"max"`
}

// Counters are the engine's counters over the window, with the client's
// totals where it has them.
type Counters struct {
	PromptTokens       *float64 `json:"server_prompt_tokens,omitempty"`
	GenerationTokens   *float64 `json:"server_generation_tokens,omitempty"`
	ClientPromptTokens int      `json:"client_prompt_tokens"`
	ClientOutputTokens int      `json:"client_output_tokens"`
	Preemptions        *float64 `json:"preemptions,omitempty"`
	// PrefixCacheHitRate is hit tokens over queried tokens.
	PrefixCacheHitRate *float64 `json:"prefix_cache_hit_rate,omitempty"`
}

// Breakdown is where the client's mean TTFT went, in order: the network
// and client (the residual), the server's queue, its prefill, and what
// else it spent before the first token (tokenizing, scheduling).
type Breakdown struct {
	ClientTTFTMS float64 `json:"client_ttft_mean_ms"`
	Parts        []Part  `json:"parts"`
	// ServerDecodeMS is the mean decode time after the first token,
	// which the TTFT does not contain.
	ServerDecodeMS *float64 `json:"server_decode_mean_ms,omitempty"`
}

// Part is one share of the breakdown.
type Part struct {
	Name  string  `json:"name"` // network_client, queue, prefill, other_server
	MS    float64 `json:"ms"`
	Share float64 `json:"share"` // of the client's mean TTFT
}

// Phase returns the window's phase named name.
func (w Window) Phase(name string) (Phase, bool) {
	for _, p := range w.Phases {
		if p.Name == name {
			return p, true
		}
	}
	return Phase{}, false
}

// GPUGauge returns the window's GPU gauge named name.
func (w Window) GPUGauge(name string) (Gauge, bool) {
	for _, g := range w.GPU {
		if g.Name == name {
			return g, true
		}
	}
	return Gauge{}, false
}

// Gauge returns the window's gauge named name.
func (w Window) Gauge(name string) (Gauge, bool) {
	for _, g := range w.Gauges {
		if g.Name == name {
			return g, true
		}
	}
	return Gauge{}, false
}

// observe folds one scrape's value into the gauge; n is how many came
// before it. Mean holds the sum until finish divides it.
func (g *Gauge) observe(v float64, n int) {
	if n == 0 {
		g.First, g.Min, g.Max = v, v, v
	}
	g.Last = v
	g.Min, g.Max = min(g.Min, v), max(g.Max, v)
	g.Mean += v
}

// finish turns the sum of n values into their mean.
func (g *Gauge) finish(n int) { g.Mean /= float64(n) }

// finite turns a NaN (no observation) into 0, which JSON can carry.
func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}
