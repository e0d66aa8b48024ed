package reconcile

import "strings"

// phaseDef is a server histogram and the phase of a request it times.
type phaseDef struct {
	phase string
	// metrics are tried in order: the current name, then older ones.
	metrics []string
	match   map[string]string
}

// dialect is one engine's metric names.
type dialect struct {
	name   string
	phases []phaseDef
	// success counts finished requests: every series of the counter but
	// those whose reason label says it did not finish.
	success, reasonLabel string
	failedReasons        []string
	promptTokens         string
	generationTokens     string
	preemptions          string
	prefixHits           []string
	prefixQueries        []string
	gauges               []gaugeDef
}

type gaugeDef struct {
	name    string
	metrics []string
	mean    bool // a fraction per engine, averaged rather than summed
}

// Phase names, shared by both engines where they time the same thing.
const (
	PhaseTTFT       = "ttft"
	PhaseE2E        = "e2e"
	PhaseQueue      = "queue"
	PhasePrefill    = "prefill"
	PhaseDecode     = "decode"
	PhaseITL        = "itl"
	PhaseTPOT       = "tpot"
	PhaseInference  = "inference"
	PhaseValidation = "validation"
)

// Gauge names.
const (
	GaugeRunning = "running"
	GaugeWaiting = "waiting"
	GaugeKVCache = "kv_cache_usage"
)

// vllm is vLLM V1's set (wire-formats §1.7), with the names 0.9–0.11
// deprecated as fallbacks.
var vllm = dialect{
	name: "vllm",
	phases: []phaseDef{
		{phase: PhaseTTFT, metrics: []string{"vllm:time_to_first_token_seconds"}},
		{phase: PhaseE2E, metrics: []string{"vllm:e2e_request_latency_seconds"}},
		{phase: PhaseQueue, metrics: []string{"vllm:request_queue_time_seconds"}},
		{phase: PhasePrefill, metrics: []string{"vllm:request_prefill_time_seconds"}},
		{phase: PhaseDecode, metrics: []string{"vllm:request_decode_time_seconds"}},
		{phase: PhaseITL, metrics: []string{"vllm:inter_token_latency_seconds", "vllm:time_per_output_token_seconds"}},
		{phase: PhaseTPOT, metrics: []string{"vllm:request_time_per_output_token_seconds"}},
	},
	success: "vllm:request_success_total", reasonLabel: "finished_reason", failedReasons: []string{"abort", "error"},
	promptTokens: "vllm:prompt_tokens_total", generationTokens: "vllm:generation_tokens_total",
	preemptions:   "vllm:num_preemptions_total",
	prefixHits:    []string{"vllm:prefix_cache_hits_total", "vllm:gpu_prefix_cache_hits_total"},
	prefixQueries: []string{"vllm:prefix_cache_queries_total", "vllm:gpu_prefix_cache_queries_total"},
	gauges: []gaugeDef{
		{name: GaugeRunning, metrics: []string{"vllm:num_requests_running"}},
		{name: GaugeWaiting, metrics: []string{"vllm:num_requests_waiting"}},
		{name: GaugeKVCache, metrics: []string{"vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"}, mean: true},
	},
}

// tgi is TGI v3's set (wire-formats §2.8). It has no TTFT histogram: the
// server's TTFT is estimated from validation, queue and prefill means.
var tgi = dialect{
	name: "tgi",
	phases: []phaseDef{
		{phase: PhaseE2E, metrics: []string{"tgi_request_duration"}},
		{phase: PhaseValidation, metrics: []string{"tgi_request_validation_duration"}},
		{phase: PhaseQueue, metrics: []string{"tgi_request_queue_duration"}},
		{phase: PhasePrefill, metrics: []string{"tgi_batch_inference_duration"}, match: map[string]string{"method": "prefill"}},
		{phase: PhaseInference, metrics: []string{"tgi_request_inference_duration"}},
		{phase: PhaseTPOT, metrics: []string{"tgi_request_mean_time_per_token_duration"}},
	},
	success:      "tgi_request_success",
	promptTokens: "", generationTokens: "",
	gauges: []gaugeDef{
		{name: GaugeRunning, metrics: []string{"tgi_batch_current_size"}},
		{name: GaugeWaiting, metrics: []string{"tgi_queue_size"}},
	},
}

// dialectOf tells the engine from what its pages hold.
func dialectOf(pages ...sampleSet) (dialect, bool) {
	for _, ss := range pages {
		for _, s := range ss {
			switch {
			case strings.HasPrefix(s.Metric, "vllm:"):
				return vllm, true
			case strings.HasPrefix(s.Metric, "tgi_"):
				return tgi, true
			}
		}
	}
	return dialect{}, false
}
