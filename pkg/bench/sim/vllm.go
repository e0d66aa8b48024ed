package sim

import (
	"fmt"
	"net/http"
	"time"
)

const (
	vllmVersion    = "0.11.0"
	vllmMaxLen     = 8192
	vllmSSE        = "text/event-stream; charset=utf-8"
	vllmJSON       = "application/json"
	vllmChatObject = "chat.completion.chunk"
	// vLLM's real default is "whatever fits in max_model_len", which would
	// make every unbounded request generate thousands of tokens.
	vllmDefaultChatMaxTokens = 256
	// CompletionRequest.max_tokens defaults to 16 in vLLM's protocol.py.
	vllmDefaultCompletionMaxTokens = 16
)

func (e *backend) vllmHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", e.vllmChat)
	mux.HandleFunc("POST /v1/completions", e.vllmCompletions)
	mux.HandleFunc("GET /v1/models", e.vllmModels)
	mux.HandleFunc("POST /tokenize", e.vllmTokenize)
	mux.HandleFunc("GET /health", emptyOK)
	mux.HandleFunc("GET /metrics", e.vllmMetrics)
	mux.HandleFunc("GET /version", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, vllmJSON, []byte(`{"version":"`+vllmVersion+`"}`))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusNotFound, vllmJSON, []byte(`{"detail":"Not Found"}`))
	})
	return mux
}

func emptyOK(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }

// vllmError writes the ≥ v0.10.1 envelope (transcripts/vllm-error-404-model.json).
func vllmError(w http.ResponseWriter, status int, msg string) {
	typ := "BadRequestError"
	if status == http.StatusNotFound {
		typ = "NotFoundError"
	}
	b := append([]byte(nil), `{"error":{"message":`...)
	b = appendString(b, msg, false)
	b = append(b, `,"type":"`...)
	b = append(b, typ...)
	b = append(b, `","param":null,"code":`...)
	b = appendInt(b, int64(status))
	b = append(b, "}}"...)
	writeJSON(w, status, vllmJSON, b)
}

// vllmParse applies the checks both OpenAI endpoints share and builds the job.
// It writes the error response and returns nil when the request is refused.
func (e *backend) vllmParse(w http.ResponseWriter, r *http.Request, chat bool) (*openAIRequest, *job) {
	arrived := time.Now()
	var req openAIRequest
	if err := decodeBody(w, r, &req); err != nil {
		vllmError(w, http.StatusBadRequest, "invalid request body: "+err.Error())
		return nil, nil
	}
	if req.Model != "" && req.Model != e.prof.Model {
		vllmError(w, http.StatusNotFound, "The model `"+req.Model+"` does not exist.")
		return nil, nil
	}
	var prompt int
	requested, def := req.MaxTokens, vllmDefaultCompletionMaxTokens
	if chat {
		if len(req.Messages) == 0 {
			vllmError(w, http.StatusBadRequest, "messages: a non-empty list of messages is required")
			return nil, nil
		}
		prompt = req.chatPromptTokens()
		requested, def = req.chatMaxTokens(), vllmDefaultChatMaxTokens
	} else {
		n, err := completionPromptTokens(req.Prompt)
		if err != nil {
			vllmError(w, http.StatusBadRequest, err.Error())
			return nil, nil
		}
		prompt = n
	}
	if req.StreamOptions != nil && !req.Stream {
		vllmError(w, http.StatusBadRequest, "Stream options can only be defined when `stream=True`.")
		return nil, nil
	}
	if req.Temperature != nil && *req.Temperature < 0 {
		vllmError(w, http.StatusBadRequest, fmt.Sprintf("temperature must be non-negative, got %g.", *req.Temperature))
		return nil, nil
	}
	maxTokens := min(def, vllmMaxLen-prompt)
	if requested != nil {
		maxTokens = *requested
		if maxTokens < 1 {
			vllmError(w, http.StatusBadRequest, fmt.Sprintf("max_tokens must be at least 1, got %d.", maxTokens))
			return nil, nil
		}
	}
	if prompt >= vllmMaxLen || prompt+maxTokens > vllmMaxLen {
		vllmError(w, http.StatusBadRequest, fmt.Sprintf("This model's maximum context length is %d tokens. However, you requested %d tokens (%d in the messages, %d in the completion). Please reduce the length of the messages or completion.",
			vllmMaxLen, prompt+max(maxTokens, 0), prompt, max(maxTokens, 0)))
		return nil, nil
	}
	if req.MinTokens < 0 || req.MinTokens > maxTokens {
		vllmError(w, http.StatusBadRequest, fmt.Sprintf("min_tokens must be between 0 and max_tokens=%d, got %d.", maxTokens, req.MinTokens))
		return nil, nil
	}
	j := e.newJob(arrived)
	j.promptTokens = prompt
	if chat {
		j.cachedTokens = e.cache.serve(req.chatContents())
	}
	j.maxTokens = maxTokens
	j.forceLength = req.IgnoreEOS
	j.minTokens = req.MinTokens
	j.eosIsToken = true
	return &req, j
}

