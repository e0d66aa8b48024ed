package sim

import (
	"net/http"
	"strings"
	"time"
)

// Values from transcripts/ollama-tags.json, ollama-ps.json and
// ollama-version.json (llama3.2 3B Q4_K_M on Ollama 0.32.15).
const (
	ollamaVersion   = "0.32.15"
	ollamaDigest    = "a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72"
	ollamaSize      = 2019393189
	ollamaVRAM      = 3357426176
	ollamaContext   = 4096
	ollamaKeepAlive = 5 * time.Minute
	ollamaNDJSON    = "application/x-ndjson"
	ollamaJSON      = "application/json; charset=utf-8"
	ollamaDetails   = `{"parent_model":"","format":"gguf","family":"llama","families":["llama"],"parameter_size":"3.2B","quantization_level":"Q4_K_M"}`
	ollamaBusy      = "server busy, please try again.  maximum pending requests exceeded"
	// num_predict -1 means "until EOS or the context fills"; the simulator
	// stops at this many tokens and reports it as a natural stop.
	ollamaUnlimitedTokens = 128
)

func (e *engine) ollamaHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/chat", func(w http.ResponseWriter, r *http.Request) { e.ollamaNative(w, r, true) })
	mux.HandleFunc("POST /api/generate", func(w http.ResponseWriter, r *http.Request) { e.ollamaNative(w, r, false) })
	mux.HandleFunc("POST /v1/chat/completions", func(w http.ResponseWriter, r *http.Request) { e.ollamaOpenAI(w, r, true) })
	mux.HandleFunc("POST /v1/completions", func(w http.ResponseWriter, r *http.Request) { e.ollamaOpenAI(w, r, false) })
	mux.HandleFunc("GET /api/tags", e.ollamaTags)
	mux.HandleFunc("GET /api/ps", e.ollamaPS)
	mux.HandleFunc("GET /api/version", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, ollamaJSON, []byte(`{"version":"`+ollamaVersion+`"}`))
	})
	mux.HandleFunc("GET /v1/models", e.ollamaOpenAIModels)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("Ollama is running"))
	})
	return mux
}

// ollamaTagged adds the implicit ":latest" tag.
func ollamaTagged(name string) string {
	if strings.Contains(name[strings.LastIndexByte(name, '/')+1:], ":") {
		return name
	}
	return name + ":latest"
}

func (e *engine) ollamaKnows(model string) bool {
	return ollamaTagged(model) == ollamaTagged(e.prof.Model)
}

func ollamaError(w http.ResponseWriter, status int, msg string) {
	b := append([]byte(nil), `{"error":`...)
	b = appendString(b, msg, true)
	writeJSON(w, status, ollamaJSON, append(b, '}'))
}

type ollamaMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type ollamaRequest struct {
	Model    string          `json:"model"`
	Messages []ollamaMessage `json:"messages"`
	Prompt   string          `json:"prompt"`
	System   string          `json:"system"`
	Raw      bool            `json:"raw"`
	Stream   *bool           `json:"stream"`
	Options  struct {
		// api.Options arrive as a map, so 256.0 is as good as 256.
		NumPredict *float64 `json:"num_predict"`
	} `json:"options"`
}

// ollamaLength turns num_predict into a job's length.
func ollamaLength(j *job, numPredict *int) {
	if numPredict == nil || *numPredict <= 0 {
		j.maxTokens, j.unlimited = ollamaUnlimitedTokens, true
		return
	}
	j.maxTokens = *numPredict
}

