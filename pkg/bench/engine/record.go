package engine

import "time"

// Phase separates warm-up requests, which are journaled but never enter
// statistics, from measured ones.
type Phase string

const (
	PhaseWarmup  Phase = "warmup"
	PhaseMeasure Phase = "measure"
)

// Error classes. Every per-request failure becomes one of these on its
// Record; failed requests never enter latency statistics.
const (
	ErrConnect     = "connect"      // dial, DNS, TLS, connection refused
	ErrTimeout     = "timeout"      // the per-request timeout expired
	ErrHTTP4xx     = "http_4xx"     // 4xx other than 429
	ErrHTTP429     = "http_429"     // rate limited / overloaded
	ErrHTTP5xx     = "http_5xx"     // server error status
	ErrStream      = "stream_error" // the server reported an error inside a 200 stream
	ErrOverloaded  = "overloaded"   // the server shed the request for load inside a 200 stream (TGI)
	ErrParse       = "parse_error"  // the stream was not the protocol we expected
	ErrTruncated   = "truncated"    // the stream ended before its final event
	ErrCanceled    = "canceled"     // stopped by the user (Ctrl-C); not the engine's fault
	ErrDropped     = "dropped"      // the client's concurrency cap dropped it; never sent
	ErrNoGenerated = "no_output"    // the stream completed without generating any text
)

// Where output_tokens came from, most trusted first.
const (
	TokensFromUsage     = "usage"            // OpenAI-style usage.completion_tokens
	TokensFromDetails   = "details"          // TGI details.generated_tokens
	TokensFromEvalCount = "eval_count"       // Ollama eval_count
	TokensFromChunks    = "chunks_estimated" // fallback: token-bearing chunks counted
)

