package engine

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// routeServer serves path → transcript; other paths get 404. It records the
// Authorization header of every request.
func routeServer(t *testing.T, routes map[string]string) (*httptest.Server, func() []string) {
	t.Helper()
	bodies := map[string][]byte{}
	for path, file := range routes {
		bodies[path] = transcript(t, file)
	}
	var mu sync.Mutex
	var auths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auths = append(auths, r.Header.Get("Authorization"))
		mu.Unlock()
		b, ok := bodies[r.URL.Path]
		if !ok || r.Method != http.MethodGet {
			http.Error(w, "404 page not found", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), auths...) }
}

func TestProbe(t *testing.T) {
	tests := []struct {
		name   string
		typ    EngineType
		routes map[string]string
		want   EngineInfo
		model  string // what ResolveModel picks with no --model
	}{
		{"vllm", EngineVLLM, map[string]string{"/v1/models": "vllm-models.json", "/version": "vllm-version.json"},
			EngineInfo{Version: "0.11.0", Models: []string{"meta-llama/Llama-3.1-8B-Instruct"}, MaxModelLen: 8192}, "meta-llama/Llama-3.1-8B-Instruct"},
		{"vllm without /version", EngineVLLM, map[string]string{"/v1/models": "vllm-models.json"},
			EngineInfo{Models: []string{"meta-llama/Llama-3.1-8B-Instruct"}, MaxModelLen: 8192}, "meta-llama/Llama-3.1-8B-Instruct"},
		{"openai", EngineOpenAI, map[string]string{"/v1/models": "vllm-models.json", "/version": "vllm-version.json"},
			EngineInfo{Models: []string{"meta-llama/Llama-3.1-8B-Instruct"}, MaxModelLen: 8192}, "meta-llama/Llama-3.1-8B-Instruct"},
		{"tgi", EngineTGI, map[string]string{"/info": "tgi-info.json"},
			EngineInfo{Version: "3.3.6-dev0", Models: []string{"meta-llama/Llama-3.1-8B-Instruct"}, MaxModelLen: 8192}, "meta-llama/Llama-3.1-8B-Instruct"},
		{"ollama", EngineOllama, map[string]string{"/api/tags": "ollama-tags.json", "/api/version": "ollama-version.json"},
			EngineInfo{Version: "0.32.15", Models: []string{"llama3.2:latest"}}, "llama3.2:latest"},
		{"real ollama 0.24.0", EngineOllama, map[string]string{"/api/tags": "real-ollama-0.24.0-tags.json", "/api/version": "real-ollama-0.24.0-version.json"},
			EngineInfo{Version: "0.24.0", Models: []string{"tiny:latest"}}, "tiny:latest"},
		{"real ollama 0.11.4", EngineOllama, map[string]string{"/api/tags": "real-ollama-0.11.4-tags.json", "/api/version": "real-ollama-0.11.4-version.json"},
			EngineInfo{Version: "0.11.4", Models: []string{"tiny:latest"}}, "tiny:latest"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, auths := routeServer(t, tc.routes)
			tg := Target{Name: "e1", Type: tc.typ, BaseURL: srv.URL + "/", APIKey: "sk-probe"}
			info, err := Probe(context.Background(), srv.Client(), tg)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(info, tc.want) {
				t.Errorf("Probe = %+v, want %+v", info, tc.want)
			}
			for _, a := range auths() {
				if a != "Bearer sk-probe" {
					t.Errorf("probe sent Authorization %q", a)
				}
			}
			m, err := ResolveModel(tg, info)
			if err != nil || m != tc.model {
				t.Errorf("ResolveModel = %q, %v; want %q", m, err, tc.model)
			}
		})
	}
}

