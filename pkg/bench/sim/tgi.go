package sim

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Values from transcripts/tgi-info.json (TGI v3.3.7, which reports the
// Cargo version 3.3.6-dev0).
const (
	tgiVersion     = "3.3.6-dev0"
	tgiSHA         = "dfb3fbe78e0d1d69251bd33065591c61bafdfaa8"
	tgiDockerLabel = "sha-dfb3fbe"
	tgiModelSHA    = "0e9e39f249a16976918f6564b8830bc894c89659"
	tgiFingerprint = tgiVersion + "-" + tgiDockerLabel
	tgiMaxInput    = 4096
	tgiMaxTotal    = 8192
	tgiMaxStop     = 4
	tgiSSE         = "text/event-stream"
	tgiJSON        = "application/json"
	// TGI's real default is max_total_tokens - input_length.
	tgiDefaultMaxNewTokens = 256
)

func (e *backend) tgiHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /generate_stream", e.tgiGenerateStream)
	mux.HandleFunc("POST /generate", e.tgiGenerate)
	mux.HandleFunc("POST /v1/chat/completions", e.tgiChat)
	mux.HandleFunc("POST /v1/completions", e.tgiCompletions)
	mux.HandleFunc("GET /info", e.tgiInfo)
	mux.HandleFunc("POST /tokenize", e.tgiTokenize)
	mux.HandleFunc("GET /v1/models", e.tgiModels)
	mux.HandleFunc("GET /health", emptyOK)
	mux.HandleFunc("GET /metrics", e.tgiMetrics)
	mux.HandleFunc("GET /ping", emptyOK)
	mux.HandleFunc("GET /{$}", emptyOK)
	return mux
}

type tgiParameters struct {
	MaxNewTokens        *int     `json:"max_new_tokens"`
	Temperature         *float64 `json:"temperature"`
	TopP                *float64 `json:"top_p"`
	TopK                *int     `json:"top_k"`
	Details             bool     `json:"details"`
	DecoderInputDetails bool     `json:"decoder_input_details"`
	BestOf              *int     `json:"best_of"`
	Seed                *uint64  `json:"seed"`
	Stop                []string `json:"stop"`
}

type tgiGenerateRequest struct {
	Inputs     *string       `json:"inputs"`
	Parameters tgiParameters `json:"parameters"`
}

// tgiValidate applies the checks of router/src/validation.rs that a
// benchmark can trip, in their order, and returns max_new_tokens or the
// message of the validation error.
func tgiValidate(p *tgiParameters, inputChars, inputTokens int, streaming bool) (int, string) {
	fail := func(format string, a ...any) (int, string) {
		return 0, "Input validation error: " + fmt.Sprintf(format, a...)
	}
	switch {
	case streaming && p.BestOf != nil && *p.BestOf > 1:
		return fail("`best_of` != 1 is not supported when streaming tokens")
	case streaming && p.DecoderInputDetails:
		return fail("`decoder_input_details` == true is not supported when streaming tokens")
	case p.Temperature != nil && *p.Temperature <= 0:
		return fail("`temperature` must be strictly positive")
	case p.TopP != nil && (*p.TopP <= 0 || *p.TopP >= 1):
		return fail("`top_p` must be > 0.0 and < 1.0")
	case p.TopK != nil && *p.TopK <= 0:
		return fail("`top_k` must be strictly positive")
	case p.MaxNewTokens != nil && *p.MaxNewTokens <= 0:
		return fail("`max_new_tokens` must be strictly positive")
	case len(p.Stop) > tgiMaxStop:
		return fail("`stop` supports up to %d stop sequences. Given: %d", tgiMaxStop, len(p.Stop))
	case inputChars == 0:
		return fail("`inputs` cannot be empty")
	}
	maxNew := max(1, min(tgiDefaultMaxNewTokens, tgiMaxTotal-inputTokens))
	if p.MaxNewTokens != nil {
		maxNew = *p.MaxNewTokens
	}
	// The total is checked before the input alone (validate_input), which is
	// why transcripts/tgi-error-422.json reports 8000 inputs as a total.
	if inputTokens+maxNew > tgiMaxTotal {
		return fail("`inputs` tokens + `max_new_tokens` must be <= %d. Given: %d `inputs` tokens and %d `max_new_tokens`", tgiMaxTotal, inputTokens, maxNew)
	}
	if inputTokens > tgiMaxInput {
		return fail("`inputs` must have less than %d tokens. Given: %d", tgiMaxInput, inputTokens)
	}
	return maxNew, ""
}

// tgiError writes the non-streamed error body {"error","error_type"}.
func tgiError(w http.ResponseWriter, status int, msg, typ string) {
	writeJSON(w, status, tgiJSON, tgiErrorBody(nil, msg, typ))
}

