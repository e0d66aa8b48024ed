package sim

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
)

// streamCount is what a client would count in a stream: chunks that carry
// token text, and the token count the server reports.
type streamCount struct {
	chunks, reported int
	finish           string
}

func decodeObjects(t *testing.T, body []byte, ndjson bool) []map[string]any {
	t.Helper()
	split := sseEvents
	if ndjson {
		split = ndjsonLines
	}
	events, err := split(body)
	if err != nil {
		t.Fatalf("framing: %v", err)
	}
	var objs []map[string]any
	for _, ev := range events {
		if ev == "[DONE]" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(ev), &m); err != nil {
			t.Fatalf("event %q: %v", ev, err)
		}
		objs = append(objs, m)
	}
	return objs
}

func num(v any) int {
	f, _ := v.(float64)
	return int(f)
}

// countOpenAI counts chunks with non-empty content or text (role-only and
// finish-only chunks carry none) and takes the last usage object.
func countOpenAI(t *testing.T, body []byte) streamCount {
	var c streamCount
	for _, m := range decodeObjects(t, body, false) {
		if u, ok := m["usage"].(map[string]any); ok {
			c.reported = num(u["completion_tokens"])
		}
		choices, _ := m["choices"].([]any)
		if len(choices) == 0 {
			continue
		}
		ch := choices[0].(map[string]any)
		if f, ok := ch["finish_reason"].(string); ok && f != "" {
			c.finish = f
		}
		text, _ := ch["text"].(string)
		if d, ok := ch["delta"].(map[string]any); ok {
			text, _ = d["content"].(string)
		}
		if text != "" {
			c.chunks++
		}
	}
	return c
}

func countTGINative(t *testing.T, body []byte) streamCount {
	var c streamCount
	for _, m := range decodeObjects(t, body, false) {
		c.chunks++
		if d, ok := m["details"].(map[string]any); ok {
			c.reported = num(d["generated_tokens"])
			c.finish, _ = d["finish_reason"].(string)
		}
	}
	return c
}

func countOllama(t *testing.T, body []byte) streamCount {
	var c streamCount
	for _, m := range decodeObjects(t, body, true) {
		if m["done"] == true {
			c.reported = num(m["eval_count"])
			c.finish, _ = m["done_reason"].(string)
			continue
		}
		c.chunks++
	}
	return c
}

// TestOutputLengthHonoured asks every streaming endpoint for n tokens and
// expects exactly n token chunks and n in the server's own count.
func TestOutputLengthHonoured(t *testing.T) {
	const n = 13
	_, urls := startSim(t, fastOptions())
	chat := `"messages":[{"role":"user","content":"Tell me about GPUs."}]`
	cases := []struct {
		engine engine.EngineType
		path   string
		body   string
		count  func(*testing.T, []byte) streamCount
	}{
		{engine.EngineVLLM, "/v1/chat/completions", fmt.Sprintf(`{%s,"stream":true,"stream_options":{"include_usage":true},"max_completion_tokens":%d,"ignore_eos":true}`, chat, n), countOpenAI},
		{engine.EngineVLLM, "/v1/chat/completions", fmt.Sprintf(`{%s,"stream":true,"stream_options":{"continuous_usage_stats":true},"max_tokens":%d}`, chat, n), countOpenAI},
		{engine.EngineVLLM, "/v1/completions", fmt.Sprintf(`{"prompt":"GPUs are","stream":true,"stream_options":{"include_usage":true},"max_tokens":%d,"ignore_eos":true}`, n), countOpenAI},
		{engine.EngineTGI, "/generate_stream", fmt.Sprintf(`{"inputs":"GPUs are","parameters":{"max_new_tokens":%d,"details":true}}`, n), countTGINative},
		{engine.EngineTGI, "/v1/chat/completions", fmt.Sprintf(`{"model":"tgi",%s,"stream":true,"stream_options":{"include_usage":true},"max_tokens":%d}`, chat, n), countOpenAI},
		{engine.EngineTGI, "/v1/completions", fmt.Sprintf(`{"model":"tgi","prompt":"GPUs are","stream":true,"max_tokens":%d}`, n), countOpenAI},
		{engine.EngineOllama, "/api/chat", fmt.Sprintf(`{"model":"llama3.2",%s,"options":{"num_predict":%d}}`, chat, n), countOllama},
		{engine.EngineOllama, "/api/generate", fmt.Sprintf(`{"model":"llama3.2","prompt":"GPUs are","options":{"num_predict":%d}}`, n), countOllama},
		{engine.EngineOllama, "/v1/chat/completions", fmt.Sprintf(`{"model":"llama3.2",%s,"stream":true,"stream_options":{"include_usage":true},"max_tokens":%d}`, chat, n), countOpenAI},
		{engine.EngineOllama, "/v1/completions", fmt.Sprintf(`{"model":"llama3.2","prompt":"GPUs are","stream":true,"stream_options":{"include_usage":true},"max_tokens":%d}`, n), countOpenAI},
	}
	for _, tc := range cases {
		t.Run(string(tc.engine)+tc.path, func(t *testing.T) {
			resp := post(t, urls[tc.engine]+tc.path, tc.body)
			if resp.status != 200 {
				t.Fatalf("status %d: %s", resp.status, resp.body)
			}
			c := tc.count(t, resp.body)
			if c.chunks != n || c.reported != n {
				t.Errorf("%d token chunks, server reports %d; want %d of each\n%s", c.chunks, c.reported, n, resp.body)
			}
			if c.finish != "length" {
				t.Errorf("finish reason %q, want length", c.finish)
			}
		})
	}
}

