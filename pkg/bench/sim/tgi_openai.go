package sim

import (
	"net/http"
	"time"
)

// appendOpenAIUsage writes usage in the order TGI and Ollama use: prompt,
// completion, total (vLLM's differs, see appendVLLMUsage).
func appendOpenAIUsage(b []byte, prompt, completion int) []byte {
	b = append(b, `{"prompt_tokens":`...)
	b = appendInt(b, int64(prompt))
	b = append(b, `,"completion_tokens":`...)
	b = appendInt(b, int64(completion))
	b = append(b, `,"total_tokens":`...)
	b = appendInt(b, int64(prompt+completion))
	return append(b, '}')
}

func tgiChatFinish(o outcome) string {
	if o.eos {
		return "stop" // FinishReason::EndOfSequenceToken.format(true)
	}
	return "length"
}

func (e *backend) tgiChat(w http.ResponseWriter, r *http.Request)        { e.tgiOpenAI(w, r, true) }
func (e *backend) tgiCompletions(w http.ResponseWriter, r *http.Request) { e.tgiOpenAI(w, r, false) }

// tgiOpenAI serves TGI's Messages and completions APIs. Their streams share
// the envelope rules of router/src/chat.rs and server.rs: id "", object
// first, usage null on chat chunks; errors, validation included, arrive in
// the stream as {"error":{"message","http_status_code":422}} then [DONE]
// (transcripts/tgi-chat-stream*.sse, tgi-completions-stream.sse).
func (e *backend) tgiOpenAI(w http.ResponseWriter, r *http.Request, chat bool) {
	arrived := time.Now()
	var req openAIRequest
	if err := decodeBody(w, r, &req); err != nil {
		tgiError(w, http.StatusUnprocessableEntity, "Failed to deserialize the JSON body into the target type: "+err.Error(), "validation")
		return
	}
	params := tgiParameters{TopP: req.TopP, MaxNewTokens: req.MaxTokens}
	var prompt int
	if chat {
		prompt = req.chatPromptTokens()
		params.MaxNewTokens = req.chatMaxTokens()
	} else {
		n, err := completionPromptTokens(req.Prompt)
		if err != nil {
			tgiError(w, http.StatusUnprocessableEntity, "Input validation error: "+err.Error(), "validation")
			return
		}
		prompt = n
	}
	// temperature 0 means greedy decoding, which TGI expresses by dropping
	// the temperature (lib.rs try_into_generate).
	if req.Temperature != nil && *req.Temperature != 0 {
		params.Temperature = req.Temperature
	}
	if req.Seed != nil && *req.Seed >= 0 {
		seed := uint64(*req.Seed)
		params.Seed = &seed
	}
	model := e.prof.Model
	if req.Model != "" && req.Model != "tgi" {
		model = req.Model
	}
	created := arrived.Unix()

	if !req.Stream {
		if !e.enter(e.prof.MaxConcurrentRequests) {
			tgiError(w, http.StatusTooManyRequests, tgiOverloaded, "overloaded")
			return
		}
		defer e.leave()
		maxNew, msg := tgiValidate(&params, 1, prompt, false)
		if msg != "" {
			tgiError(w, http.StatusUnprocessableEntity, msg, "validation")
			return
		}
		j := e.newJob(arrived)
		j.promptTokens, j.maxTokens, j.eosIsToken = prompt, maxNew, true
		if chat {
			j.cachedTokens = e.cache.serve(req.chatContents())
		}
		o := e.plan(j)
		text, _, _, err := e.collectText(r, j, o)
		if err != nil {
			return
		}
		writeJSON(w, http.StatusOK, tgiJSON, tgiOpenAIBody(chat, model, created, string(text), o, prompt))
		return
	}

	tgiStreamHeaders(w)
	s := newSender(w, tgiSSE)
	defer s.free()
	if s.start() != nil {
		return
	}
	streamError := func(msg string) {
		s.buf = append(s.buf, `data: {"error":{"message":`...)
		s.buf = appendString(s.buf, msg, false)
		s.buf = append(s.buf, ",\"http_status_code\":422}}\n\n"+sseDone...)
		_ = s.send()
	}
	if !e.enter(e.prof.MaxConcurrentRequests) {
		streamError(tgiOverloaded)
		return
	}
	defer e.leave()
	maxNew, msg := tgiValidate(&params, 1, prompt, true)
	if msg != "" {
		streamError(msg)
		return
	}
	j := e.newJob(arrived)
	j.promptTokens, j.maxTokens, j.eosIsToken = prompt, maxNew, true
	if chat {
		j.cachedTokens = e.cache.serve(req.chatContents())
	}
	o := e.plan(j)

	// envelope runs from the object key to the opening of choices (chat) or
	// through system_fingerprint (the completions final chunk).
	var head []byte
	if chat {
		head = tgiEnvelope(nil, "chat.completion.chunk", model, created)
		head = append(head, `,"choices":[`...)
	}
	withUsage := req.StreamOptions != nil && req.StreamOptions.IncludeUsage != nil && *req.StreamOptions.IncludeUsage
	var emit emitFunc
	if chat {
		finish := tgiChatFinish(o)
		emit = func(_ int, tok *word, last bool) error {
			b := append(s.buf, head...)
			b = append(b, `{"index":0,"delta":{"role":"assistant","content":`...)
			if tok.special {
				b = append(b, `""`...)
			} else {
				b = appendQuotedWord(b, tok)
			}
			b = append(b, `},"logprobs":null,"finish_reason":`...)
			if last {
				b = append(b, '"')
				b = append(b, finish...)
				b = append(b, '"')
			} else {
				b = append(b, "null"...)
			}
			s.buf = append(b, "}],\"usage\":null}\n\n"...)
			return s.send()
		}
	} else {
		emit = e.tgiCompletionEmit(s, model, created, o, prompt)
	}
	if _, err := e.run(r.Context(), j, o, emit); err != nil {
		return
	}
	if chat && withUsage {
		s.buf = append(s.buf, head...)
		s.buf = append(s.buf, `],"usage":`...)
		s.buf = appendOpenAIUsage(s.buf, prompt, o.tokens)
		s.buf = append(s.buf, "}\n\n"...)
	}
	s.buf = append(s.buf, sseDone...)
	_ = s.send()
}

