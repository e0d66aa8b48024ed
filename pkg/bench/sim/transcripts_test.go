package sim

import (
	"bytes"
	"strings"
	"testing"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
)

const (
	vllmModel   = "meta-llama/Llama-3.1-8B-Instruct"
	helloChat   = `"messages":[{"role":"user","content":"Hello there, how are you today?"}]`
	ollamaModel = "llama3.2"
)

// withNaturalStop makes an engine end with EOS after n tokens, as the
// transcripts that end in "stop" / "eos_token" do.
func withNaturalStop(kind engine.EngineType, n int) Options {
	o := fastOptions()
	o.Profiles = profilesWith(kind, func(p *Profile) { p.NaturalStopTokens = n })
	return o
}

// TestStreamsMatchTranscripts sends each request a transcript was captured
// with and compares the simulator's stream with it event by event: framing
// bytes, key order, nulls and value types.
func TestStreamsMatchTranscripts(t *testing.T) {
	cases := []struct {
		transcript  string
		engine      engine.EngineType
		path        string
		body        string
		natural     int // NaturalStopTokens, 0 = run to the maximum
		contentType string
	}{
		{
			transcript: "vllm-chat-stream.sse", engine: engine.EngineVLLM, path: "/v1/chat/completions",
			body:        `{"model":"` + vllmModel + `",` + helloChat + `,"stream":true,"stream_options":{"include_usage":true},"max_completion_tokens":8,"ignore_eos":true,"temperature":0}`,
			contentType: "text/event-stream; charset=utf-8",
		},
		{
			transcript: "vllm-chat-stream-continuous-usage.sse", engine: engine.EngineVLLM, path: "/v1/chat/completions",
			body:        `{` + helloChat + `,"stream":true,"stream_options":{"continuous_usage_stats":true},"max_tokens":8,"ignore_eos":true}`,
			contentType: "text/event-stream; charset=utf-8",
		},
		{
			transcript: "vllm-completions-stream.sse", engine: engine.EngineVLLM, path: "/v1/completions",
			body:        `{"model":"` + vllmModel + `","prompt":"The capital of France is","stream":true,"stream_options":{"include_usage":true},"max_tokens":8,"ignore_eos":true}`,
			contentType: "text/event-stream; charset=utf-8",
		},
		{
			transcript: "tgi-generate-stream.sse", engine: engine.EngineTGI, path: "/generate_stream",
			body:        `{"inputs":"Test request","parameters":{"max_new_tokens":10,"details":true}}`,
			contentType: "text/event-stream",
		},
		{
			transcript: "tgi-chat-stream.sse", engine: engine.EngineTGI, path: "/v1/chat/completions", natural: 3,
			body:        `{"model":"tgi",` + helloChat + `,"stream":true,"stream_options":{"include_usage":true},"max_tokens":20}`,
			contentType: "text/event-stream",
		},
		{
			transcript: "tgi-chat-stream-length.sse", engine: engine.EngineTGI, path: "/v1/chat/completions",
			body:        `{"model":"tgi",` + helloChat + `,"stream":true,"max_tokens":8}`,
			contentType: "text/event-stream",
		},
		{
			transcript: "tgi-completions-stream.sse", engine: engine.EngineTGI, path: "/v1/completions",
			body:        `{"model":"tgi","prompt":"What is the capital of France?","stream":true,"max_tokens":8}`,
			contentType: "text/event-stream",
		},
		{
			transcript: "ollama-chat.ndjson", engine: engine.EngineOllama, path: "/api/chat", natural: 7,
			body:        `{"model":"` + ollamaModel + `","messages":[{"role":"user","content":"Why is the sky blue?"}]}`,
			contentType: "application/x-ndjson",
		},
		{
			transcript: "ollama-chat-length.ndjson", engine: engine.EngineOllama, path: "/api/chat",
			body:        `{"model":"` + ollamaModel + `","messages":[{"role":"user","content":"Why is the sky blue?"}],"stream":true,"options":{"num_predict":4}}`,
			contentType: "application/x-ndjson",
		},
		{
			transcript: "ollama-generate.ndjson", engine: engine.EngineOllama, path: "/api/generate", natural: 7,
			body:        `{"model":"` + ollamaModel + `","prompt":"Why is the sky blue?"}`,
			contentType: "application/x-ndjson",
		},
		{
			transcript: "ollama-openai-chat-stream.sse", engine: engine.EngineOllama, path: "/v1/chat/completions", natural: 7,
			body:        `{"model":"` + ollamaModel + `","messages":[{"role":"user","content":"Why is the sky blue?"}],"stream":true,"stream_options":{"include_usage":true}}`,
			contentType: "text/event-stream",
		},
		{
			transcript: "real-ollama-0.24.0-openai-completions-stream.sse", engine: engine.EngineOllama, path: "/v1/completions",
			body:        `{"model":"` + ollamaModel + `","prompt":"Say something","stream":true,"max_tokens":16}`,
			contentType: "text/event-stream",
		},
	}
	for _, tc := range cases {
		t.Run(tc.transcript, func(t *testing.T) {
			want := readTranscript(t, tc.transcript)
			_, urls := startSim(t, withNaturalStop(tc.engine, tc.natural))
			resp := post(t, urls[tc.engine]+tc.path, tc.body)
			if resp.status != 200 {
				t.Fatalf("status %d: %s", resp.status, resp.body)
			}
			if ct := resp.header.Get("Content-Type"); ct != tc.contentType {
				t.Errorf("Content-Type %q, want %q", ct, tc.contentType)
			}
			split := sseEvents
			if strings.HasSuffix(tc.transcript, ".ndjson") {
				split = ndjsonLines
			}
			wantEvents, err := split(want)
			if err != nil {
				t.Fatalf("transcript framing: %v", err)
			}
			gotEvents, err := split(resp.body)
			if err != nil {
				t.Fatalf("simulator framing: %v", err)
			}
			if len(gotEvents) != len(wantEvents) {
				t.Fatalf("%d events, transcript has %d\n got: %s", len(gotEvents), len(wantEvents), resp.body)
			}
			for i := range wantEvents {
				if wantEvents[i] == "[DONE]" || gotEvents[i] == "[DONE]" {
					if gotEvents[i] != wantEvents[i] {
						t.Errorf("event %d is %q, transcript has %q", i, gotEvents[i], wantEvents[i])
					}
					continue
				}
				sameShape(t, tc.transcript+" event "+itoa(i), gotEvents[i], wantEvents[i])
			}
		})
	}
}

