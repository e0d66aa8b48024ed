package bench

// Metric names in summaries, as in the journal.
const (
	MetricTTFB         = "ttfb_ms"
	MetricTTFT         = "ttft_ms"
	MetricTTFTContent  = "ttft_content_ms"
	MetricTPOT         = "tpot_ms"
	MetricITL          = "itl_ms"
	MetricE2E          = "e2e_ms"
	MetricNTPOT        = "ntpot_ms"
	MetricTokensPerS   = "output_tokens_per_s"
	MetricScheduleLag  = "schedule_lag_ms"
	MetricPromptTokens = "prompt_tokens"
	MetricOutputTokens = "output_tokens"
	MetricServerLoad   = "server_load_ms"
	MetricServerPrompt = "server_prompt_eval_ms"
	MetricServerEval   = "server_eval_ms"
	MetricServerTTFT   = "server_ttft_ms"
	// From the scheduled arrival instead of the send: includes schedule
	// lag, such as waiting for the client's concurrency cap.
	MetricTTFTFromArrival = "ttft_from_arrival_ms"
	MetricE2EFromArrival  = "e2e_from_arrival_ms"
	MetricTTFTResidual    = "ttft_residual_ms"
	MetricServerWait      = "server_wait_ms"
	MetricServerDecodeTPS = "server_decode_tokens_per_s"
	MetricClientDecodeTPS = "client_decode_tokens_per_s"
)
