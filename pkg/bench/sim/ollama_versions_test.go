package sim

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
)

// tinyOllama imitates a real Ollama of the given version serving the tiny
// test models (test/ollama/gguf) the transcripts real-ollama-* were
// captured from.
func tinyOllama(version string, stopAfter int) Options {
	return Options{Seed: 7, Profiles: map[engine.EngineType]Profile{engine.EngineOllama: {
		Version: version,
		Models: []Model{
			{Name: "tiny", BytePrompt: true},
			{Name: "tiny-stop", BytePrompt: true, NaturalStopTokens: stopAfter},
		},
		DecodePerToken: 10 * time.Microsecond,
		MaxBatch:       1,
	}}}
}

// finalValues reads the counts and reasons of the last JSON event.
func finalValues(t *testing.T, event string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(event), &m); err != nil {
		t.Fatalf("%v: %s", err, event)
	}
	out := map[string]any{}
	for _, k := range []string{"done", "done_reason", "prompt_eval_count", "eval_count", "usage"} {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	if ctx, ok := m["context"].([]any); ok {
		out["context_len"] = len(ctx)
	}
	if ch, ok := m["choices"].([]any); ok && len(ch) > 0 {
		c := ch[0].(map[string]any)
		out["finish_reason"] = c["finish_reason"]
		if d, ok := c["delta"].(map[string]any); ok {
			keys := make([]string, 0, len(d))
			for k := range d {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			out["delta_keys"] = keys
		}
	}
	return out
}

// TestOllamaVersionsMatchRealTranscripts replays the requests the real
// v0.11.4 and v0.24.0 transcripts were captured with against a simulator
// of that version: same events, same shapes, same counts and reasons.
func TestOllamaVersionsMatchRealTranscripts(t *testing.T) {
	chat := func(model string, n int, extra string) string {
		return `{"model":"` + model + `","messages":[{"role":"user","content":"hi"}]` + extra + `,"options":{"num_predict":` + itoa(n) + `}}`
	}
	openai := func(n int, extra string) string {
		return `{"model":"tiny","messages":[{"role":"user","content":"hi"}],"max_tokens":` + itoa(n) + extra + `}`
	}
	cases := []struct {
		file, path, body string
		versions         []string
	}{
		{"chat.ndjson", "/api/chat", chat("tiny", 64, ""), []string{"0.11.4", "0.24.0"}},
		{"chat-nostream.json", "/api/chat", chat("tiny", 16, `,"stream":false`), []string{"0.11.4", "0.24.0"}},
		{"chat-stop.ndjson", "/api/chat", chat("tiny-stop", 512, ""), []string{"0.24.0"}},
		{"generate.ndjson", "/api/generate", `{"model":"tiny","prompt":"hi","options":{"num_predict":64}}`, []string{"0.11.4", "0.24.0"}},
		{"openai-chat-stream.sse", "/v1/chat/completions", openai(64, `,"stream":true`), []string{"0.11.4", "0.24.0"}},
		{"openai-chat-stream-usage.sse", "/v1/chat/completions", openai(16, `,"stream":true,"stream_options":{"include_usage":true}`), []string{"0.11.4", "0.24.0"}},
		{"openai-chat-stream-stop.sse", "/v1/chat/completions", strings.Replace(openai(512, `,"stream":true,"stream_options":{"include_usage":true}`), `"tiny"`, `"tiny-stop"`, 1), []string{"0.24.0"}},
		{"openai-completions-stream.sse", "/v1/completions", `{"model":"tiny","prompt":"hi","max_tokens":16,"stream":true}`, []string{"0.11.4", "0.24.0"}},
		{"openai-chat.json", "/v1/chat/completions", openai(16, ""), []string{"0.11.4", "0.24.0"}},
	}
	for _, tc := range cases {
		for _, v := range tc.versions {
			t.Run(v+"/"+tc.file, func(t *testing.T) {
				want := readTranscript(t, "real-ollama-"+v+"-"+tc.file)
				// The captured tiny-stop answers stopped after 25 and 2
				// tokens (eval_count 26 and usage 3).
				stop := 25
				if strings.Contains(tc.file, "openai") {
					stop = 2
				}
				_, urls := startSim(t, tinyOllama(v, stop))
				resp := post(t, urls[engine.EngineOllama]+tc.path, tc.body)
				if resp.status != 200 {
					t.Fatalf("status %d: %s", resp.status, resp.body)
				}
				split := func(b []byte) ([]string, error) { return []string{string(bytes.TrimSpace(b))}, nil }
				switch {
				case strings.HasSuffix(tc.file, ".sse"):
					split = sseEvents
				case strings.HasSuffix(tc.file, ".ndjson"):
					split = ndjsonLines
				case strings.Contains(tc.file, "openai"):
					// The OpenAI middleware's json.Encoder ends the body
					// with a newline.
					if !bytes.HasSuffix(resp.body, []byte("\n")) || !bytes.HasSuffix(want, []byte("\n")) {
						t.Errorf("body without the trailing newline: %q", resp.body)
					}
				}
				we, err := split(want)
				if err != nil {
					t.Fatal(err)
				}
				ge, err := split(resp.body)
				if err != nil {
					t.Fatal(err)
				}
				if len(ge) != len(we) {
					t.Fatalf("%d events, transcript has %d\n%s", len(ge), len(we), resp.body)
				}
				for i := range we {
					if we[i] == "[DONE]" || ge[i] == "[DONE]" {
						if ge[i] != we[i] {
							t.Errorf("event %d is %q, want %q", i, ge[i], we[i])
						}
						continue
					}
					sameShape(t, "event "+itoa(i), ge[i], we[i])
				}
				// Counts and reasons of the end, and the first delta.
				for _, i := range []int{0, len(we) - 1, len(we) - 2, len(we) - 3} {
					if i < 0 || we[i] == "[DONE]" {
						continue
					}
					g, w := finalValues(t, ge[i]), finalValues(t, we[i])
					if gb, _ := json.Marshal(g); string(gb) != string(mustJSON(t, w)) {
						t.Errorf("event %d: %s, transcript %s", i, gb, mustJSON(t, w))
					}
				}
			})
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestOllamaVersionsExactBodies covers the bodies that are the same bytes
// on every request: errors and the version.
func TestOllamaVersionsExactBodies(t *testing.T) {
	for _, v := range []string{"0.11.4", "0.24.0"} {
		_, urls := startSim(t, tinyOllama(v, 0))
		base := urls[engine.EngineOllama]
		cases := []struct {
			file, method, path, body, contentType string
			status                                int
		}{
			{"version.json", "GET", "/api/version", "", "application/json; charset=utf-8", 200},
			{"ps-empty.json", "GET", "/api/ps", "", "application/json; charset=utf-8", 200},
			{"error-404.json", "POST", "/api/chat", `{"model":"nosuch","messages":[{"role":"user","content":"hi"}]}`, "application/json; charset=utf-8", 404},
			{"openai-error-404.json", "POST", "/v1/chat/completions", `{"model":"nosuch","messages":[{"role":"user","content":"hi"}],"stream":true}`, "application/json", 404},
		}
		for _, tc := range cases {
			t.Run(v+"/"+tc.file, func(t *testing.T) {
				want := readTranscript(t, "real-ollama-"+v+"-"+tc.file)
				if !strings.Contains(tc.file, "openai") {
					want = bytes.TrimSuffix(want, []byte("\n"))
				}
				resp := do(t, tc.method, base+tc.path, tc.body)
				if resp.status != tc.status || resp.header.Get("Content-Type") != tc.contentType {
					t.Errorf("%d %q, want %d %q", resp.status, resp.header.Get("Content-Type"), tc.status, tc.contentType)
				}
				if !bytes.Equal(resp.body, want) {
					t.Errorf("body\n got: %q\nwant: %q", resp.body, want)
				}
			})
		}
	}
}

// TestOllamaServesSeveralModels: /api/tags and /v1/models list every model
// in order (real-ollama-0.24.0-tags-both.json), each model loads on its
// own first request, stops where it is configured to, and an unknown model
// gets the version's 404 on each endpoint (captured from v0.11.4).
func TestOllamaServesSeveralModels(t *testing.T) {
	opts := tinyOllama("0.11.4", 5)
	p := opts.Profiles[engine.EngineOllama]
	p.ColdLoad = 30 * time.Millisecond
	opts.Profiles[engine.EngineOllama] = p
	_, urls := startSim(t, opts)
	base := urls[engine.EngineOllama]

	sameShape(t, "tags", string(do(t, "GET", base+"/api/tags", "").body), string(bytes.TrimSpace(readTranscript(t, "real-ollama-0.24.0-tags-both.json"))))
	var tags struct {
		Models []struct{ Name, Digest string }
	}
	if err := json.Unmarshal(do(t, "GET", base+"/api/tags", "").body, &tags); err != nil {
		t.Fatal(err)
	}
	if len(tags.Models) != 2 || tags.Models[0].Name != "tiny:latest" || tags.Models[1].Name != "tiny-stop:latest" || tags.Models[0].Digest == tags.Models[1].Digest {
		t.Errorf("tags %+v, want tiny:latest and tiny-stop:latest with their own digests", tags.Models)
	}
	models := do(t, "GET", base+"/v1/models", "")
	if got := string(models.body); !strings.Contains(got, `"id":"tiny:latest"`) || !strings.Contains(got, `"id":"tiny-stop:latest"`) || models.header.Get("Content-Type") != "application/json" {
		t.Errorf("/v1/models: %s %s", models.header.Get("Content-Type"), got)
	}

	loads := map[string]float64{}
	for _, m := range []string{"tiny", "tiny-stop:latest", "tiny"} {
		lines := decodeObjects(t, post(t, base+"/api/chat", `{"model":"`+m+`","messages":[{"role":"user","content":"hello there"}],"options":{"num_predict":20}}`).body, true)
		last := lines[len(lines)-1]
		want := map[string]any{"done_reason": "length", "eval_count": 20.0, "prompt_eval_count": 13.0}
		if strings.HasPrefix(m, "tiny-stop") {
			want = map[string]any{"done_reason": "stop", "eval_count": 6.0, "prompt_eval_count": 13.0}
			if len(lines) != 6 {
				t.Errorf("tiny-stop streamed %d lines, want 5 tokens and the done line", len(lines))
			}
		}
		for k, v := range want {
			if last[k] != v {
				t.Errorf("%s: %s = %v, want %v", m, k, last[k], v)
			}
		}
		if _, ok := loads[m]; !ok {
			loads[m] = last["load_duration"].(float64)
		}
	}
	if loads["tiny"] < 25e6 || loads["tiny-stop:latest"] < 25e6 {
		t.Errorf("load_duration of the first requests %v, want each model's own cold load", loads)
	}
	sameShape(t, "ps", string(do(t, "GET", base+"/api/ps", "").body), string(bytes.TrimSpace(readTranscript(t, "real-ollama-0.11.4-ps.json"))))
	if ps := string(do(t, "GET", base+"/api/ps", "").body); strings.Index(ps, `"tiny:latest"`) > strings.Index(ps, `"tiny-stop:latest"`) {
		t.Errorf("/api/ps lists the most recently used model first: %s", ps)
	}

	for _, tc := range []struct{ path, body, want string }{
		{"/api/chat", `{"model":"nosuch","messages":[{"role":"user","content":"hi"}]}`, `{"error":"model \"nosuch\" not found, try pulling it first"}`},
		{"/api/generate", `{"model":"nosuch","prompt":"hi"}`, `{"error":"model 'nosuch' not found"}`},
		{"/v1/chat/completions", `{"model":"nosuch","messages":[{"role":"user","content":"hi"}]}`, `{"error":{"message":"model \"nosuch\" not found, try pulling it first","type":"api_error","param":null,"code":null}}` + "\n"},
		{"/v1/completions", `{"model":"nosuch","prompt":"hi"}`, `{"error":{"message":"model 'nosuch' not found","type":"api_error","param":null,"code":null}}` + "\n"},
	} {
		if r := post(t, base+tc.path, tc.body); r.status != 404 || string(r.body) != tc.want {
			t.Errorf("%s: %d %s, want 404 %s", tc.path, r.status, r.body, tc.want)
		}
	}
}

func TestVersionBefore(t *testing.T) {
	for _, tc := range []struct {
		v, than string
		want    bool
	}{
		{"0.11.4", "0.12.0", true}, {"0.12.0", "0.12.0", false}, {"0.32.15", "0.32.6", false},
		{"0.24.0", "0.32.6", true}, {"v0.11.10", "0.11.9", false}, {"0.32.6-rc1", "0.32.6", false},
	} {
		if got := versionBefore(tc.v, tc.than); got != tc.want {
			t.Errorf("versionBefore(%q, %q) = %v", tc.v, tc.than, got)
		}
	}
}