func itoa(i int) string { return string(appendInt(nil, int64(i))) }

// TestBodiesMatchTranscriptsExactly covers bodies whose every byte is
// determined by the request: errors and fixed server information.
func TestBodiesMatchTranscriptsExactly(t *testing.T) {
	longInput := strings.Repeat("a", 8000*4)
	// 7996 tokens of content plus the template's 4 make 8000 prompt tokens.
	longChat := `"messages":[{"role":"user","content":"` + strings.Repeat("a", 7996*4) + `"}]`
	cases := []struct {
		transcript   string
		engine       engine.EngineType
		method, path string
		body         string
		status       int
	}{
		{"vllm-error-404-model.json", engine.EngineVLLM, "POST", "/v1/chat/completions", `{"model":"gpt-4o",` + helloChat + `,"stream":true}`, 404},
		{"vllm-error-404-model.json", engine.EngineVLLM, "POST", "/v1/completions", `{"model":"gpt-4o","prompt":"hi"}`, 404},
		{"vllm-version.json", engine.EngineVLLM, "GET", "/version", "", 200},
		{"tgi-info.json", engine.EngineTGI, "GET", "/info", "", 200},
		{"tgi-v1-models.json", engine.EngineTGI, "GET", "/v1/models", "", 200},
		{"tgi-generate-stream-error-validation.sse", engine.EngineTGI, "POST", "/generate_stream", `{"inputs":"` + longInput + `","parameters":{"max_new_tokens":512}}`, 200},
		{"tgi-error-422.json", engine.EngineTGI, "POST", "/generate", `{"inputs":"` + longInput + `","parameters":{"max_new_tokens":512}}`, 422},
		{"tgi-chat-stream-error.sse", engine.EngineTGI, "POST", "/v1/chat/completions", `{"model":"tgi",` + longChat + `,"stream":true,"max_tokens":512}`, 200},
		{"ollama-error-404.json", engine.EngineOllama, "POST", "/api/chat", `{"model":"llama9","messages":[{"role":"user","content":"hi"}]}`, 404},
		{"ollama-error-404.json", engine.EngineOllama, "POST", "/api/generate", `{"model":"llama9","prompt":"hi"}`, 404},
		{"ollama-openai-error-404.json", engine.EngineOllama, "POST", "/v1/chat/completions", `{"model":"llama9","messages":[{"role":"user","content":"hi"}],"stream":true}`, 404},
		{"ollama-version.json", engine.EngineOllama, "GET", "/api/version", "", 200},
		{"ollama-root.txt", engine.EngineOllama, "GET", "/", "", 200},
	}
	_, urls := startSim(t, fastOptions())
	for _, tc := range cases {
		t.Run(tc.transcript+" "+tc.path, func(t *testing.T) {
			want := bytes.TrimSuffix(readTranscript(t, tc.transcript), []byte("\n"))
			if strings.HasSuffix(tc.transcript, ".sse") || strings.Contains(tc.transcript, "openai-error") {
				// Ollama's OpenAI middleware ends bodies with json.Encoder's newline.
				want = readTranscript(t, tc.transcript)
			}
			resp := do(t, tc.method, urls[tc.engine]+tc.path, tc.body)
			if resp.status != tc.status {
				t.Errorf("status %d, want %d", resp.status, tc.status)
			}
			if !bytes.Equal(resp.body, want) {
				t.Errorf("body differs from the transcript\n got: %q\nwant: %q", resp.body, want)
			}
		})
	}
}

