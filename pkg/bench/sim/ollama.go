package sim

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"
	"strconv"
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
	// ollamaOpenAIJSON is what the OpenAI middleware sets on whole bodies.
	ollamaOpenAIJSON = "application/json"
	ollamaDetails    = `{"parent_model":"","format":"gguf","family":"llama","families":["llama"],"parameter_size":"3.2B","quantization_level":"Q4_K_M"}`
	ollamaBusy       = "server busy, please try again.  maximum pending requests exceeded"
	// num_predict -1 means "until EOS or the context fills"; the simulator
	// stops at this many tokens and reports it as a natural stop.
	ollamaUnlimitedTokens = 128
)

func (e *backend) ollamaHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/chat", func(w http.ResponseWriter, r *http.Request) { e.ollamaNative(w, r, true) })
	mux.HandleFunc("POST /api/generate", func(w http.ResponseWriter, r *http.Request) { e.ollamaNative(w, r, false) })
	mux.HandleFunc("POST /v1/chat/completions", func(w http.ResponseWriter, r *http.Request) { e.ollamaOpenAI(w, r, true) })
	mux.HandleFunc("POST /v1/completions", func(w http.ResponseWriter, r *http.Request) { e.ollamaOpenAI(w, r, false) })
	mux.HandleFunc("GET /api/tags", e.ollamaTags)
	mux.HandleFunc("GET /api/ps", e.ollamaPS)
	mux.HandleFunc("GET /api/version", func(w http.ResponseWriter, _ *http.Request) {
		b := append([]byte(`{"version":`), appendString(nil, e.dialect.version, true)...)
		writeJSON(w, http.StatusOK, ollamaJSON, append(b, '}'))
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

// ollamaModel finds a served model by name, with or without ":latest".
func (e *backend) ollamaModel(name string) *modelState {
	if name == "" {
		return nil
	}
	tagged := ollamaTagged(name)
	for _, m := range e.models {
		if m.name == tagged {
			return m
		}
	}
	return nil
}

// bytePromptTokens counts a chat's prompt for a Model with BytePrompt:
// the template renders only the user turns, one token per byte, plus <s>
// and SentencePiece's leading "▁" (real-ollama-0.11.4-chat.ndjson: "hi" is
// 4 tokens).
func bytePromptTokens[M any](msgs []M, part func(M) (role string, bytes int)) int {
	n := 2
	for _, m := range msgs {
		if role, b := part(m); role == "user" {
			n += b
		}
	}
	return n
}

// ollamaDialect is what the simulator writes differently per Ollama
// release. v0.11.4 and v0.24.0 were captured from real servers
// (transcripts/real-ollama-*); 0.32.15 is read from its source
// (wire-formats.md §3).
type ollamaDialect struct {
	version string
	// v0.11.4's ChatResponse has done_reason before done
	// (real-ollama-0.11.4-chat.ndjson); /api/generate never did.
	chatDoneReasonFirst bool
	// v0.11.4 finds an unknown model for chat in the scheduler: `model "x"
	// not found, try pulling it first` on /api/chat and
	// /v1/chat/completions, while /api/generate and /v1/completions say
	// `model 'x' not found`; its OpenAI middleware types every error
	// api_error (real-ollama-0.11.4-error-404.json, -openai-error-404.json).
	v011Errors bool
	// Before v0.32.6 every chat chunk's delta carries the role, the finish
	// chunk has "content":"" and created is each chunk's own time
	// (wire-formats.md §3.6; real-ollama-0.11.4-openai-chat-stream.sse).
	legacyOpenAIChunks bool
}

func newOllamaDialect(v string) ollamaDialect {
	if v == "" {
		v = ollamaVersion
	}
	return ollamaDialect{
		version:             v,
		chatDoneReasonFirst: versionBefore(v, "0.12.0"),
		v011Errors:          versionBefore(v, "0.12.0"),
		legacyOpenAIChunks:  versionBefore(v, "0.32.6"),
	}
}

// versionBefore compares dotted release numbers ("0.11.4" < "0.12.0");
// anything after a "-" or "+" is ignored.
func versionBefore(v, than string) bool {
	parse := func(s string) []int {
		s = strings.TrimPrefix(s, "v")
		if i := strings.IndexAny(s, "-+"); i >= 0 {
			s = s[:i]
		}
		var out []int
		for _, f := range strings.Split(s, ".") {
			n, _ := strconv.Atoi(f)
			out = append(out, n)
		}
		return out
	}
	return slices.Compare(parse(v), parse(than)) < 0
}

// notFound is the 404 message for an unknown model; chat is
// /api/chat or /v1/chat/completions.
func (d ollamaDialect) notFound(model string, chat bool) string {
	if d.v011Errors && chat {
		return `model "` + model + `" not found, try pulling it first`
	}
	return "model '" + model + "' not found"
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
func (e *backend) ollamaNative(w http.ResponseWriter, r *http.Request, chat bool) {
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
	d := e.dialect
	model := e.ollamaModel(req.Model)
	if model == nil {
		ollamaError(w, http.StatusNotFound, d.notFound(req.Model, chat))
		return
	}
	var prompt int
	if chat {
		if len(req.Messages) == 0 {
			e.ollamaLoadOnly(w, r, req.Model, model, chat)
			return
		}
		texts := make([]string, len(req.Messages))
		for i, m := range req.Messages {
			texts[i] = m.Content
		}
		prompt = chatPromptTokens(texts)
		if model.bytePrompt {
			prompt = bytePromptTokens(req.Messages, func(m ollamaMessage) (string, int) { return m.Role, len(m.Content) })
		}
	} else {
		if req.Prompt == "" {
			e.ollamaLoadOnly(w, r, req.Model, model, chat)
			return
		}
		prompt = max(1, textTokens(req.System)+textTokens(req.Prompt))
		if !req.Raw {
			prompt += 2 * chatTemplateTokens
		}
		if model.bytePrompt {
			prompt = len(req.Prompt) + 2
		}
	}
	if !e.enter(e.prof.MaxBatch + e.prof.MaxQueue) {
		ollamaError(w, http.StatusServiceUnavailable, ollamaBusy)
		return
	}
	defer e.leave()

	j := e.newJob(arrived)
	j.model = model
	j.promptTokens = prompt
	if chat {
		// Ollama reuses the slot's KV cache for a shared prefix but counts
		// the whole prompt in prompt_eval_count (v0.11.4, test/ollama).
		texts := make([]string, len(req.Messages))
		for i, m := range req.Messages {
			texts[i] = m.Content
		}
		j.cachedTokens = e.cache.serve(texts)
	}
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
		if model.bytePrompt {
			context = appendByteContext(nil, req.Prompt)
		} else {
			context = appendPromptContext(nil, prompt)
		}
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
		b := e.ollamaDone(append([]byte(nil), head...), d, chat, string(text), o, tm, j.promptTokens, context)
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
	s.buf = e.ollamaDone(append(s.buf, head...), d, chat, "", o, tm, j.promptTokens, context)
	s.buf = append(s.buf, '\n')
	_ = s.send()
}

// ollamaEvalCount is eval_count: the tokens generated, and on a natural stop
// the end-of-sequence token too, which is counted but never streamed
// (real-ollama-0.24.0-chat-stop.ndjson: 25 chunks, eval_count 26; v0.11.4
// the same).
func ollamaEvalCount(o outcome) int {
	if o.eos {
		return o.tokens + 1
	}
	return o.tokens
}

// ollamaDone finishes a line begun with head: the done object with the
// metrics in api.Metrics order.
func (e *backend) ollamaDone(b []byte, d ollamaDialect, chat bool, text string, o outcome, tm timing, prompt int, context []byte) []byte {
	b = time.Now().UTC().AppendFormat(b, time.RFC3339Nano)
	if chat {
		b = append(b, `","message":{"role":"assistant","content":`...)
		b = appendString(b, text, true)
		b = append(b, '}')
	} else {
		b = append(b, `","response":`...)
		b = appendString(b, text, true)
	}
	if chat && d.chatDoneReasonFirst {
		b = append(b, `,"done_reason":"`...)
		b = append(b, ollamaFinish(o)...)
		b = append(b, `","done":true`...)
	} else {
		b = append(b, `,"done":true,"done_reason":"`...)
		b = append(b, ollamaFinish(o)...)
		b = append(b, '"')
	}
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
	b = appendNonZero(b, "eval_count", int64(ollamaEvalCount(o)))
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

// appendByteContext writes the ids of a prompt in the tiny test models'
// vocabulary (test/ollama/gguf): "▁" first and for each space, printable
// ASCII from 260, other bytes as byte tokens from 3. Ollama leaves <s> out
// of context (real-ollama-0.11.4-generate.ndjson).
func appendByteContext(b []byte, prompt string) []byte {
	b = appendContextID(b, 259)
	for i := 0; i < len(prompt); i++ {
		switch c := prompt[i]; {
		case c == ' ':
			b = appendContextID(b, 259)
		case c > ' ' && c < 0x7f:
			b = appendContextID(b, 260+int(c-'!'))
		default:
			b = appendContextID(b, 3+int(c))
		}
	}
	return b
}

func appendContextID(b []byte, id int) []byte {
	return append(appendInt(b, int64(id)), ',')
}

// ollamaLoadOnly answers a request without messages or prompt, which
// Ollama treats as "load the model" (done_reason "load").
func (e *backend) ollamaLoadOnly(w http.ResponseWriter, r *http.Request, model string, m *modelState, chat bool) {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	if e.waitLoaded(r.Context(), t, m) != nil {
		return
	}
	m.lastUsed.Store(time.Now().UnixNano())
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

// ollamaDigest is a model's digest: the transcript's for the default
// model, a stable stand-in for the others.
func (e *backend) ollamaDigest(m *modelState) string {
	if len(e.prof.Models) == 0 {
		return ollamaDigest
	}
	sum := sha256.Sum256([]byte(m.name))
	return hex.EncodeToString(sum[:])
}

// ollamaTags mirrors transcripts/ollama-tags.json (real-ollama-0.24.0-tags-both.json
// for several models).
func (e *backend) ollamaTags(w http.ResponseWriter, _ *http.Request) {
	b := append([]byte(nil), `{"models":[`...)
	for i, m := range e.models {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = appendString(b, m.name, true)
		b = append(b, `,"model":`...)
		b = appendString(b, m.name, true)
		b = append(b, `,"modified_at":"`...)
		b = e.created.AppendFormat(b, time.RFC3339Nano)
		b = append(b, `","size":`...)
		b = appendInt(b, ollamaSize)
		b = append(b, `,"digest":"`...)
		b = append(b, e.ollamaDigest(m)...)
		b = append(b, `","details":`+ollamaDetails+`}`...)
	}
	writeJSON(w, http.StatusOK, ollamaJSON, append(b, "]}"...))
}

// ollamaPS mirrors transcripts/ollama-ps.json: the loaded models, most
// recently used first.
func (e *backend) ollamaPS(w http.ResponseWriter, _ *http.Request) {
	var loaded []*modelState
	for _, m := range e.models {
		if m.loaded.Load() {
			loaded = append(loaded, m)
		}
	}
	slices.SortStableFunc(loaded, func(a, b *modelState) int { return cmp.Compare(b.lastUsed.Load(), a.lastUsed.Load()) })
	b := append([]byte(nil), `{"models":[`...)
	for i, m := range loaded {
		if i > 0 {
			b = append(b, ',')
		}
		expires := time.Now()
		if last := m.lastUsed.Load(); last != 0 {
			expires = time.Unix(0, last)
		}
		b = append(b, `{"name":`...)
		b = appendString(b, m.name, true)
		b = append(b, `,"model":`...)
		b = appendString(b, m.name, true)
		b = append(b, `,"size":`...)
		b = appendInt(b, ollamaVRAM)
		b = append(b, `,"digest":"`...)
		b = append(b, e.ollamaDigest(m)...)
		b = append(b, `","details":`+ollamaDetails+`,"expires_at":"`...)
		b = expires.Add(ollamaKeepAlive).UTC().AppendFormat(b, time.RFC3339Nano)
		b = append(b, `","size_vram":`...)
		b = appendInt(b, ollamaVRAM)
		b = append(b, `,"context_length":`...)
		b = appendInt(b, ollamaContext)
		b = append(b, '}')
	}
	writeJSON(w, http.StatusOK, ollamaJSON, append(b, "]}"...))
}

// ollamaOpenAIModels mirrors transcripts/real-ollama-0.11.4-openai-models.json:
// the middleware's json.Encoder ends the body with a newline, under a
// Content-Type without charset.
func (e *backend) ollamaOpenAIModels(w http.ResponseWriter, _ *http.Request) {
	b := append([]byte(nil), `{"object":"list","data":[`...)
	for i, m := range e.models {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = appendString(b, m.name, true)
		b = append(b, `,"object":"model","created":`...)
		b = appendInt(b, e.created.Unix())
		b = append(b, `,"owned_by":"library"}`...)
	}
	writeJSON(w, http.StatusOK, ollamaOpenAIJSON, append(b, "]}\n"...))
}
