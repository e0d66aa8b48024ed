package engine

// Event is what one framed payload of a stream (an SSE data field or an
// NDJSON line) says. One payload can carry several facts at once: TGI's last
// /v1/completions event has text, a finish reason and usage together.
//
// Byte slices point into the parser's memory and are valid only until the
// next Parse call; the timer copies what it keeps.
type Event struct {
	// Text is generated content; Reasoning is generated reasoning
	// (reasoning_content / reasoning / Ollama thinking). Either being
	// non-empty makes this a token-bearing event for TTFT.
	Text      []byte
	Reasoning []byte
	// Role is set when the payload carried a role (vLLM's role-only first
	// chunk, every TGI and legacy-Ollama delta). It never counts as a token.
	Role bool
	// Tokens is how many output tokens the protocol says this event carries
	// (TGI /generate_stream: one token per event), 0 when it does not say.
	Tokens int
	// FinishReason as the server wrote it ("length", "stop", "eos_token", …).
	FinishReason []byte

	HasUsage     bool
	PromptTokens int
	OutputTokens int
	// HasCached says usage had prompt_tokens_details (vLLM with
	// --enable-prompt-tokens-details, OpenAI): CachedTokens of the prompt
	// were served from the prefix cache, 0 a miss.
	HasCached    bool
	CachedTokens int

	// Done marks the payload that ends the stream ([DONE], Ollama done:true,
	// TGI's event with generated_text). Bytes after it are ignored.
	Done bool
	// Err is an error the server reported inside the stream (HTTP 200).
	Err *ServerError
	// Ollama holds Ollama's server-side timings from its final object.
	Ollama *OllamaTimings
	// Special marks a TGI special token (EOS), whose text is not output.
	Special bool
}

func (e *Event) reset() {
	*e = Event{Text: e.Text[:0], Reasoning: e.Reasoning[:0], FinishReason: e.FinishReason[:0]}
}

// OllamaTimings are the server-side durations of Ollama's final object, in
// nanoseconds as sent; absent fields are zero (Ollama omits zero values).
type OllamaTimings struct {
	TotalNS         int64  `json:"total_duration_ns"`
	LoadNS          int64  `json:"load_duration_ns"`
	PromptEvalCount int    `json:"prompt_eval_count"`
	PromptEvalNS    int64  `json:"prompt_eval_duration_ns"`
	EvalCount       int    `json:"eval_count"`
	EvalNS          int64  `json:"eval_duration_ns"`
	DoneReason      string `json:"done_reason,omitempty"`
}

// ServerError is an error an engine reported, in a body or inside a stream.
type ServerError struct {
	Message string
	Type    string
	// Code is the status the server put in the body (vLLM code, TGI
	// http_status_code); 0 when absent.
	Code int
}

func (e *ServerError) Error() string {
	if e.Type != "" {
		return e.Type + ": " + e.Message
	}
	return e.Message
}