// tgiEnvelope writes `data: {"object":…,"id":"","created":…,"model":…,
// "system_fingerprint":…` without the closing brace.
func tgiEnvelope(b []byte, object, model string, created int64) []byte {
	b = append(b, `data: {"object":"`...)
	b = append(b, object...)
	b = append(b, `","id":"","created":`...)
	b = appendInt(b, created)
	b = append(b, `,"model":`...)
	b = appendString(b, model, false)
	return append(b, `,"system_fingerprint":"`+tgiFingerprint+`"`...)
}

// tgiCompletionEmit builds completions chunks. Intermediate chunks put
// choices before model (the Chunk struct); the final one is a
// CompletionFinal with choices after system_fingerprint and usage.
func (e *backend) tgiCompletionEmit(s *sender, model string, created int64, o outcome, prompt int) emitFunc {
	pre := append([]byte(nil), `data: {"object":"text_completion","id":"","created":`...)
	pre = appendInt(pre, created)
	pre = append(pre, `,"choices":[{"index":0,"text":`...)
	post := append([]byte(nil), `,"logprobs":null,"finish_reason":""}],"model":`...)
	post = appendString(post, model, false)
	post = append(post, ",\"system_fingerprint\":\""+tgiFingerprint+"\"}\n\n"...)
	final := tgiEnvelope(nil, "text_completion", model, created)
	final = append(final, `,"choices":[{"index":0,"text":`...)
	finish := tgiFinish(o)
	return func(_ int, tok *word, last bool) error {
		b := s.buf
		if last {
			b = append(b, final...)
		} else {
			b = append(b, pre...)
		}
		if tok.special {
			b = append(b, `""`...)
		} else {
			b = appendQuotedWord(b, tok)
		}
		if !last {
			s.buf = append(b, post...)
			return s.send()
		}
		b = append(b, `,"logprobs":null,"finish_reason":"`...)
		b = append(b, finish...)
		b = append(b, `"}],"usage":`...)
		b = appendOpenAIUsage(b, prompt, o.tokens)
		s.buf = append(b, "}\n\n"...)
		return s.send()
	}
}

// tgiOpenAIBody is the non-streamed chat.completion or text_completion
// (transcripts/tgi-chat-completion.json).
func tgiOpenAIBody(chat bool, model string, created int64, text string, o outcome, prompt int) []byte {
	object, finish := "text_completion", tgiFinish(o)
	if chat {
		object, finish = "chat.completion", tgiChatFinish(o)
	}
	b := tgiEnvelope(nil, object, model, created)
	b = b[len("data: "):]
	if chat {
		b = append(b, `,"choices":[{"index":0,"message":{"role":"assistant","content":`...)
		b = appendString(b, text, false)
		b = append(b, '}')
	} else {
		b = append(b, `,"choices":[{"index":0,"text":`...)
		b = appendString(b, text, false)
	}
	b = append(b, `,"logprobs":null,"finish_reason":"`...)
	b = append(b, finish...)
	b = append(b, `"}],"usage":`...)
	b = appendOpenAIUsage(b, prompt, o.tokens)
	return append(b, '}')
}
