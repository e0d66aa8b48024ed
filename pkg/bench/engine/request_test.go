package engine

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

// obj is a decoded JSON object; numbers decode as float64.
type obj = map[string]any

// TestBody pins each engine's request dialect, whole: a key that appears
// or disappears fails the test (wire-formats.md §1.4, §2.4, §2.5, §3.3).
func TestBody(t *testing.T) {
	msgs := []Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "Hi"}}
	jsonMsgs := []any{obj{"role": "system", "content": "Be brief."}, obj{"role": "user", "content": "Hi"}}
	seed := int64(42)
	greedy := Request{Messages: msgs, MaxTokens: 128}
	sampled := Request{Messages: msgs, MaxTokens: 64, Temperature: 0.7, Seed: &seed}
	usage := obj{"include_usage": true}

	tests := []struct {
		name string
		typ  EngineType
		api  API
		req  Request
		want obj
	}{
		{"vllm chat", EngineVLLM, APIChat, greedy, obj{
			"model": "m", "messages": jsonMsgs, "stream": true, "max_tokens": 128.0, "temperature": 0.0,
			"ignore_eos": true, "stream_options": usage}},
		{"vllm chat seeded", EngineVLLM, APIChat, sampled, obj{
			"model": "m", "messages": jsonMsgs, "stream": true, "max_tokens": 64.0, "temperature": 0.7, "seed": 42.0,
			"ignore_eos": true, "stream_options": usage}},
		{"vllm completions", EngineVLLM, APICompletions, greedy, obj{
			"model": "m", "prompt": "Be brief.\n\nHi", "stream": true, "max_tokens": 128.0, "temperature": 0.0,
			"ignore_eos": true, "stream_options": usage}},
		{"openai chat has no vLLM extensions", EngineOpenAI, APIChat, greedy, obj{
			"model": "m", "messages": jsonMsgs, "stream": true, "max_tokens": 128.0, "temperature": 0.0,
			"stream_options": usage}},
		{"openai completions", EngineOpenAI, APICompletions, sampled, obj{
			"model": "m", "prompt": "Be brief.\n\nHi", "stream": true, "max_tokens": 64.0, "temperature": 0.7, "seed": 42.0,
			"stream_options": usage}},
		{"tgi chat sends model tgi", EngineTGI, APIChat, greedy, obj{
			"model": "tgi", "messages": jsonMsgs, "stream": true, "max_tokens": 128.0, "temperature": 0.0,
			"stream_options": usage}},
		{"tgi completions", EngineTGI, APICompletions, greedy, obj{
			"model": "tgi", "prompt": "Be brief.\n\nHi", "stream": true, "max_tokens": 128.0, "temperature": 0.0}},
		{"tgi generate_stream greedy", EngineTGI, APIGenerateStream, greedy, obj{
			"inputs": "Be brief.\n\nHi", "parameters": obj{"max_new_tokens": 128.0, "details": true}}},
		{"tgi generate_stream sampled", EngineTGI, APIGenerateStream, sampled, obj{
			"inputs": "Be brief.\n\nHi", "parameters": obj{"max_new_tokens": 64.0, "details": true,
				"temperature": 0.7, "do_sample": true, "seed": 42.0}}},
		{"ollama native chat", EngineOllama, APIOllamaChat, greedy, obj{
			"model": "m", "messages": jsonMsgs, "stream": true, "think": false,
			"options": obj{"num_predict": 128.0, "temperature": 0.0}}},
		{"ollama native generate", EngineOllama, APIOllamaGenerate, sampled, obj{
			"model": "m", "prompt": "Be brief.\n\nHi", "stream": true, "think": false,
			"options": obj{"num_predict": 64.0, "temperature": 0.7, "seed": 42.0}}},
		{"ollama /v1 chat", EngineOllama, APIChat, greedy, obj{
			"model": "m", "messages": jsonMsgs, "stream": true, "max_tokens": 128.0, "temperature": 0.0,
			"stream_options": usage}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Body(Target{Name: "x", Type: tc.typ, API: tc.api, Model: "m"}, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			var got obj
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatalf("body is not JSON: %v\n%s", err, b)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("body\n got %s\nwant %s", b, mustJSON(tc.want))
			}
		})
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestBodyOmitsModelWhenUnknown(t *testing.T) {
	// vLLM accepts a missing model (it serves its only one); an empty string
	// would be a 404.
	b, err := Body(Target{Type: EngineVLLM, API: APIChat}, Request{MaxTokens: 1})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), `"model"`) {
		t.Errorf("body has a model key: %s", b)
	}
}

func TestBodyUnsupportedAPI(t *testing.T) {
	if _, err := Body(Target{Name: "x", Type: EngineVLLM, API: "bogus"}, Request{}); err == nil || !strings.Contains(err.Error(), `"x"`) {
		t.Fatalf("err = %v, want an error naming the target", err)
	}
}

func TestBodyPrompt(t *testing.T) {
	one := Request{Messages: []Message{{Role: "user", Content: "only"}}}
	if p := one.Prompt(); p != "only" {
		t.Errorf("Prompt() = %q", p)
	}
	if p := (Request{}).Prompt(); p != "" {
		t.Errorf("empty Prompt() = %q", p)
	}
}

// TestBodyHTTPRequest checks the request on the wire: path, headers, and
// that the API key appears in the Authorization header and nowhere else.
func TestBodyHTTPRequest(t *testing.T) {
	const key = "sk-very-secret-key"
	type seen struct {
		path, auth, accept, ctype, query string
		body                             []byte
	}
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("Accept"), r.Header.Get("Content-Type"), r.URL.RawQuery, b}
		http.Error(w, "no", http.StatusTeapot)
	}))
	defer srv.Close()

	tests := []struct {
		typ    EngineType
		api    API
		key    string
		accept string
	}{
		{EngineVLLM, APIChat, key, "text/event-stream"},
		{EngineVLLM, APICompletions, "", "text/event-stream"},
		{EngineTGI, APIGenerateStream, key, "text/event-stream"},
		{EngineOllama, APIOllamaChat, key, "application/x-ndjson"},
		{EngineOllama, APIOllamaGenerate, "", "application/x-ndjson"},
	}
	for _, tc := range tests {
		t.Run(string(tc.api), func(t *testing.T) {
			c := &Client{HTTP: srv.Client(), Target: Target{Name: "x", Type: tc.typ, API: tc.api, BaseURL: srv.URL + "/", Model: "m", APIKey: tc.key}, Timeout: 5 * time.Second, Clock: NewClock()}
			var rec Record
			c.Do(context.Background(), Request{Messages: []Message{{Role: "user", Content: "hi"}}, MaxTokens: 4}, time.Now(), &rec)
			s := <-got
			if s.path != tc.api.Path() {
				t.Errorf("path = %q, want %q", s.path, tc.api.Path())
			}
			if s.accept != tc.accept || s.ctype != "application/json" {
				t.Errorf("Accept %q Content-Type %q", s.accept, s.ctype)
			}
			wantAuth := ""
			if tc.key != "" {
				wantAuth = "Bearer " + key
			}
			if s.auth != wantAuth {
				t.Errorf("Authorization = %q, want %q", s.auth, wantAuth)
			}
			if strings.Contains(string(s.body), key) || strings.Contains(s.query, key) || strings.Contains(rec.Error, key) {
				t.Error("the API key leaked outside the Authorization header")
			}
			if rec.HTTPStatus != http.StatusTeapot || rec.ErrorClass != ErrHTTP4xx {
				t.Errorf("status %d class %q", rec.HTTPStatus, rec.ErrorClass)
			}
		})
	}
}
