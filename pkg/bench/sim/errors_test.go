package sim

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
)

func TestOllamaBusyBeyondQueue(t *testing.T) {
	busy := bytes.TrimSpace(readTranscript(t, "ollama-error-503-busy.json"))
	s, urls := startSim(t, latencyOptions(engine.EngineOllama, func(p *Profile) {
		p.MaxBatch, p.MaxQueue = 1, 1
		p.DecodePerToken = 5 * time.Millisecond
	}))
	e := s.engines[engine.EngineOllama]
	url := urls[engine.EngineOllama]
	long := `{"model":"llama3.2","messages":[{"role":"user","content":"hi"}],"options":{"num_predict":2000}}`
	startStream(t, url+"/api/chat", long).waitFirst(t)
	startStream(t, url+"/api/chat", long)
	waitFor(t, "one running and one queued", func() bool { r, w, _ := e.queueState(); return r == 1 && w == 1 })

	resp := post(t, url+"/api/chat", long)
	if resp.status != 503 || !bytes.Equal(resp.body, busy) {
		t.Errorf("native: %d %s, want 503 %s", resp.status, resp.body, busy)
	}
	resp = post(t, url+"/v1/chat/completions", `{"model":"llama3.2","messages":[{"role":"user","content":"hi"}],"stream":true}`)
	want := `{"error":{"message":"server busy, please try again.  maximum pending requests exceeded","type":"api_error","param":null,"code":null}}` + "\n"
	if resp.status != 503 || string(resp.body) != want {
		t.Errorf("openai: %d %s, want 503 %s", resp.status, resp.body, want)
	}
}

func TestTGIOverloaded(t *testing.T) {
	inStream := readTranscript(t, "tgi-generate-stream-error-overloaded.sse")
	status429 := bytes.TrimSpace(readTranscript(t, "tgi-error-429.json"))
	s, urls := startSim(t, latencyOptions(engine.EngineTGI, func(p *Profile) {
		p.MaxConcurrentRequests = 1
		p.DecodePerToken = 5 * time.Millisecond
	}))
	e := s.engines[engine.EngineTGI]
	url := urls[engine.EngineTGI]
	startStream(t, url+"/generate_stream", `{"inputs":"hi","parameters":{"max_new_tokens":2000}}`).waitFirst(t)
	waitFor(t, "one request in flight", func() bool { _, _, n := e.queueState(); return n == 1 })

	resp := post(t, url+"/generate_stream", `{"inputs":"hi","parameters":{"max_new_tokens":5}}`)
	if resp.status != 200 || !bytes.Equal(resp.body, inStream) {
		t.Errorf("/generate_stream: %d %q, want 200 %q", resp.status, resp.body, inStream)
	}
	resp = post(t, url+"/generate", `{"inputs":"hi","parameters":{"max_new_tokens":5}}`)
	if resp.status != 429 || !bytes.Equal(resp.body, status429) {
		t.Errorf("/generate: %d %s, want 429 %s", resp.status, resp.body, status429)
	}
	resp = post(t, url+"/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"stream":true}`)
	want := "data: {\"error\":{\"message\":\"Model is overloaded\",\"http_status_code\":422}}\n\ndata: [DONE]\n\n"
	if resp.status != 200 || string(resp.body) != want {
		t.Errorf("/v1/chat/completions: %d %q, want 200 %q", resp.status, resp.body, want)
	}
}

// TestTGIValidation checks that native validation errors arrive inside a
// 200 stream, shaped like transcripts/tgi-generate-stream-error-validation.sse.
func TestTGIValidation(t *testing.T) {
	shapeOf := readTranscript(t, "tgi-generate-stream-error-validation.sse")
	wantEvents, err := sseEvents(shapeOf)
	if err != nil {
		t.Fatal(err)
	}
	_, urls := startSim(t, fastOptions())
	url := urls[engine.EngineTGI]
	cases := map[string]string{
		"temperature 0":       `{"inputs":"hi","parameters":{"temperature":0}}`,
		"top_p 1":             `{"inputs":"hi","parameters":{"top_p":1.0}}`,
		"max_new_tokens 0":    `{"inputs":"hi","parameters":{"max_new_tokens":0}}`,
		"too many stops":      `{"inputs":"hi","parameters":{"stop":["a","b","c","d","e"]}}`,
		"empty inputs":        `{"inputs":"","parameters":{}}`,
		"best_of when stream": `{"inputs":"hi","parameters":{"best_of":2}}`,
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			resp := post(t, url+"/generate_stream", body)
			events, err := sseEvents(resp.body)
			if err != nil || resp.status != 200 || len(events) != 1 {
				t.Fatalf("status %d, body %q, framing %v: want one in-stream event", resp.status, resp.body, err)
			}
			sameShape(t, name, events[0], wantEvents[0])
			if !strings.Contains(events[0], `"Input validation error: `) || !strings.Contains(events[0], `"error_type":"validation"`) {
				t.Errorf("event %s is not a validation error", events[0])
			}
		})
	}

	resp := post(t, url+"/generate_stream", `{"inputs": nope}`)
	var body struct {
		Error     string `json:"error"`
		ErrorType string `json:"error_type"`
	}
	if err := json.Unmarshal(resp.body, &body); err != nil || resp.status != 422 || body.ErrorType != "validation" || body.Error == "" {
		t.Errorf("invalid JSON: %d %s, want 422 with error_type validation", resp.status, resp.body)
	}
}