func tgiErrorBody(b []byte, msg, typ string) []byte {
	b = append(b, `{"error":`...)
	b = appendString(b, msg, false)
	b = append(b, `,"error_type":"`...)
	b = append(b, typ...)
	return append(b, `"}`...)
}

const tgiOverloaded = "Model is overloaded"

// tgiStreamHeaders are what TGI's SSE responses carry besides the type.
func tgiStreamHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	h.Set("x-compute-type", "gpu+optimized")
}

// tgiGenerateStream serves the native SSE stream: no [DONE], errors arrive
// inside a 200 stream because TGI takes its permit and validates after the
// response has started (transcripts/tgi-generate-stream*.sse).
func (e *backend) tgiGenerateStream(w http.ResponseWriter, r *http.Request) {
	arrived := time.Now()
	var req tgiGenerateRequest
	if err := decodeBody(w, r, &req); err != nil {
		tgiError(w, http.StatusUnprocessableEntity, "Failed to deserialize the JSON body into the target type: "+err.Error(), "validation")
		return
	}
	if req.Inputs == nil {
		tgiError(w, http.StatusUnprocessableEntity, "Failed to deserialize the JSON body into the target type: missing field `inputs`", "validation")
		return
	}
	tgiStreamHeaders(w)
	s := newSender(w, tgiSSE)
	defer s.free()
	if s.start() != nil {
		return
	}
	streamError := func(msg, typ string) {
		s.buf = append(s.buf, "data: "...)
		s.buf = tgiErrorBody(s.buf, msg, typ)
		s.buf = append(s.buf, "\n\n"...)
		_ = s.send()
	}
	if !e.enter(e.prof.MaxConcurrentRequests) {
		streamError(tgiOverloaded, "overloaded")
		return
	}
	defer e.leave()
	p := &req.Parameters
	prompt := max(1, textTokens(*req.Inputs))
	maxNew, msg := tgiValidate(p, len(*req.Inputs), prompt, true)
	if msg != "" {
		streamError(msg, "validation")
		return
	}
	j := e.newJob(arrived)
	j.promptTokens, j.maxTokens, j.eosIsToken = prompt, maxNew, true
	o := e.plan(j)
	var text []byte
	emit := func(i int, tok *word, last bool) error {
		b := append(s.buf, `data: {"index":`...)
		b = appendInt(b, int64(i+1))
		b = appendTGIToken(b, tok)
		b = append(b, `,"generated_text":`...)
		if !tok.special {
			text = append(text, tok.text...)
		}
		if !last {
			b = append(b, `null,"details":null}`...)
		} else {
			b = appendString(b, string(text), false)
			b = append(b, `,"details":`...)
			if p.Details {
				b = append(b, `{"finish_reason":"`...)
				b = append(b, tgiFinish(o)...)
				b = append(b, `","generated_tokens":`...)
				b = appendInt(b, int64(o.tokens))
				b = append(b, `,"seed":`...)
				b = appendSeed(b, p.Seed)
				b = append(b, `,"input_length":`...)
				b = appendInt(b, int64(prompt))
				b = append(b, `}}`...)
			} else {
				b = append(b, "null}"...)
			}
		}
		s.buf = append(b, "\n\n"...)
		return s.send()
	}
	_, _ = e.run(r.Context(), j, o, emit)
}

// appendTGIToken writes `,"token":{…}` in lib.rs Token field order.
func appendTGIToken(b []byte, tok *word) []byte {
	b = append(b, `,"token":{"id":`...)
	return appendTokenFields(b, tok)
}

func appendTokenFields(b []byte, tok *word) []byte {
	b = appendInt(b, int64(tok.id))
	b = append(b, `,"text":`...)
	b = appendQuotedWord(b, tok)
	b = append(b, `,"logprob":`...)
	b = append(b, tok.logprob...)
	if tok.special {
		return append(b, `,"special":true}`...)
	}
	return append(b, `,"special":false}`...)
}

func appendSeed(b []byte, seed *uint64) []byte {
	if seed == nil {
		return append(b, "null"...)
	}
	return strconv.AppendUint(b, *seed, 10)
}

func tgiFinish(o outcome) string {
	if o.eos {
		return "eos_token"
	}
	return "length"
}

