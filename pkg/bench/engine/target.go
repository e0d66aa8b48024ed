package engine

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// EngineType names a wire protocol family. A target's type decides how a
// request is shaped and how its stream is parsed.
type EngineType string

const (
	EngineVLLM   EngineType = "vllm"
	EngineTGI    EngineType = "tgi"
	EngineOllama EngineType = "ollama"
	// EngineOpenAI is any other OpenAI-compatible server: only the fields the
	// OpenAI API defines are sent.
	EngineOpenAI EngineType = "openai"
)

// EngineTypes lists every supported type, in the order reports show them.
var EngineTypes = []EngineType{EngineVLLM, EngineTGI, EngineOllama, EngineOpenAI}

// ParseEngineType accepts a type name case-insensitively.
func ParseEngineType(s string) (EngineType, error) {
	for _, t := range EngineTypes {
		if strings.EqualFold(s, string(t)) {
			return t, nil
		}
	}
	return "", fmt.Errorf("unknown engine type %q: use one of vllm, tgi, ollama, openai", s)
}

// API is one streaming endpoint. Several engines speak the same API (vLLM,
// TGI and Ollama all serve /v1/chat/completions), so the API picks the parser
// and the engine type picks the request dialect.
type API string

const (
	APIChat           API = "chat"            // POST /v1/chat/completions (SSE)
	APICompletions    API = "completions"     // POST /v1/completions (SSE)
	APIGenerateStream API = "generate_stream" // TGI POST /generate_stream (SSE, no [DONE])
	APIOllamaChat     API = "ollama_chat"     // Ollama POST /api/chat (NDJSON)
	APIOllamaGenerate API = "ollama_generate" // Ollama POST /api/generate (NDJSON)
)

// Path is the URL path of the endpoint.
func (a API) Path() string {
	switch a {
	case APIChat:
		return "/v1/chat/completions"
	case APICompletions:
		return "/v1/completions"
	case APIGenerateStream:
		return "/generate_stream"
	case APIOllamaChat:
		return "/api/chat"
	case APIOllamaGenerate:
		return "/api/generate"
	}
	return ""
}

// APIs lists every API in a stable order.
var APIs = []API{APIChat, APICompletions, APIGenerateStream, APIOllamaChat, APIOllamaGenerate}

// ParseAPI accepts either the API name or its path.
func ParseAPI(s string) (API, error) {
	for _, a := range APIs {
		if s == string(a) || s == a.Path() {
			return a, nil
		}
	}
	return "", fmt.Errorf("unknown api %q: use one of chat, completions, generate_stream, ollama_chat, ollama_generate", s)
}

// DefaultAPI is the endpoint a chat user of each engine meets. TGI defaults to
// its Messages API so that every engine applies its chat template to the same
// messages, which keeps prompt token counts comparable across engines.
func DefaultAPI(t EngineType) API {
	if t == EngineOllama {
		return APIOllamaChat
	}
	return APIChat
}

// Supports reports whether an engine type serves an API.
func (t EngineType) Supports(a API) bool {
	switch t {
	case EngineVLLM, EngineOpenAI:
		return a == APIChat || a == APICompletions
	case EngineTGI:
		return a == APIChat || a == APICompletions || a == APIGenerateStream
	case EngineOllama:
		return a == APIChat || a == APICompletions || a == APIOllamaChat || a == APIOllamaGenerate
	}
	return false
}

// Target is one engine endpoint to benchmark. Cluster discovery produces
// Targets; nothing below this type knows about Kubernetes.
type Target struct {
	Name    string     `json:"name"`
	Type    EngineType `json:"engine_type"`
	BaseURL string     `json:"base_url"`
	API     API        `json:"api"`
	Model   string     `json:"model,omitempty"`
	// Access says how the URL was reached (explicit, simulator, route, …).
	Access string `json:"access,omitempty"`
	// APIKey is sent as a bearer token. It never leaves memory: the json tag
	// keeps it out of manifests and journals.
	APIKey string `json:"-"`
	// HTTP, when set, replaces the run's client for this target: the
	// API server's service proxy needs the kubeconfig's credentials.
	HTTP *http.Client `json:"-"`
	// Metrics, when set, is where the engine's own Prometheus metrics
	// live; unset, vLLM and TGI serve them on the API port, at /metrics.
	Metrics *MetricsEndpoint `json:"metrics,omitempty"`
	// GPUMetrics is a DCGM exporter serving the engine's GPUs.
	GPUMetrics *MetricsEndpoint `json:"gpu_metrics,omitempty"`
}

// MetricsEndpoint is a Prometheus page that tells about a target.
type MetricsEndpoint struct {
	URL string `json:"url"`
	// Found says where it was found (a Service port, a Pod annotation,
	// a ServiceMonitor, a DCGM exporter Pod, a flag).
	Found string `json:"found,omitempty"`
	// HTTP, when set, replaces the run's client for this page.
	HTTP *http.Client `json:"-"`
	// Pods are the engine's Pods ("namespace/name"), by which a GPU
	// exporter in Kubernetes mode says which GPUs are the engine's.
	Pods []string `json:"pods,omitempty"`
}

// ServesMetrics says whether the engine type serves Prometheus metrics on
// its API port.
func ServesMetrics(t EngineType) bool { return t == EngineVLLM || t == EngineTGI }

// MetricsURL is where the target's own metrics are scraped, "" for none.
func (t Target) MetricsURL() string {
	if t.Metrics != nil {
		return t.Metrics.URL
	}
	if ServesMetrics(t.Type) {
		return strings.TrimSuffix(t.BaseURL, "/") + "/metrics"
	}
	return ""
}

// URL is the full endpoint URL for the target's API.
func (t Target) URL() string { return strings.TrimRight(t.BaseURL, "/") + t.API.Path() }

// SplitEndpointURL splits a URL that may end in a known endpoint path (for
// example http://h:8080/generate_stream) into its base URL and that API.
// The API is empty when the path names no endpoint.
func SplitEndpointURL(raw string) (base string, api API, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the URL, credentials included
		}
		return "", "", fmt.Errorf("invalid URL %q: %w", RedactURL(raw), err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", "", fmt.Errorf("invalid URL %q: it must start with http:// or https://", raw)
	}
	if u.Host == "" {
		return "", "", fmt.Errorf("invalid URL %q: it has no host", raw)
	}
	if u.User != nil {
		// The password would reach manifests and logs; a key has its own
		// flag that is never written anywhere.
		return "", "", fmt.Errorf("URL %q carries credentials: remove them and pass the key with --api-key", u.Redacted())
	}
	path := strings.TrimRight(u.Path, "/")
	for _, a := range APIs {
		if strings.HasSuffix(path, a.Path()) {
			u.Path = strings.TrimSuffix(path, a.Path())
			return strings.TrimRight(u.String(), "/"), a, nil
		}
	}
	return strings.TrimRight(u.String(), "/"), "", nil
}

var userinfo = regexp.MustCompile(`//[^/@\s]*@`)

// RedactURL hides any user:password part of a URL (or of text holding
// one) before it is shown or written.
func RedactURL(s string) string { return userinfo.ReplaceAllString(s, "//REDACTED@") }
