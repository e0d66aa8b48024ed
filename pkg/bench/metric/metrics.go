package metric

// Metric names in summaries, as in the journal.
const (
	TTFB         = "ttfb_ms"
	TTFT         = "ttft_ms"
	TTFTContent  = "ttft_content_ms"
	TPOT         = "tpot_ms"
	ITL          = "itl_ms"
	E2E          = "e2e_ms"
	NTPOT        = "ntpot_ms"
	TokensPerS   = "output_tokens_per_s"
	ScheduleLag  = "schedule_lag_ms"
	PromptTokens = "prompt_tokens"
	OutputTokens = "output_tokens"
	ServerLoad   = "server_load_ms"
	ServerPrompt = "server_prompt_eval_ms"
	ServerEval   = "server_eval_ms"
	ServerTTFT   = "server_ttft_ms"
	// From the scheduled arrival instead of the send: includes schedule
	// lag, such as waiting for the client's concurrency cap.
	TTFTFromArrival = "ttft_from_arrival_ms"
	E2EFromArrival  = "e2e_from_arrival_ms"
	TTFTResidual    = "ttft_residual_ms"
	ServerWait      = "server_wait_ms"
	ServerDecodeTPS = "server_decode_tokens_per_s"
	ClientDecodeTPS = "client_decode_tokens_per_s"
	// A prefix cache's effect, where the engine says what it served from
	// it: cached prompt tokens, and TTFT of requests with and without any.
	CachedTokens   = "cached_tokens"
	TTFTPrefixHit  = "ttft_prefix_hit_ms"
	TTFTPrefixMiss = "ttft_prefix_miss_ms"
)