// vllmUsageFlags reads stream_options: include_usage defaults to true once
// stream_options is present (protocol.py StreamOptions), and continuous
// usage needs include_usage.
func vllmUsageFlags(so *streamOptions) (final, continuous bool) {
	if so == nil {
		return false, false
	}
	final = so.IncludeUsage == nil || *so.IncludeUsage
	return final, final && so.ContinuousUsageStats
}

// appendVLLMUsage writes usage in UsageInfo field order: prompt, total,
// completion.
func appendVLLMUsage(b []byte, prompt, completion int) []byte {
	b = append(b, `{"prompt_tokens":`...)
	b = appendInt(b, int64(prompt))
	b = append(b, `,"total_tokens":`...)
	b = appendInt(b, int64(prompt+completion))
	b = append(b, `,"completion_tokens":`...)
	b = appendInt(b, int64(completion))
	return append(b, '}')
}

// appendCachedDetails writes usage's prompt_tokens_details, as vLLM does
// with --enable-prompt-tokens-details when part of the prompt was cached.
func appendCachedDetails(b []byte, cached int) []byte {
	b = append(b, `,"prompt_tokens_details":{"cached_tokens":`...)
	b = appendInt(b, int64(cached))
	return append(b, '}')
}

func vllmFinish(o outcome) string {
	if o.eos {
		return "stop"
	}
	return "length"
}

// vllmHead is the envelope every chunk of one stream starts with, up to the
// opening of choices.
func (e *backend) vllmHead(id, object string, created int64) []byte {
	b := append([]byte(nil), `data: {"id":"`...)
	b = append(b, id...)
	b = append(b, `","object":"`...)
	b = append(b, object...)
	b = append(b, `","created":`...)
	b = appendInt(b, created)
	b = append(b, `,"model":`...)
	b = appendString(b, e.prof.Model, false)
	return append(b, `,"choices":[`...)
}

