package sim

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
)

// discardWriter is a flushing ResponseWriter that keeps nothing, so a
// benchmark measures the simulator's own cost per token.
type discardWriter struct {
	h http.Header
	n int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { d.n += len(b); return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}
func (d *discardWriter) Flush()                      {}

// instantOptions removes every modelled delay.
func instantOptions() Options {
	ps := map[engine.EngineType]Profile{}
	for _, kind := range simulatedEngines {
		ps[kind] = Profile{MaxBatch: 64}
	}
	return Options{Seed: 1, Profiles: ps}
}

const benchTokens = 256

func benchmarkStream(b *testing.B, kind engine.EngineType, path, body string) {
	h := New(instantOptions()).Handler(kind)
	b.ReportAllocs()
	for b.Loop() {
		w := &discardWriter{h: http.Header{}}
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, path, strings.NewReader(body)))
		if w.n == 0 {
			b.Fatal("nothing written")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchTokens), "ns/token")
}

func BenchmarkVLLMChatStream(b *testing.B) {
	benchmarkStream(b, engine.EngineVLLM, "/v1/chat/completions",
		`{"messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true},"max_tokens":256,"ignore_eos":true}`)
}

func BenchmarkTGIGenerateStream(b *testing.B) {
	benchmarkStream(b, engine.EngineTGI, "/generate_stream", `{"inputs":"hi","parameters":{"max_new_tokens":256,"details":true}}`)
}

func BenchmarkOllamaChatStream(b *testing.B) {
	benchmarkStream(b, engine.EngineOllama, "/api/chat", `{"model":"llama3.2","messages":[{"role":"user","content":"hi"}],"options":{"num_predict":256}}`)
}

// TestStreamAllocationsDoNotGrowPerToken guards the hot path: a 256-token
// stream may not allocate much more than a 16-token one.
func TestStreamAllocationsDoNotGrowPerToken(t *testing.T) {
	h := New(instantOptions()).Handler(engine.EngineVLLM)
	allocs := func(n int) float64 {
		body := `{"messages":[{"role":"user","content":"hi"}],"stream":true,"max_tokens":` + itoa(n) + `,"ignore_eos":true}`
		return testing.AllocsPerRun(20, func() {
			h.ServeHTTP(&discardWriter{h: http.Header{}}, httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(body)))
		})
	}
	small, large := allocs(16), allocs(256)
	if perToken := (large - small) / 240; perToken > 0.5 {
		t.Errorf("%.2f allocations per streamed token (16 tokens: %.0f, 256 tokens: %.0f)", perToken, small, large)
	}
}