// ollamaNative serves /api/chat and /api/generate as NDJSON
// (transcripts/ollama-chat.ndjson, ollama-generate.ndjson): one line per
// token, then a done line whose metrics are integer nanoseconds, each
// omitted when zero.
func (e *engine) ollamaNative(w http.ResponseWriter, r *http.Request, chat bool) {
	arrived := time.Now()
	var req ollamaRequest
	if err := decodeBody(w, r, &req); err != nil {
		ollamaError(w, http.StatusBadRequest, err.Error())
		return
	}
	if req.Model == "" {
		ollamaError(w, http.StatusBadRequest, "model is required")
		return
	}
	if !e.ollamaKnows(req.Model) {
		ollamaError(w, http.StatusNotFound, "model '"+req.Model+"' not found")
		return
	}
	var prompt int
	if chat {
		if len(req.Messages) == 0 {
			e.ollamaLoadOnly(w, r, req.Model, chat)
			return
		}
		chars := make([]int, len(req.Messages))
		for i, m := range req.Messages {
			chars[i] = len(m.Content)
		}
		prompt = chatPromptTokens(chars)
	} else {
		if req.Prompt == "" {
			e.ollamaLoadOnly(w, r, req.Model, chat)
			return
		}
		prompt = estimateTokens(len(req.System) + len(req.Prompt))
		if !req.Raw {
			prompt += 2 * chatTemplateTokens
		}
	}
	if !e.enter(e.prof.MaxBatch + e.prof.MaxQueue) {
		ollamaError(w, http.StatusServiceUnavailable, ollamaBusy)
		return
	}
	defer e.leave()

	j := e.newJob(arrived)
	j.promptTokens = prompt
	var numPredict *int
	if req.Options.NumPredict != nil {
		n := int(*req.Options.NumPredict)
		numPredict = &n
	}
	ollamaLength(j, numPredict)
	o := e.plan(j)

	head := append([]byte(nil), `{"model":`...)
	head = appendString(head, req.Model, true)
	head = append(head, `,"created_at":"`...)
	var tokenOpen, tokenClose string
	if chat {
		tokenOpen, tokenClose = `","message":{"role":"assistant","content":`, `},"done":false}`+"\n"
	} else {
		tokenOpen, tokenClose = `","response":`, `,"done":false}`+"\n"
	}
	// context (generate only) is the prompt and answer as token ids.
	var context []byte
	if !chat && !req.Raw {
		context = appendPromptContext(nil, prompt)
	}

	stream := req.Stream == nil || *req.Stream
	if !stream {
		text, tm, toks, err := e.collectText(r, j, o)
		if err != nil {
			return
		}
		if context != nil {
			for _, tok := range toks {
				context = appendContextID(context, tok.id)
			}
		}
		b := e.ollamaDone(append([]byte(nil), head...), chat, string(text), o, tm, j.promptTokens, context)
		writeJSON(w, http.StatusOK, ollamaJSON, b)
		return
	}

	s := newSender(w, ollamaNDJSON)
	defer s.free()
	emit := func(_ int, tok *word, _ bool) error {
		b := append(s.buf, head...)
		b = time.Now().UTC().AppendFormat(b, time.RFC3339Nano)
		b = append(b, tokenOpen...)
		b = appendQuotedWord(b, tok)
		s.buf = append(b, tokenClose...)
		if context != nil {
			context = appendContextID(context, tok.id)
		}
		return s.send()
	}
	tm, err := e.run(r.Context(), j, o, emit)
	if err != nil {
		return
	}
	s.buf = e.ollamaDone(append(s.buf, head...), chat, "", o, tm, j.promptTokens, context)
	s.buf = append(s.buf, '\n')
	_ = s.send()
}

// ollamaDone finishes a line begun with head: the done object with the
// metrics in api.Metrics order.
func (e *engine) ollamaDone(b []byte, chat bool, text string, o outcome, tm timing, prompt int, context []byte) []byte {
	b = time.Now().UTC().AppendFormat(b, time.RFC3339Nano)
	if chat {
		b = append(b, `","message":{"role":"assistant","content":`...)
		b = appendString(b, text, true)
		b = append(b, '}')
	} else {
		b = append(b, `","response":`...)
		b = appendString(b, text, true)
	}
	b = append(b, `,"done":true,"done_reason":"`...)
	if o.eos {
		b = append(b, "stop"...)
	} else {
		b = append(b, "length"...)
	}
	b = append(b, '"')
	if context != nil {
		b = append(b, `,"context":[`...)
		b = append(b, context[:len(context)-1]...) // drop the trailing comma
		b = append(b, ']')
	}
	b = appendNonZero(b, "total_duration", int64(time.Since(tm.arrived)))
	// load_duration is request handling and model load, as Ollama measures
	// it; the wait for a parallel slot only shows in total_duration there too.
	load := tm.queued.Sub(tm.arrived) + tm.loaded.Sub(tm.admitted)
	b = appendNonZero(b, "load_duration", int64(load))
	b = appendNonZero(b, "prompt_eval_count", int64(prompt))
	b = appendNonZero(b, "prompt_eval_duration", int64(tm.first.Sub(tm.loaded)))
	b = appendNonZero(b, "eval_count", int64(o.tokens))
	b = appendNonZero(b, "eval_duration", int64(tm.last.Sub(tm.first)))
	return append(b, '}')
}

