package sim

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// ollamaOpenAIError writes the OpenAI-compatible envelope of Ollama's
// middleware (transcripts/ollama-openai-error-404.json): json.Encoder's
// trailing newline, Content-Type without charset. v0.11.4 types every
// error api_error (real-ollama-0.11.4-openai-error-404.json).
func ollamaOpenAIError(w http.ResponseWriter, d ollamaDialect, status int, msg string) {
	typ := "api_error"
	switch {
	case d.v011Errors:
	case status == http.StatusBadRequest:
		typ = "invalid_request_error"
	case status == http.StatusNotFound:
		typ = "not_found_error"
	}
	b := append([]byte(nil), `{"error":{"message":`...)
	b = appendString(b, msg, true)
	b = append(b, `,"type":"`...)
	b = append(b, typ...)
	b = append(b, `","param":null,"code":null}}`+"\n"...)
	writeJSON(w, status, ollamaOpenAIJSON, b)
}

func ollamaFinish(o outcome) string {
	if o.eos {
		return "stop"
	}
	return "length"
}

// ollamaOpenAI serves Ollama's /v1/chat/completions and /v1/completions in
// the ≥ v0.32.6 form (transcripts/ollama-openai-chat-stream.sse): role only
// in the first delta, a separate finish chunk with an empty delta, the
// usage chunk when asked for, then [DONE]. Streaming is off unless asked.
func (e *backend) ollamaOpenAI(w http.ResponseWriter, r *http.Request, chat bool) {
	arrived := time.Now()
	d := e.dialect
	var req openAIRequest
	if err := decodeBody(w, r, &req); err != nil {
		ollamaOpenAIError(w, d, http.StatusBadRequest, err.Error())
		return
	}
	if req.Model == "" {
		ollamaOpenAIError(w, d, http.StatusBadRequest, "model is required")
		return
	}
	model := e.ollamaModel(req.Model)
	if model == nil {
		ollamaOpenAIError(w, d, http.StatusNotFound, d.notFound(req.Model, chat))
		return
	}
	var prompt int
	if chat {
		if len(req.Messages) == 0 {
			ollamaOpenAIError(w, d, http.StatusBadRequest, "invalid message format: messages is required")
			return
		}
		prompt = req.chatPromptTokens()
		if model.bytePrompt {
			prompt = bytePromptTokens(req.Messages, func(m chatMessage) (string, int) { return m.Role, len(messageContentText(m.Content)) })
		}
	} else {
		var text string
		if err := json.Unmarshal(req.Prompt, &text); err != nil {
			ollamaOpenAIError(w, d, http.StatusBadRequest, "prompt must be a string")
			return
		}
		prompt = max(1, textTokens(text)) + 2*chatTemplateTokens
		if model.bytePrompt {
			prompt = len(text) + 2
		}
	}
	if !e.enter(e.prof.MaxBatch + e.prof.MaxQueue) {
		ollamaOpenAIError(w, d, http.StatusServiceUnavailable, ollamaBusy)
		return
	}
	defer e.leave()

	j := e.newJob(arrived)
	j.model = model
	j.promptTokens = prompt
	if chat {
		j.cachedTokens = e.cache.serve(req.chatContents())
	}
	// Only max_tokens maps to num_predict; Ollama ignores
	// max_completion_tokens (wire-formats.md §3.6).
	ollamaLength(j, req.MaxTokens)
	o := e.plan(j)
	id := "chatcmpl-"
	if !chat {
		id = "cmpl-"
	}
	id += strconv.Itoa(j.rng.IntN(999))

	if !req.Stream {
		text, _, _, err := e.collectText(r, j, o)
		if err != nil {
			return
		}
		writeJSON(w, http.StatusOK, ollamaOpenAIJSON, ollamaOpenAIBody(chat, id, req.Model, arrived.Unix(), string(text), o, prompt))
		return
	}

	withUsage := req.StreamOptions != nil && req.StreamOptions.IncludeUsage != nil && *req.StreamOptions.IncludeUsage
	s := newSender(w, "text/event-stream")
	defer s.free()
	var env ollamaEnvelope
	emit := func(i int, tok *word, _ bool) error {
		if i == 0 || d.legacyOpenAIChunks {
			// created is pinned to the first response, except before
			// v0.32.6, where each chunk has its own.
			env = newOllamaEnvelope(chat, id, req.Model, time.Now().Unix(), withUsage)
		}
		b := append(s.buf, env.pre...)
		switch {
		case !chat:
			b = append(b, `{"text":`...)
			b = appendQuotedWord(b, tok)
			b = append(b, `,"index":0,"finish_reason":null}]`...)
		case i == 0 || d.legacyOpenAIChunks:
			b = append(b, `{"index":0,"delta":{"role":"assistant","content":`...)
			b = appendQuotedWord(b, tok)
			b = append(b, `},"finish_reason":null}]`...)
		default:
			b = append(b, `{"index":0,"delta":{"content":`...)
			b = appendQuotedWord(b, tok)
			b = append(b, `},"finish_reason":null}]`...)
		}
		s.buf = append(b, env.post...)
		return s.send()
	}
	if _, err := e.run(r.Context(), j, o, emit); err != nil {
		return
	}
	if d.legacyOpenAIChunks || o.tokens == 0 {
		env = newOllamaEnvelope(chat, id, req.Model, time.Now().Unix(), withUsage)
	}
	b := append(s.buf, env.pre...)
	switch {
	case chat && d.legacyOpenAIChunks:
		b = append(b, `{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":"`...)
	case chat:
		b = append(b, `{"index":0,"delta":{},"finish_reason":"`...)
	default:
		b = append(b, `{"text":"","index":0,"finish_reason":"`...)
	}
	b = append(b, ollamaFinish(o)...)
	b = append(b, `"}]`...)
	b = append(b, env.post...)
	if withUsage {
		b = append(b, env.pre...)
		b = append(b, ']')
		if chat {
			b = append(b, `,"usage":`...)
			b = appendOpenAIUsage(b, prompt, ollamaEvalCount(o))
			b = append(b, "}\n\n"...)
		} else {
			b = append(b, env.model...)
			b = append(b, `,"usage":`...)
			b = appendOpenAIUsage(b, prompt, ollamaEvalCount(o))
			b = append(b, "}\n\n"...)
		}
	}
	s.buf = append(b, sseDone...)
	_ = s.send()
}

