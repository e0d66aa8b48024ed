package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Message is one chat turn.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Request is what to ask, independent of any engine. Each engine's dialect
// turns it into its own body so that output length is controlled the same
// way everywhere it can be.
type Request struct {
	Messages    []Message
	MaxTokens   int
	Temperature float64
	// Seed is sent when non-nil.
	Seed *int64
	// PromptTokens is the length the prompt was shaped to in the
	// engine's own tokenizer (0: not shaped); the record compares it with
	// the engine's count.
	PromptTokens int
}

// Prompt flattens the messages for prompt-only APIs (/v1/completions,
// /generate_stream, /api/generate), which apply no chat template.
func (r Request) Prompt() string {
	if len(r.Messages) == 1 {
		return r.Messages[0].Content
	}
	parts := make([]string, 0, len(r.Messages))
	for _, m := range r.Messages {
		parts = append(parts, m.Content)
	}
	return strings.Join(parts, "\n\n")
}

// Body builds the JSON request body for a target. It is a pure function of
// its inputs so tests can pin each engine's dialect.
func Body(t Target, r Request) ([]byte, error) {
	var body map[string]any
	switch t.API {
	case APIChat, APICompletions:
		body = map[string]any{"stream": true, "max_tokens": r.MaxTokens, "temperature": r.Temperature}
		if t.API == APIChat {
			body["messages"] = r.Messages
		} else {
			body["prompt"] = r.Prompt()
		}
		if t.Model != "" {
			body["model"] = t.Model
		}
		switch t.Type {
		case EngineVLLM:
			// ignore_eos makes the output exactly max_tokens long, the way
			// vllm bench serve --ignore-eos does (wire-formats.md §1.4).
			body["ignore_eos"] = true
			body["stream_options"] = map[string]any{"include_usage": true}
		case EngineTGI:
			// TGI maps a model name to a LoRA adapter id; "tgi" always
			// means the base model (wire-formats.md §2.4).
			body["model"] = "tgi"
			if t.API == APIChat {
				body["stream_options"] = map[string]any{"include_usage": true}
			}
		default:
			body["stream_options"] = map[string]any{"include_usage": true}
		}
		if r.Seed != nil {
			body["seed"] = *r.Seed
		}
	case APIGenerateStream:
		params := map[string]any{"max_new_tokens": r.MaxTokens, "details": true}
		// TGI rejects temperature <= 0; with parameters present and no
		// do_sample, TGI decodes greedily, which is what temperature 0 means.
		if r.Temperature > 0 {
			params["temperature"] = r.Temperature
			params["do_sample"] = true
		}
		if r.Seed != nil {
			params["seed"] = *r.Seed
		}
		body = map[string]any{"inputs": r.Prompt(), "parameters": params}
	case APIOllamaChat, APIOllamaGenerate:
		opts := map[string]any{"num_predict": r.MaxTokens, "temperature": r.Temperature}
		if r.Seed != nil {
			opts["seed"] = *r.Seed
		}
		// think:false keeps thinking-capable models from spending the
		// output budget on hidden reasoning (wire-formats.md §3.3).
		body = map[string]any{"model": t.Model, "stream": true, "think": false, "options": opts}
		if t.API == APIOllamaChat {
			body["messages"] = r.Messages
		} else {
			body["prompt"] = r.Prompt()
		}
	default:
		return nil, fmt.Errorf("target %q: unsupported api %q", t.Name, t.API)
	}
	return json.Marshal(body)
}

// NewHTTPRequest builds the streaming POST for a target.
func NewHTTPRequest(ctx context.Context, t Target, body []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if t.API == APIOllamaChat || t.API == APIOllamaGenerate {
		req.Header.Set("Accept", "application/x-ndjson")
	} else {
		req.Header.Set("Accept", "text/event-stream")
	}
	if t.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+t.APIKey)
	}
	return req, nil
}