func TestVLLMRequestErrors(t *testing.T) {
	shapeOf := string(bytes.TrimSpace(readTranscript(t, "vllm-error-400.json")))
	_, urls := startSim(t, fastOptions())
	url := urls[engine.EngineVLLM]
	cases := map[string]struct {
		path, body, message string
	}{
		"invalid JSON":            {"/v1/chat/completions", `{"messages":`, "invalid request body"},
		"stream_options unstream": {"/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"stream_options":{"include_usage":true}}`, "Stream options can only be defined when `stream=True`."},
		"no messages":             {"/v1/chat/completions", `{"stream":true}`, "messages"},
		"max_tokens 0":            {"/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"max_tokens":0}`, "max_tokens must be at least 1"},
		"context too long":        {"/v1/completions", `{"prompt":"` + strings.Repeat("a", 8190*4) + `","max_tokens":200}`, "maximum context length is 8192 tokens"},
		"no prompt":               {"/v1/completions", `{"max_tokens":2}`, "prompt"},
		"batched prompts":         {"/v1/completions", `{"prompt":["a","b"]}`, "one prompt"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			resp := post(t, url+tc.path, tc.body)
			if resp.status != 400 {
				t.Errorf("status %d, want 400", resp.status)
			}
			sameShape(t, name, string(resp.body), shapeOf)
			if !strings.Contains(string(resp.body), tc.message) || !strings.Contains(string(resp.body), `"type":"BadRequestError"`) {
				t.Errorf("body %s lacks %q", resp.body, tc.message)
			}
		})
	}
	// A request may leave the model out.
	if resp := post(t, url+"/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}],"max_tokens":2}`); resp.status != 200 {
		t.Errorf("request without model: %d %s", resp.status, resp.body)
	}
}

func TestModelNames(t *testing.T) {
	_, urls := startSim(t, fastOptions())
	o := urls[engine.EngineOllama]
	for _, model := range []string{"llama3.2", "llama3.2:latest"} {
		if resp := post(t, o+"/api/generate", `{"model":"`+model+`","prompt":"hi","stream":false,"options":{"num_predict":1}}`); resp.status != 200 {
			t.Errorf("ollama model %q: %d %s", model, resp.status, resp.body)
		}
	}
	if resp := post(t, o+"/api/chat", `{"messages":[{"role":"user","content":"hi"}]}`); resp.status != 400 || string(resp.body) != `{"error":"model is required"}` {
		t.Errorf("ollama without model: %d %s", resp.status, resp.body)
	}
	if resp := post(t, o+"/api/chat", `{"model":"llama3.2:1b","messages":[{"role":"user","content":"hi"}]}`); resp.status != 404 {
		t.Errorf("ollama with another tag: %d %s, want 404", resp.status, resp.body)
	}
	// TGI takes any model name and echoes it, except "tgi".
	g := urls[engine.EngineTGI]
	for model, want := range map[string]string{"tgi": vllmModel, "my-adapter": "my-adapter", "": vllmModel} {
		resp := post(t, g+"/v1/chat/completions", `{"model":"`+model+`","messages":[{"role":"user","content":"hi"}],"max_tokens":1}`)
		var m struct{ Model string }
		if err := json.Unmarshal(resp.body, &m); err != nil || m.Model != want {
			t.Errorf("tgi model %q: answered %q (%s), want %q", model, m.Model, resp.body, want)
		}
	}
}

func TestHealthEndpoints(t *testing.T) {
	_, urls := startSim(t, fastOptions())
	for _, c := range []struct {
		engine engine.EngineType
		path   string
	}{{engine.EngineVLLM, "/health"}, {engine.EngineTGI, "/health"}} {
		if resp := do(t, "GET", urls[c.engine]+c.path, ""); resp.status != 200 || len(resp.body) != 0 {
			t.Errorf("%s %s: %d %q, want 200 and an empty body", c.engine, c.path, resp.status, resp.body)
		}
	}
	if resp := do(t, "GET", urls[engine.EngineVLLM]+"/nope", ""); resp.status != 404 {
		t.Errorf("unknown vLLM path: %d", resp.status)
	}
}