// TestBodiesMatchTranscriptShapes covers whole JSON bodies whose values
// vary (ids, times, text) but whose shape must not.
func TestBodiesMatchTranscriptShapes(t *testing.T) {
	cases := []struct {
		transcript   string
		engine       engine.EngineType
		method, path string
		body         string
		natural      int
	}{
		{"vllm-models.json", engine.EngineVLLM, "GET", "/v1/models", "", 0},
		{"vllm-error-400.json", engine.EngineVLLM, "POST", "/v1/chat/completions", `{` + helloChat + `,"stream":false,"stream_options":{"include_usage":true}}`, 0},
		{"tgi-generate.json", engine.EngineTGI, "POST", "/generate", `{"inputs":"Test request","parameters":{"max_new_tokens":10,"details":true}}`, 0},
		{"tgi-generate-nodetails.json", engine.EngineTGI, "POST", "/generate", `{"inputs":"Test request","parameters":{"max_new_tokens":10}}`, 0},
		{"tgi-chat-completion.json", engine.EngineTGI, "POST", "/v1/chat/completions", `{"model":"tgi",` + helloChat + `,"max_tokens":20}`, 3},
		{"ollama-tags.json", engine.EngineOllama, "GET", "/api/tags", "", 0},
		{"ollama-openai-models.json", engine.EngineOllama, "GET", "/v1/models", "", 0},
		{"ollama-generate-nostream.json", engine.EngineOllama, "POST", "/api/generate", `{"model":"llama3.2","prompt":"Hello","stream":false}`, 18},
		{"real-ollama-0.24.0-chat-nostream.json", engine.EngineOllama, "POST", "/api/chat", `{"model":"llama3.2:latest","messages":[{"role":"user","content":"hi"}],"stream":false,"options":{"num_predict":16}}`, 0},
		{"real-ollama-0.24.0-openai-chat.json", engine.EngineOllama, "POST", "/v1/chat/completions", `{"model":"llama3.2","messages":[{"role":"user","content":"hi"}],"max_tokens":16}`, 0},
	}
	for _, tc := range cases {
		t.Run(tc.transcript, func(t *testing.T) {
			want := readTranscript(t, tc.transcript)
			_, urls := startSim(t, withNaturalStop(tc.engine, tc.natural))
			resp := do(t, tc.method, urls[tc.engine]+tc.path, tc.body)
			sameShape(t, tc.transcript, string(resp.body), string(bytes.TrimSpace(want)))
		})
	}
}

// TestOllamaPSShowsLoadedModel checks /api/ps before and after the model
// load against transcripts/real-ollama-0.24.0-ps-empty.json and ollama-ps.json.
func TestOllamaPSShowsLoadedModel(t *testing.T) {
	empty := bytes.TrimSpace(readTranscript(t, "real-ollama-0.24.0-ps-empty.json"))
	loaded := readTranscript(t, "ollama-ps.json")
	_, urls := startSim(t, fastOptions())
	base := urls[engine.EngineOllama]
	if got := do(t, "GET", base+"/api/ps", "").body; !bytes.Equal(got, empty) {
		t.Errorf("before any request /api/ps = %s, want %s", got, empty)
	}
	if r := post(t, base+"/api/chat", `{"model":"llama3.2","messages":[{"role":"user","content":"hi"}],"options":{"num_predict":2}}`); r.status != 200 {
		t.Fatalf("chat: %d %s", r.status, r.body)
	}
	sameShape(t, "ollama-ps.json", string(do(t, "GET", base+"/api/ps", "").body), string(bytes.TrimSpace(loaded)))
}