// TestNonStreamedLengths checks the token counts of non-streamed answers.
func TestNonStreamedLengths(t *testing.T) {
	const n = 9
	_, urls := startSim(t, fastOptions())
	chat := `"messages":[{"role":"user","content":"hi"}]`
	cases := []struct {
		engine engine.EngineType
		path   string
		body   string
		field  string // dotted path of the count in the body
	}{
		{engine.EngineVLLM, "/v1/chat/completions", fmt.Sprintf(`{%s,"max_tokens":%d}`, chat, n), "usage.completion_tokens"},
		{engine.EngineVLLM, "/v1/completions", fmt.Sprintf(`{"prompt":"hi","max_tokens":%d}`, n), "usage.completion_tokens"},
		{engine.EngineTGI, "/generate", fmt.Sprintf(`{"inputs":"hi","parameters":{"max_new_tokens":%d,"details":true}}`, n), "details.generated_tokens"},
		{engine.EngineTGI, "/v1/chat/completions", fmt.Sprintf(`{%s,"max_tokens":%d}`, chat, n), "usage.completion_tokens"},
		{engine.EngineTGI, "/v1/completions", fmt.Sprintf(`{"prompt":"hi","max_tokens":%d}`, n), "usage.completion_tokens"},
		{engine.EngineOllama, "/api/chat", fmt.Sprintf(`{"model":"llama3.2",%s,"stream":false,"options":{"num_predict":%d}}`, chat, n), "eval_count"},
		{engine.EngineOllama, "/api/generate", fmt.Sprintf(`{"model":"llama3.2","prompt":"hi","stream":false,"options":{"num_predict":%d}}`, n), "eval_count"},
		{engine.EngineOllama, "/v1/chat/completions", fmt.Sprintf(`{"model":"llama3.2",%s,"max_tokens":%d}`, chat, n), "usage.completion_tokens"},
		{engine.EngineOllama, "/v1/completions", fmt.Sprintf(`{"model":"llama3.2","prompt":"hi","max_tokens":%d}`, n), "usage.completion_tokens"},
	}
	for _, tc := range cases {
		t.Run(string(tc.engine)+tc.path, func(t *testing.T) {
			resp := post(t, urls[tc.engine]+tc.path, tc.body)
			var m map[string]any
			if err := json.Unmarshal(resp.body, &m); err != nil || resp.status != 200 {
				t.Fatalf("status %d, body %s: %v", resp.status, resp.body, err)
			}
			var v any = m
			for _, k := range strings.Split(tc.field, ".") {
				v = v.(map[string]any)[k]
			}
			if num(v) != n {
				t.Errorf("%s = %v, want %d", tc.field, v, n)
			}
		})
	}
}