// ollamaEnvelope is the per-stream part of every chunk around choices:
// pre runs up to the opening of choices, post closes the chunk. Chat puts
// model before choices; completions put it after (middleware CompleteWriter).
type ollamaEnvelope struct {
	pre, post, model []byte
}

func newOllamaEnvelope(chat bool, id, model string, created int64, withUsage bool) ollamaEnvelope {
	var env ollamaEnvelope
	pre := append([]byte(nil), `data: {"id":"`...)
	pre = append(pre, id...)
	if chat {
		pre = append(pre, `","object":"chat.completion.chunk","created":`...)
	} else {
		pre = append(pre, `","object":"text_completion","created":`...)
	}
	pre = appendInt(pre, created)
	m := append([]byte(nil), `,"model":`...)
	m = appendString(m, model, true)
	m = append(m, `,"system_fingerprint":"fp_ollama"`...)
	env.model = m
	if chat {
		pre = append(pre, m...)
		env.post = []byte("}\n\n")
	} else {
		post := append([]byte(nil), m...)
		if withUsage {
			// With include_usage every completions chunk carries zero usage.
			post = append(post, `,"usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}`...)
		}
		env.post = append(post, "}\n\n"...)
	}
	env.pre = append(pre, `,"choices":[`...)
	return env
}

// ollamaOpenAIBody is a non-streamed chat.completion or text_completion
// (transcripts/real-ollama-0.24.0-openai-chat.json), newline included.
func ollamaOpenAIBody(chat bool, id, model string, created int64, text string, o outcome, prompt int) []byte {
	b := append([]byte(nil), `{"id":"`...)
	b = append(b, id...)
	if chat {
		b = append(b, `","object":"chat.completion","created":`...)
	} else {
		b = append(b, `","object":"text_completion","created":`...)
	}
	b = appendInt(b, created)
	b = append(b, `,"model":`...)
	b = appendString(b, model, true)
	b = append(b, `,"system_fingerprint":"fp_ollama","choices":[{`...)
	if chat {
		b = append(b, `"index":0,"message":{"role":"assistant","content":`...)
		b = appendString(b, text, true)
		b = append(b, `},"finish_reason":"`...)
	} else {
		b = append(b, `"text":`...)
		b = appendString(b, text, true)
		b = append(b, `,"index":0,"finish_reason":"`...)
	}
	b = append(b, ollamaFinish(o)...)
	b = append(b, `"}],"usage":`...)
	b = appendOpenAIUsage(b, prompt, ollamaEvalCount(o))
	return append(b, "}\n"...)
}