// tgiGenerate serves the native non-streamed endpoint
// (transcripts/tgi-generate.json, tgi-generate-nodetails.json).
func (e *backend) tgiGenerate(w http.ResponseWriter, r *http.Request) {
	arrived := time.Now()
	var req tgiGenerateRequest
	if err := decodeBody(w, r, &req); err != nil {
		tgiError(w, http.StatusUnprocessableEntity, "Failed to deserialize the JSON body into the target type: "+err.Error(), "validation")
		return
	}
	if req.Inputs == nil {
		tgiError(w, http.StatusUnprocessableEntity, "Failed to deserialize the JSON body into the target type: missing field `inputs`", "validation")
		return
	}
	if !e.enter(e.prof.MaxConcurrentRequests) {
		tgiError(w, http.StatusTooManyRequests, tgiOverloaded, "overloaded")
		return
	}
	defer e.leave()
	p := &req.Parameters
	prompt := max(1, textTokens(*req.Inputs))
	maxNew, msg := tgiValidate(p, len(*req.Inputs), prompt, false)
	if msg != "" {
		tgiError(w, http.StatusUnprocessableEntity, msg, "validation")
		return
	}
	j := e.newJob(arrived)
	j.promptTokens, j.maxTokens, j.eosIsToken = prompt, maxNew, true
	o := e.plan(j)
	text, tm, toks, err := e.collectText(r, j, o)
	if err != nil {
		return
	}
	b := append([]byte(nil), `{"generated_text":`...)
	b = appendString(b, string(text), false)
	if p.Details || p.DecoderInputDetails {
		b = append(b, `,"details":{"finish_reason":"`...)
		b = append(b, tgiFinish(o)...)
		b = append(b, `","generated_tokens":`...)
		b = appendInt(b, int64(o.tokens))
		b = append(b, `,"seed":`...)
		b = appendSeed(b, p.Seed)
		b = append(b, `,"prefill":[],"tokens":[`...)
		for i, tok := range toks {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"id":`...)
			b = appendTokenFields(b, tok)
		}
		b = append(b, "]}"...)
	}
	b = append(b, '}')
	tgiTimingHeaders(w, tm, len(*req.Inputs), prompt, o.tokens)
	writeJSON(w, http.StatusOK, tgiJSON, b)
}

// tgiTimingHeaders are the server-side timings TGI attaches to /generate
// (server.rs), useful to cross-check a client's own measurements.
func tgiTimingHeaders(w http.ResponseWriter, tm timing, chars, prompt, generated int) {
	ms := func(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }
	total := tm.last.Sub(tm.arrived)
	inference := tm.last.Sub(tm.admitted)
	h := w.Header()
	h.Set("x-compute-type", "gpu+optimized")
	h.Set("x-compute-time", strconv.FormatFloat(total.Seconds(), 'f', -1, 64))
	h.Set("x-compute-characters", strconv.Itoa(chars))
	h.Set("x-total-time", ms(total))
	h.Set("x-validation-time", "0")
	h.Set("x-queue-time", ms(tm.admitted.Sub(tm.arrived)))
	h.Set("x-inference-time", ms(inference))
	h.Set("x-time-per-token", ms(inference/time.Duration(max(generated, 1))))
	h.Set("x-prompt-tokens", strconv.Itoa(prompt))
	h.Set("x-generated-tokens", strconv.Itoa(generated))
}

// tgiInfo mirrors transcripts/tgi-info.json.
func (e *backend) tgiInfo(w http.ResponseWriter, _ *http.Request) {
	b := append([]byte(nil), `{"model_id":`...)
	b = appendString(b, e.prof.Model, false)
	b = append(b, `,"model_sha":"`+tgiModelSHA+`","model_pipeline_tag":"text-generation","max_concurrent_requests":`...)
	b = appendInt(b, int64(e.prof.MaxConcurrentRequests))
	b = append(b, `,"max_best_of":2,"max_stop_sequences":`...)
	b = appendInt(b, tgiMaxStop)
	b = append(b, `,"max_input_tokens":`...)
	b = appendInt(b, tgiMaxInput)
	b = append(b, `,"max_total_tokens":`...)
	b = appendInt(b, tgiMaxTotal)
	b = append(b, `,"validation_workers":2,"max_client_batch_size":4,"router":"text-generation-router","version":"`+tgiVersion+`","sha":"`+tgiSHA+`","docker_label":"`+tgiDockerLabel+`"}`...)
	writeJSON(w, http.StatusOK, tgiJSON, b)
}

// tgiModels mirrors transcripts/tgi-v1-models.json.
func (e *backend) tgiModels(w http.ResponseWriter, _ *http.Request) {
	b := append([]byte(nil), `{"object":"list","data":[{"id":`...)
	b = appendString(b, e.prof.Model, false)
	b = append(b, `,"object":"model","created":0,"owned_by":`...)
	b = appendString(b, e.prof.Model, false)
	b = append(b, `}]}`...)
	writeJSON(w, http.StatusOK, tgiJSON, b)
}
