package engine

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// Budget per chunk (see the brief of this package): ≤ 1 µs and ≤ 2 allocs.
//
//	go test ./pkg/bench/engine -run '^$' -bench 'Parse|FrameReader|ClientStream|ClientReadStream' -benchmem

// BenchmarkParse parses one typical content chunk of each protocol per op.
func BenchmarkParse(b *testing.B) {
	cases := []struct {
		name, file string
		index      int // payload index of a typical content chunk
		api        API
	}{
		{"vllm_chat", "vllm-chat-stream.sse", 2, APIChat},
		{"vllm_chat_usage_chunk", "vllm-chat-stream.sse", 9, APIChat},
		{"vllm_completions", "vllm-completions-stream.sse", 2, APICompletions},
		{"tgi_chat", "tgi-chat-stream.sse", 1, APIChat},
		{"tgi_generate_stream", "tgi-generate-stream.sse", 2, APIGenerateStream},
		{"ollama_openai_chat", "real-ollama-0.24.0-openai-chat-stream.sse", 2, APIChat},
		{"ollama_chat", "real-ollama-0.24.0-chat.ndjson", 2, APIOllamaChat},
		{"ollama_generate", "real-ollama-0.24.0-generate.ndjson", 2, APIOllamaGenerate},
		{"ollama_chat_final", "real-ollama-0.24.0-chat.ndjson", 64, APIOllamaChat},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			payload := payloadsOf(tc.file, transcript(b, tc.file))[tc.index]
			p, _ := NewParser(tc.api)
			var ev Event
			if err := p.Parse(payload, &ev); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(payload)))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := p.Parse(payload, &ev); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// cycleReader returns its bytes over and over, like an endless stream.
type cycleReader struct {
	b   []byte
	off int
}

func (c *cycleReader) Read(p []byte) (int, error) {
	n := copy(p, c.b[c.off:])
	c.off = (c.off + n) % len(c.b)
	return n, nil
}

// BenchmarkFrameReader frames one event per op from an endless stream of
// typical content events, read as a socket would deliver them.
func BenchmarkFrameReader(b *testing.B) {
	cases := []struct {
		name, file string
		index      int
		sse        bool
	}{
		{"sse", "vllm-chat-stream.sse", 2, true},
		{"ndjson", "real-ollama-0.24.0-chat.ndjson", 2, false},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			payload := payloadsOf(tc.file, transcript(b, tc.file))[tc.index]
			var ev []byte
			if tc.sse {
				ev = append(append([]byte("data: "), payload...), "\n\n"...)
			} else {
				ev = append(append([]byte{}, payload...), '\n')
			}
			fr := newFrameReader(&cycleReader{b: bytes.Repeat(ev, 64)}, tc.sse)
			b.SetBytes(int64(len(ev)))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				p, _, err := fr.next()
				if err != nil || len(p) != len(payload) {
					b.Fatalf("payload %q, %v", p, err)
				}
			}
		})
	}
}

// vllmBody64 is a vLLM chat stream with 64 content chunks, pre-encoded.
func vllmBody64() []byte {
	var buf bytes.Buffer
	buf.WriteString("data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1760000123,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}],\"prompt_token_ids\":null}\n\n")
	for i := range 64 {
		fin := "null"
		if i == 63 {
			fin = `"length","stop_reason":null`
		}
		fmt.Fprintf(&buf, "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1760000123,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" tok%d\"},\"logprobs\":null,\"finish_reason\":%s,\"token_ids\":null}]}\n\n", i, fin)
	}
	buf.WriteString("data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1760000123,\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":41,\"total_tokens\":105,\"completion_tokens\":64}}\n\ndata: [DONE]\n\n")
	return buf.Bytes()
}

// BenchmarkClientStream is Client.Do end to end against a loopback server
// streaming 64 chunks as fast as it can. allocs/op include the in-process
// httptest server's.
func BenchmarkClientStream(b *testing.B) {
	body := vllmBody64()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	c := &Client{HTTP: NewHTTPClient(HTTPOptions{}), Target: Target{Name: "b", Type: EngineVLLM, BaseURL: srv.URL, API: APIChat, Model: "m"}, Timeout: 10 * time.Second, Clock: NewClock()}
	req := Request{Messages: []Message{{Role: "user", Content: "hi"}}, MaxTokens: 64}
	ctx := context.Background()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		var rec Record
		c.Do(ctx, req, time.Now(), &rec)
		if !rec.OK || rec.Chunks != 64 {
			b.Fatalf("%s %s chunks=%d", rec.ErrorClass, rec.Error, rec.Chunks)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkClientReadStream is the client's own per-request work on the
// same 64-chunk body, without HTTP: framing, parsing and timing.
func BenchmarkClientReadStream(b *testing.B) {
	body := vllmBody64()
	c := &Client{Target: Target{Name: "b", Type: EngineVLLM, API: APIChat}, Clock: NewClock()}
	ctx := context.Background()
	r := bytes.NewReader(body)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		var rec Record
		r.Reset(body)
		c.readStream(ctx, ctx, r, nil, time.Now(), &rec)
		if !rec.OK || rec.Chunks != 64 {
			b.Fatalf("%s %s", rec.ErrorClass, rec.Error)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/64, "ns/chunk")
}