// TestNaturalStop checks EOS handling: vLLM stops early unless ignore_eos,
// TGI and Ollama cannot force length, and Ollama's unlimited num_predict
// ends as a natural stop. Ollama counts the EOS token in eval_count and
// usage but never streams it (real-ollama-0.24.0-chat-stop.ndjson).
func TestNaturalStop(t *testing.T) {
	opts := fastOptions()
	opts.Profiles = DefaultProfiles()
	for _, kind := range simulatedEngines {
		p := opts.Profiles[kind]
		p.NaturalStopTokens = 5
		opts.Profiles[kind] = p
	}
	_, urls := startSim(t, opts)
	chat := `"messages":[{"role":"user","content":"hi"}]`
	cases := []struct {
		name   string
		engine engine.EngineType
		path   string
		body   string
		count  func(*testing.T, []byte) streamCount
		want   streamCount
	}{
		{"vllm eos", engine.EngineVLLM, "/v1/chat/completions", `{` + chat + `,"stream":true,"stream_options":{},"max_tokens":20}`, countOpenAI, streamCount{4, 5, "stop"}},
		{"vllm ignore_eos", engine.EngineVLLM, "/v1/chat/completions", `{` + chat + `,"stream":true,"stream_options":{},"max_tokens":20,"ignore_eos":true}`, countOpenAI, streamCount{20, 20, "length"}},
		{"vllm min_tokens", engine.EngineVLLM, "/v1/completions", `{"prompt":"hi","stream":true,"stream_options":{},"max_tokens":20,"min_tokens":8}`, countOpenAI, streamCount{7, 8, "stop"}},
		{"vllm max below stop", engine.EngineVLLM, "/v1/completions", `{"prompt":"hi","stream":true,"stream_options":{},"max_tokens":3}`, countOpenAI, streamCount{3, 3, "length"}},
		{"tgi ignores ignore_eos", engine.EngineTGI, "/generate_stream", `{"inputs":"hi","ignore_eos":true,"parameters":{"max_new_tokens":20,"details":true}}`, countTGINative, streamCount{5, 5, "eos_token"}},
		{"tgi chat", engine.EngineTGI, "/v1/chat/completions", `{` + chat + `,"stream":true,"stream_options":{"include_usage":true},"max_tokens":20}`, countOpenAI, streamCount{4, 5, "stop"}},
		{"tgi completions", engine.EngineTGI, "/v1/completions", `{"prompt":"hi","stream":true,"max_tokens":20}`, countOpenAI, streamCount{4, 5, "eos_token"}},
		{"ollama unlimited", engine.EngineOllama, "/api/chat", `{"model":"llama3.2",` + chat + `}`, countOllama, streamCount{5, 6, "stop"}},
		{"ollama capped", engine.EngineOllama, "/api/generate", `{"model":"llama3.2","prompt":"hi","options":{"num_predict":3}}`, countOllama, streamCount{3, 3, "length"}},
		{"ollama openai", engine.EngineOllama, "/v1/chat/completions", `{"model":"llama3.2",` + chat + `,"stream":true,"stream_options":{"include_usage":true},"max_tokens":20}`, countOpenAI, streamCount{5, 6, "stop"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := post(t, urls[tc.engine]+tc.path, tc.body)
			if got := tc.count(t, resp.body); got != tc.want {
				t.Errorf("got %+v, want %+v\n%s", got, tc.want, resp.body)
			}
		})
	}

	// TGI's native EOS token is special and stays out of generated_text.
	objs := decodeObjects(t, post(t, urls[engine.EngineTGI]+"/generate_stream", `{"inputs":"hi","parameters":{"max_new_tokens":20}}`).body, false)
	last := objs[len(objs)-1]
	if tok := last["token"].(map[string]any); tok["special"] != true {
		t.Errorf("last token %v is not special", tok)
	}
	if gt, _ := last["generated_text"].(string); strings.Contains(gt, "<|") {
		t.Errorf("generated_text %q contains the EOS token", gt)
	}
}

// TestOllamaUnlimitedDefault checks that num_predict -1 stops at the
// simulator's cap when no natural stop is configured.
func TestOllamaUnlimitedDefault(t *testing.T) {
	_, urls := startSim(t, fastOptions())
	c := countOllama(t, post(t, urls[engine.EngineOllama]+"/api/generate", `{"model":"llama3.2","prompt":"hi","options":{"num_predict":-1}}`).body)
	if c != (streamCount{ollamaUnlimitedTokens, ollamaUnlimitedTokens + 1, "stop"}) {
		t.Errorf("got %+v, want %d tokens ending in stop", c, ollamaUnlimitedTokens)
	}
}
