package engine

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/valyala/fastjson"
)

// EngineInfo is what probing a target's info endpoints found.
type EngineInfo struct {
	Version string   `json:"version,omitempty"`
	Models  []string `json:"models,omitempty"`
	// MaxModelLen is the context length when the engine reports it.
	MaxModelLen int `json:"max_model_len,omitempty"`
}

// Probe asks a target for its version and served models: vLLM and OpenAI
// servers through /v1/models (+ /version), TGI through /info, Ollama
// through /api/tags (+ /api/version). An unreachable target gets an error
// that names it, its URL and what to check.
func Probe(ctx context.Context, hc *http.Client, t Target) (EngineInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	var info EngineInfo
	switch t.Type {
	case EngineTGI:
		v, err := getJSON(ctx, hc, t, "/info")
		if err != nil {
			return info, err
		}
		info.Version = string(v.GetStringBytes("version"))
		if id := v.GetStringBytes("model_id"); len(id) > 0 {
			info.Models = []string{string(id)}
		}
		info.MaxModelLen = v.GetInt("max_total_tokens")
	case EngineOllama:
		v, err := getJSON(ctx, hc, t, "/api/tags")
		if err != nil {
			return info, err
		}
		for _, m := range v.GetArray("models") {
			info.Models = append(info.Models, string(m.GetStringBytes("name")))
		}
		if ver, err := getJSON(ctx, hc, t, "/api/version"); err == nil {
			info.Version = string(ver.GetStringBytes("version"))
		}
	default:
		v, err := getJSON(ctx, hc, t, "/v1/models")
		if err != nil {
			return info, err
		}
		// Base models first: LoRA adapters have a parent (wire-formats §1.5).
		var bases, adapters []string
		for _, m := range v.GetArray("data") {
			id := string(m.GetStringBytes("id"))
			if p := m.Get("parent"); p != nil && p.Type() == fastjson.TypeString {
				adapters = append(adapters, id)
				continue
			}
			bases = append(bases, id)
			if n := m.GetInt("max_model_len"); n > 0 && info.MaxModelLen == 0 {
				info.MaxModelLen = n
			}
		}
		info.Models = append(bases, adapters...)
		if t.Type == EngineVLLM {
			if ver, err := getJSON(ctx, hc, t, "/version"); err == nil {
				info.Version = string(ver.GetStringBytes("version"))
			}
		}
	}
	return info, nil
}

// ResolveModel picks the model to request: the one given, else the only
// (base) model served. Several models and none given is an error listing
// them, since guessing would benchmark the wrong thing.
func ResolveModel(t Target, info EngineInfo) (string, error) {
	if t.Model != "" {
		if len(info.Models) > 0 && !hasModel(info.Models, t.Model) && t.Type != EngineTGI {
			return "", fmt.Errorf("target %q (%s) does not serve model %q; it serves: %s; pass --model %s=NAME",
				t.Name, t.BaseURL, t.Model, strings.Join(info.Models, ", "), t.Name)
		}
		return t.Model, nil
	}
	switch len(info.Models) {
	case 0:
		return "", fmt.Errorf("target %q (%s) lists no models; pass --model %s=NAME", t.Name, t.BaseURL, t.Name)
	case 1:
		return info.Models[0], nil
	}
	if t.Type == EngineVLLM || t.Type == EngineOpenAI {
		return info.Models[0], nil // adapters are listed after the base model
	}
	sorted := append([]string(nil), info.Models...)
	sort.Strings(sorted)
	return "", fmt.Errorf("target %q (%s) serves several models (%s); pass --model %s=NAME",
		t.Name, t.BaseURL, strings.Join(sorted, ", "), t.Name)
}

// hasModel matches Ollama's implicit ":latest" tag both ways.
func hasModel(models []string, m string) bool {
	for _, x := range models {
		if x == m || strings.TrimSuffix(x, ":latest") == strings.TrimSuffix(m, ":latest") {
			return true
		}
	}
	return false
}

func getJSON(ctx context.Context, hc *http.Client, t Target, path string) (*fastjson.Value, error) {
	return callJSON(ctx, hc, t, http.MethodGet, path, nil)
}

// callJSON sends one request to an engine's own endpoint (not the
// benchmarked stream) and parses its JSON answer, with errors that name
// the target and say what to check.
func callJSON(ctx context.Context, hc *http.Client, t Target, method, path string, body []byte) (*fastjson.Value, error) {
	u := strings.TrimRight(t.BaseURL, "/") + path
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("target %q: invalid URL %q: %w", t.Name, u, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if t.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+t.APIKey)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("target %q is unreachable at %s: %v; check the URL, that the engine is running, and any port-forward", t.Name, u, redactURLError(err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, fmt.Errorf("target %q: reading %s: %w", t.Name, u, err)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, fmt.Errorf("target %q: %s answered HTTP %d; pass an API key with --api-key or LLMBENCH_API_KEY", t.Name, u, resp.StatusCode)
	case resp.StatusCode != http.StatusOK:
		return nil, &InfoEndpointError{Status: resp.StatusCode, err: fmt.Errorf("target %q: %s answered HTTP %d (%s); is this a %s server? set the type with --target NAME=TYPE+URL",
			t.Name, u, resp.StatusCode, ParseErrorBody(b).Error(), t.Type)}
	}
	var p fastjson.Parser
	v, err := p.ParseBytes(b)
	if err != nil {
		return nil, fmt.Errorf("target %q: %s did not answer JSON; is this a %s server?", t.Name, u, t.Type)
	}
	return v, nil
}

// InfoEndpointError says the server answered, but not on the info endpoint
// we asked. Some OpenAI-compatible gateways serve completions without
// /v1/models; with a model given, such a target can still be benchmarked.
type InfoEndpointError struct {
	Status int
	err    error
}

func (e *InfoEndpointError) Error() string { return e.err.Error() }
func (e *InfoEndpointError) Unwrap() error { return e.err }
