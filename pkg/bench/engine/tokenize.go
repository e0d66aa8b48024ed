package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// ErrNoTokenizer says an engine has no tokenize endpoint (Ollama): its
// prompt counts come from prompt_eval_count after a request instead.
var ErrNoTokenizer = errors.New("the engine has no tokenize endpoint")

// CountTokens asks the engine's own tokenizer how many tokens text is:
// vLLM's POST /tokenize (prompt, no chat template) and TGI's POST
// /tokenize. Ollama has none (ErrNoTokenizer). Prompts of an exact token
// length (#15) are calibrated with it, so every engine's count is its
// own, not a local guess.
func CountTokens(ctx context.Context, hc *http.Client, t Target, text string) (int, error) {
	var body any
	switch t.Type {
	case EngineVLLM, EngineOpenAI:
		body = struct {
			Model            string `json:"model,omitempty"`
			Prompt           string `json:"prompt"`
			AddSpecialTokens bool   `json:"add_special_tokens"`
		}{t.Model, text, false}
	case EngineTGI:
		body = struct {
			Inputs string `json:"inputs"`
		}{text}
	default:
		return 0, fmt.Errorf("target %q (%s): %w; prompt lengths are read from its prompt_eval_count", t.Name, t.Type, ErrNoTokenizer)
	}
	b, err := json.Marshal(body)
	if err != nil {
		return 0, err
	}
	v, err := callJSON(ctx, hc, t, http.MethodPost, "/tokenize", b)
	if err != nil {
		return 0, err
	}
	if t.Type == EngineTGI {
		// One {id, text, start, stop} per token.
		arr, err := v.Array()
		if err != nil {
			return 0, fmt.Errorf("target %q: /tokenize answered %s, not a list of tokens; is this a TGI server?", t.Name, v.Type())
		}
		return len(arr), nil
	}
	n := v.Get("count")
	if n == nil {
		return 0, fmt.Errorf("target %q: /tokenize answered without a count", t.Name)
	}
	c, err := n.Int()
	if err != nil || c < 0 {
		return 0, fmt.Errorf("target %q: /tokenize count %s is not a token count", t.Name, n)
	}
	return c, nil
}

// ProbePromptTokens sends content as the only user message of a one-token
// request and returns the prompt tokens the engine reports for it: the
// count the engine bills, its chat template included. It is how engines
// without a tokenize endpoint (Ollama's prompt_eval_count) are calibrated,
// and how every engine's template overhead is measured.
func ProbePromptTokens(ctx context.Context, hc *http.Client, t Target, content string, timeout time.Duration) (int, error) {
	c := &Client{HTTP: hc, Target: t, Timeout: timeout, Clock: NewClock()}
	var rec Record
	c.Do(ctx, Request{Messages: []Message{{Role: "user", Content: content}}, MaxTokens: 1}, time.Now(), &rec)
	switch {
	case !rec.OK && rec.ErrorClass != ErrNoGenerated:
		return 0, fmt.Errorf("target %q: a one-token probe failed (%s): %s", t.Name, rec.ErrorClass, rec.Error)
	case rec.PromptTokens <= 0:
		return 0, fmt.Errorf("target %q: the engine reported no prompt token count for a probe", t.Name)
	}
	return rec.PromptTokens, nil
}