// appendNonZero writes ,"key":v unless v is zero (omitempty).
func appendNonZero(b []byte, key string, v int64) []byte {
	if v <= 0 {
		return b
	}
	b = append(b, `,"`...)
	b = append(b, key...)
	b = append(b, `":`...)
	return appendInt(b, v)
}

// appendPromptContext writes plausible Llama 3 ids for a templated prompt,
// each followed by a comma.
func appendPromptContext(b []byte, prompt int) []byte {
	for _, id := range []int{128006, 882, 128007, 271} {
		b = appendContextID(b, id)
	}
	for k := range max(prompt-8, 1) {
		b = appendContextID(b, 1000+(k*7919)%100000)
	}
	for _, id := range []int{128009, 128006, 78191, 128007, 271} {
		b = appendContextID(b, id)
	}
	return b
}

func appendContextID(b []byte, id int) []byte {
	return append(appendInt(b, int64(id)), ',')
}

// ollamaLoadOnly answers a request without messages or prompt, which
// Ollama treats as "load the model" (done_reason "load").
func (e *engine) ollamaLoadOnly(w http.ResponseWriter, r *http.Request, model string, chat bool) {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	if e.waitLoaded(r.Context(), t) != nil {
		return
	}
	e.lastUsed.Store(time.Now().UnixNano())
	b := append([]byte(nil), `{"model":`...)
	b = appendString(b, model, true)
	b = append(b, `,"created_at":"`...)
	b = time.Now().UTC().AppendFormat(b, time.RFC3339Nano)
	if chat {
		b = append(b, `","message":{"role":"assistant","content":""}`...)
	} else {
		b = append(b, `","response":""`...)
	}
	b = append(b, `,"done":true,"done_reason":"load"}`...)
	writeJSON(w, http.StatusOK, ollamaJSON, b)
}

// ollamaTags mirrors transcripts/ollama-tags.json.
func (e *engine) ollamaTags(w http.ResponseWriter, _ *http.Request) {
	name := ollamaTagged(e.prof.Model)
	b := append([]byte(nil), `{"models":[{"name":`...)
	b = appendString(b, name, true)
	b = append(b, `,"model":`...)
	b = appendString(b, name, true)
	b = append(b, `,"modified_at":"`...)
	b = e.created.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","size":`...)
	b = appendInt(b, ollamaSize)
	b = append(b, `,"digest":"`+ollamaDigest+`","details":`+ollamaDetails+`}]}`...)
	writeJSON(w, http.StatusOK, ollamaJSON, b)
}

// ollamaPS mirrors transcripts/ollama-ps.json; the model shows once loaded.
func (e *engine) ollamaPS(w http.ResponseWriter, _ *http.Request) {
	if !e.loaded.Load() {
		writeJSON(w, http.StatusOK, ollamaJSON, []byte(`{"models":[]}`))
		return
	}
	name := ollamaTagged(e.prof.Model)
	expires := time.Now()
	if last := e.lastUsed.Load(); last != 0 {
		expires = time.Unix(0, last)
	}
	b := append([]byte(nil), `{"models":[{"name":`...)
	b = appendString(b, name, true)
	b = append(b, `,"model":`...)
	b = appendString(b, name, true)
	b = append(b, `,"size":`...)
	b = appendInt(b, ollamaVRAM)
	b = append(b, `,"digest":"`+ollamaDigest+`","details":`+ollamaDetails+`,"expires_at":"`...)
	b = expires.Add(ollamaKeepAlive).UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","size_vram":`...)
	b = appendInt(b, ollamaVRAM)
	b = append(b, `,"context_length":`...)
	b = appendInt(b, ollamaContext)
	b = append(b, `}]}`...)
	writeJSON(w, http.StatusOK, ollamaJSON, b)
}

// ollamaOpenAIModels mirrors transcripts/ollama-openai-models.json.
func (e *engine) ollamaOpenAIModels(w http.ResponseWriter, _ *http.Request) {
	b := append([]byte(nil), `{"object":"list","data":[{"id":`...)
	b = appendString(b, ollamaTagged(e.prof.Model), true)
	b = append(b, `,"object":"model","created":`...)
	b = appendInt(b, e.created.Unix())
	b = append(b, `,"owned_by":"library"}]}`...)
	writeJSON(w, http.StatusOK, ollamaJSON, b)
}