// vllmChat serves /v1/chat/completions in the v0.10.2+ shape of
// transcripts/vllm-chat-stream.sse: a role chunk with empty content when the
// first token is ready, one chunk per token with token_ids, finish_reason and
// stop_reason on the last, then the usage chunk and [DONE].
func (e *backend) vllmChat(w http.ResponseWriter, r *http.Request) {
	req, j := e.vllmParse(w, r, true)
	if j == nil {
		return
	}
	o := e.plan(j)
	id := "chatcmpl-" + randomHex(j.rng, 32)
	created := j.arrived.Unix()
	if !req.Stream {
		e.vllmChatFull(w, r, j, o, id, created)
		return
	}
	withUsage, continuous := vllmUsageFlags(req.StreamOptions)
	s := newSender(w, vllmSSE)
	defer s.free()
	if s.start() != nil {
		return
	}
	head := e.vllmHead(id, vllmChatObject, created)
	finish := vllmFinish(o)
	prompt := j.promptTokens
	emit := func(i int, tok *word, last bool) error {
		b := s.buf
		if i == 0 {
			b = append(b, head...)
			b = append(b, `{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]`...)
			if continuous {
				b = append(b, `,"usage":`...)
				b = appendVLLMUsage(b, prompt, 0)
			}
			b = append(b, ",\"prompt_token_ids\":null}\n\n"...)
		}
		b = append(b, head...)
		b = append(b, `{"index":0,"delta":{"content":`...)
		if tok.special {
			b = append(b, `""`...)
		} else {
			b = appendQuotedWord(b, tok)
		}
		if last {
			b = append(b, `},"logprobs":null,"finish_reason":"`...)
			b = append(b, finish...)
			b = append(b, `","stop_reason":null,"token_ids":null}]`...)
		} else {
			b = append(b, `},"logprobs":null,"finish_reason":null,"token_ids":null}]`...)
		}
		if continuous {
			b = append(b, `,"usage":`...)
			b = appendVLLMUsage(b, prompt, i+1)
		}
		s.buf = append(b, "}\n\n"...)
		return s.send()
	}
	if _, err := e.run(r.Context(), j, o, emit); err != nil {
		return
	}
	e.vllmStreamEnd(s, head, withUsage, prompt, j.cachedTokens, o.tokens)
}

func (e *backend) vllmStreamEnd(s *sender, head []byte, withUsage bool, prompt, cached, completion int) {
	if withUsage {
		s.buf = append(s.buf, head...)
		s.buf = append(s.buf, `],"usage":`...)
		s.buf = appendVLLMUsage(s.buf, prompt, completion)
		if cached > 0 && e.prof.PromptTokensDetails {
			s.buf = appendCachedDetails(s.buf[:len(s.buf)-1], cached)
			s.buf = append(s.buf, '}')
		}
		s.buf = append(s.buf, "}\n\n"...)
	}
	s.buf = append(s.buf, sseDone...)
	_ = s.send()
}

// collectText runs a non-streamed generation and returns its visible text.
func (e *backend) collectText(r *http.Request, j *job, o outcome) ([]byte, timing, []*word, error) {
	var text []byte
	var toks []*word
	tm, err := e.run(r.Context(), j, o, func(_ int, tok *word, _ bool) error {
		toks = append(toks, tok)
		if !tok.special {
			text = append(text, tok.text...)
		}
		return nil
	})
	return text, tm, toks, err
}

func (e *backend) vllmChatFull(w http.ResponseWriter, r *http.Request, j *job, o outcome, id string, created int64) {
	text, _, _, err := e.collectText(r, j, o)
	if err != nil {
		return
	}
	b := append([]byte(nil), `{"id":"`...)
	b = append(b, id...)
	b = append(b, `","object":"chat.completion","created":`...)
	b = appendInt(b, created)
	b = append(b, `,"model":`...)
	b = appendString(b, e.prof.Model, false)
	b = append(b, `,"choices":[{"index":0,"message":{"role":"assistant","content":`...)
	b = appendString(b, string(text), false)
	b = append(b, `,"refusal":null,"annotations":null,"audio":null,"function_call":null,"tool_calls":[],"reasoning_content":null},"logprobs":null,"finish_reason":"`...)
	b = append(b, vllmFinish(o)...)
	b = append(b, `","stop_reason":null}],"service_tier":null,"system_fingerprint":null,"usage":`...)
	b = appendVLLMUsage(b, j.promptTokens, o.tokens)
	if j.cachedTokens > 0 && e.prof.PromptTokensDetails {
		b = appendCachedDetails(b[:len(b)-1], j.cachedTokens)
		b = append(b, `},"prompt_logprobs":null,"kv_transfer_params":null}`...)
	} else {
		b = append(b[:len(b)-1], `,"prompt_tokens_details":null},"prompt_logprobs":null,"kv_transfer_params":null}`...)
	}
	writeJSON(w, http.StatusOK, vllmJSON, b)
}