// Record is one request, flat. It is the journal line, the future Parquet
// row and the only input of every statistic. Durations are milliseconds from
// the actual send on the monotonic clock; pointers are null when the request
// never reached that point.
type Record struct {
	RunID      string     `json:"run_id"`
	Engine     string     `json:"engine"`
	EngineType EngineType `json:"engine_type"`
	API        API        `json:"api"`
	Model      string     `json:"model"`
	Suite      string     `json:"suite"`
	Scenario   string     `json:"scenario"`
	Phase      Phase      `json:"phase"`
	RequestID  int64      `json:"request_id"`
	Worker     int        `json:"worker"`
	// LoadWorker and LoadNode say which in-cluster load generator sent
	// the request (run --in-cluster: the Job's completion index) and the
	// node it ran on; nil and empty from the operator's machine.
	LoadWorker *int   `json:"load_worker,omitempty"`
	LoadNode   string `json:"load_node,omitempty"`
	// Sequence numbers the request within its engine × scenario; with
	// PromptIndex it is the same for every engine, so answers to the same
	// question can be compared.
	Sequence    int64 `json:"sequence"`
	PromptIndex int   `json:"prompt_index"`

	// Wall-clock stamps are derived from one anchor plus monotonic offsets,
	// so NTP steps during a run cannot bend them.
	IntendedStartUnixNS int64   `json:"intended_start_unix_ns"`
	StartUnixNS         int64   `json:"start_unix_ns"`
	EndUnixNS           int64   `json:"end_unix_ns"`
	ScheduleLagMS       float64 `json:"schedule_lag_ms"`
	// ClientQueued is true when the client's concurrency cap made this
	// request wait; its wait is part of schedule_lag_ms.
	ClientQueued bool `json:"client_queued,omitempty"`

	TTFBMS        *float64  `json:"ttfb_ms"`
	TTFTMS        *float64  `json:"ttft_ms"`
	TTFTContentMS *float64  `json:"ttft_content_ms"`
	TPOTMS        *float64  `json:"tpot_ms"`
	NTPOTMS       *float64  `json:"ntpot_ms"`
	ITLMS         []float64 `json:"itl_ms"`
	ChunkOffsetMS []float64 `json:"chunk_offsets_ms"`
	E2EMS         *float64  `json:"e2e_ms"`
	// OutputTokensPerS is this request's decode rate as a user sees it:
	// output_tokens / e2e.
	OutputTokensPerS *float64 `json:"output_tokens_per_s"`

	PromptTokens int `json:"prompt_tokens"`
	// RequestedPromptTokens is the length the prompt was shaped to
	// (--input-tokens), 0 when it was not; PromptMismatch says the
	// engine's own count (prompt_tokens) is more than 1% away from it.
	RequestedPromptTokens int  `json:"requested_prompt_tokens,omitempty"`
	PromptMismatch        bool `json:"prompt_mismatch,omitempty"`
	// SharedPrefixTokens is how many leading tokens of the prompt were one
	// of the shared prefixes (--shared-prefix-tokens), PrefixGroup which.
	// Conversation and Turn place a multi-turn request: the closed-loop
	// conversation (numbered per engine × scenario from 1) and its turn
	// (from 1); its prompt_tokens is the whole history's.
	Conversation int64 `json:"conversation,omitempty"`
	Turn         int   `json:"turn,omitempty"`

	SharedPrefixTokens int  `json:"shared_prefix_tokens,omitempty"`
	PrefixGroup        *int `json:"prefix_group,omitempty"`
	// CachedTokens is how much of the prompt the engine served from its
	// prefix cache, when it says: usage.prompt_tokens_details
	// (CachedFromUsage), or Ollama evaluating fewer tokens than a shaped
	// prompt had (CachedFromShortfall). Nil when the engine does not say.
	CachedTokens          *int   `json:"cached_tokens,omitempty"`
	CachedTokensSource    string `json:"cached_tokens_source,omitempty"`
	OutputTokens          int    `json:"output_tokens"`
	OutputTokensSource    string `json:"output_tokens_source"`
	RequestedOutputTokens int    `json:"requested_output_tokens"`
	OutputMismatch        bool   `json:"output_mismatch"`
	Chunks                int    `json:"chunks"`
	ReasoningChunks       int    `json:"reasoning_chunks,omitempty"`
	FinishReason          string `json:"finish_reason"`
	ResponseBytes         int64  `json:"response_bytes"`

	// Server-side timings, from Ollama's final object.
	ServerTotalMS      *float64 `json:"server_total_ms,omitempty"`
	ServerLoadMS       *float64 `json:"server_load_ms,omitempty"`
	ServerPromptEvalMS *float64 `json:"server_prompt_eval_ms,omitempty"`
	ServerEvalMS       *float64 `json:"server_eval_ms,omitempty"`
	// Reconciliation of client and server views (reconcile.go).
	ColdStart              bool     `json:"cold_start,omitempty"`
	ServerTTFTMS           *float64 `json:"server_ttft_ms,omitempty"`
	TTFTResidualMS         *float64 `json:"ttft_residual_ms,omitempty"`
	ServerWaitMS           *float64 `json:"server_wait_ms,omitempty"`
	ServerDecodeTokensPerS *float64 `json:"server_decode_tokens_per_s,omitempty"`
	ClientDecodeTokensPerS *float64 `json:"client_decode_tokens_per_s,omitempty"`

	OK         bool   `json:"ok"`
	HTTPStatus int    `json:"http_status"`
	ErrorClass string `json:"error_class"`
	Error      string `json:"error"`
}

func msPtr(d time.Duration) *float64 {
	v := float64(d) / float64(time.Millisecond)
	return &v
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Sent is a measured request that reached the engine: not warm-up, not
// dropped by the client's concurrency cap, not cancelled by the user.
// Error rates and every comparison count exactly these.
func (r *Record) Sent() bool {
	return r.Phase == PhaseMeasure && r.ErrorClass != ErrDropped && r.ErrorClass != ErrCanceled
}