func TestProbeSeveralOllamaModels(t *testing.T) {
	srv, _ := routeServer(t, map[string]string{"/api/tags": "real-ollama-0.24.0-tags-both.json", "/api/version": "real-ollama-0.24.0-version.json"})
	tg := Target{Name: "local", Type: EngineOllama, BaseURL: srv.URL}
	info, err := Probe(context.Background(), srv.Client(), tg)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"tiny:latest", "tiny-stop:latest"}; !reflect.DeepEqual(info.Models, want) {
		t.Fatalf("models = %q, want %q", info.Models, want)
	}
	_, err = ResolveModel(tg, info)
	if err == nil {
		t.Fatal("ResolveModel picked one of several models")
	}
	for _, s := range []string{`"local"`, "tiny:latest", "tiny-stop:latest", "--model local=NAME"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %s", err, s)
		}
	}
	// Naming one resolves, with or without Ollama's implicit :latest.
	for _, m := range []string{"tiny-stop", "tiny-stop:latest"} {
		tg.Model = m
		if got, err := ResolveModel(tg, info); err != nil || got != m {
			t.Errorf("ResolveModel(%q) = %q, %v", m, got, err)
		}
	}
	tg.Model = "llama3"
	if _, err := ResolveModel(tg, info); err == nil || !strings.Contains(err.Error(), "does not serve model \"llama3\"") {
		t.Errorf("unknown model: err = %v", err)
	}
}

func TestProbeResolveModel(t *testing.T) {
	tests := []struct {
		name    string
		target  Target
		models  []string
		want    string
		errWant string
	}{
		{"vllm base before adapters", Target{Name: "v", Type: EngineVLLM}, []string{"base", "lora-a"}, "base", ""},
		{"no models listed", Target{Name: "v", Type: EngineVLLM}, nil, "", "lists no models"},
		{"tgi accepts any model name", Target{Name: "t", Type: EngineTGI, Model: "adapter-x"}, []string{"base"}, "adapter-x", ""},
		{"given model not served", Target{Name: "v", Type: EngineVLLM, Model: "x"}, []string{"base"}, "", `does not serve model "x"`},
		{"given model, nothing listed", Target{Name: "v", Type: EngineVLLM, Model: "x"}, nil, "x", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ResolveModel(tc.target, EngineInfo{Models: tc.models})
			if tc.errWant != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errWant) {
					t.Fatalf("err = %v, want %q", err, tc.errWant)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestProbeLoRAOrder: vLLM lists adapters with a parent; the base model must
// come first whatever the server's order.
func TestProbeLoRAOrder(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/models" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(`{"object":"list","data":[{"id":"sql-lora","parent":"base","max_model_len":4096},{"id":"base","parent":null,"max_model_len":8192}]}`))
	}))
	defer srv.Close()
	info, err := Probe(context.Background(), srv.Client(), Target{Name: "v", Type: EngineVLLM, BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(info.Models, []string{"base", "sql-lora"}) || info.MaxModelLen != 8192 {
		t.Errorf("info = %+v", info)
	}
}

func TestProbeErrors(t *testing.T) {
	unauthorized := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
	}))
	defer unauthorized.Close()
	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("<html>login</html>"))
	}))
	defer html.Close()
	wrongEngine, _ := routeServer(t, map[string]string{"/api/tags": "ollama-tags.json"})
	// The dead port is taken last: closed earlier, the kernel handed it to one
	// of the servers above and "unreachable" answered 401.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "http://" + l.Addr().String()
	l.Close()

	tests := []struct {
		name     string
		target   Target
		contains []string
	}{
		{"unreachable", Target{Name: "gpu-a", Type: EngineVLLM, BaseURL: deadURL},
			[]string{`"gpu-a"`, deadURL + "/v1/models", "unreachable"}},
		{"unreachable ollama", Target{Name: "o", Type: EngineOllama, BaseURL: deadURL},
			[]string{`"o"`, deadURL + "/api/tags"}},
		{"401 asks for a key", Target{Name: "k", Type: EngineTGI, BaseURL: unauthorized.URL},
			[]string{`"k"`, "HTTP 401", "--api-key"}},
		{"not JSON", Target{Name: "h", Type: EngineVLLM, BaseURL: html.URL},
			[]string{`"h"`, "did not answer JSON", "vllm"}},
		{"wrong engine type", Target{Name: "w", Type: EngineTGI, BaseURL: wrongEngine.URL},
			[]string{`"w"`, "/info", "HTTP 404", "404 page not found", "--target"}},
		{"bad URL", Target{Name: "b", Type: EngineVLLM, BaseURL: "http://[::1"},
			[]string{`"b"`, "invalid URL"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Probe(context.Background(), http.DefaultClient, tc.target)
			if err == nil {
				t.Fatal("Probe succeeded")
			}
			for _, s := range tc.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
		})
	}
}