// vllmCompletions serves /v1/completions, whose chunks carry every field
// (exclude_unset=False; transcripts/vllm-completions-stream.sse).
func (e *backend) vllmCompletions(w http.ResponseWriter, r *http.Request) {
	req, j := e.vllmParse(w, r, false)
	if j == nil {
		return
	}
	o := e.plan(j)
	id := "cmpl-" + randomHex(j.rng, 32)
	created := j.arrived.Unix()
	if !req.Stream {
		e.vllmCompletionFull(w, r, j, o, id, created)
		return
	}
	withUsage, continuous := vllmUsageFlags(req.StreamOptions)
	s := newSender(w, vllmSSE)
	defer s.free()
	if s.start() != nil {
		return
	}
	head := e.vllmHead(id, "text_completion", created)
	finish := vllmFinish(o)
	prompt := j.promptTokens
	emit := func(i int, tok *word, last bool) error {
		b := append(s.buf, head...)
		b = append(b, `{"index":0,"text":`...)
		if tok.special {
			b = append(b, `""`...)
		} else {
			b = appendQuotedWord(b, tok)
		}
		b = append(b, `,"logprobs":null,"finish_reason":`...)
		if last {
			b = append(b, '"')
			b = append(b, finish...)
			b = append(b, '"')
		} else {
			b = append(b, "null"...)
		}
		b = append(b, `,"stop_reason":null,"prompt_token_ids":null,"token_ids":null}],"usage":`...)
		if continuous {
			b = appendVLLMUsage(b, prompt, i+1)
		} else {
			b = append(b, "null"...)
		}
		s.buf = append(b, "}\n\n"...)
		return s.send()
	}
	if _, err := e.run(r.Context(), j, o, emit); err != nil {
		return
	}
	e.vllmStreamEnd(s, head, withUsage, prompt, j.cachedTokens, o.tokens)
}

func (e *backend) vllmCompletionFull(w http.ResponseWriter, r *http.Request, j *job, o outcome, id string, created int64) {
	text, _, _, err := e.collectText(r, j, o)
	if err != nil {
		return
	}
	b := append([]byte(nil), `{"id":"`...)
	b = append(b, id...)
	b = append(b, `","object":"text_completion","created":`...)
	b = appendInt(b, created)
	b = append(b, `,"model":`...)
	b = appendString(b, e.prof.Model, false)
	b = append(b, `,"choices":[{"index":0,"text":`...)
	b = appendString(b, string(text), false)
	b = append(b, `,"logprobs":null,"finish_reason":"`...)
	b = append(b, vllmFinish(o)...)
	b = append(b, `","stop_reason":null,"prompt_logprobs":null}],"service_tier":null,"system_fingerprint":null,"usage":`...)
	b = appendVLLMUsage(b, j.promptTokens, o.tokens)
	b = append(b[:len(b)-1], `,"prompt_tokens_details":null},"kv_transfer_params":null}`...)
	writeJSON(w, http.StatusOK, vllmJSON, b)
}

// vllmModels mirrors transcripts/vllm-models.json.
func (e *backend) vllmModels(w http.ResponseWriter, _ *http.Request) {
	created := time.Now().Unix()
	b := append([]byte(nil), `{"object":"list","data":[{"id":`...)
	b = appendString(b, e.prof.Model, false)
	b = append(b, `,"object":"model","created":`...)
	b = appendInt(b, created)
	b = append(b, `,"owned_by":"vllm","root":`...)
	b = appendString(b, e.prof.Model, false)
	b = append(b, `,"parent":null,"max_model_len":`...)
	b = appendInt(b, vllmMaxLen)
	b = append(b, `,"permission":[{"id":"modelperm-`...)
	b = append(b, randomHex(newRequestRNG(e.seed, 0), 32)...)
	b = append(b, `","object":"model_permission","created":`...)
	b = appendInt(b, created)
	b = append(b, `,"allow_create_engine":false,"allow_sampling":true,"allow_logprobs":true,"allow_search_indices":false,"allow_view":true,"allow_fine_tuning":false,"organization":"*","group":null,"is_blocking":false}]}]}`...)
	writeJSON(w, http.StatusOK, vllmJSON, b)
}
