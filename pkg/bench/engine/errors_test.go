package engine

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestClientErrorClasses(t *testing.T) {
	closed := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		return "http://" + addr
	}
	type tc struct {
		name     string
		typ      EngineType
		api      API
		url      func(t *testing.T) string
		timeout  time.Duration
		cancel   bool // cancel the parent context once the server signals
		class    string
		status   int
		contains string
	}
	stalls := func(head string) func(t *testing.T) string {
		return func(t *testing.T) string {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				// Reading the body to its end lets the server notice the
				// client going away (net/http starts its background read
				// only then), which ends the handler.
				_, _ = io.Copy(io.Discard, r.Body)
				if head != "" {
					w.Header().Set("Content-Type", "text/event-stream")
					_, _ = io.WriteString(w, head)
					w.(http.Flusher).Flush()
				}
				select {
				case <-r.Context().Done():
				case <-time.After(time.Minute):
				}
			}))
			t.Cleanup(srv.Close)
			return srv.URL
		}
	}
	status := func(code int, file, ctype string) func(t *testing.T) string {
		return func(t *testing.T) string {
			var b []byte
			if file != "" {
				b = transcript(t, file)
			}
			return bodyServer(t, code, ctype, b).URL
		}
	}
	raw := func(body string) func(t *testing.T) string {
		return func(t *testing.T) string { return bodyServer(t, 200, "text/event-stream", []byte(body)).URL }
	}
	rawNDJSON := func(body string) func(t *testing.T) string {
		return func(t *testing.T) string { return bodyServer(t, 200, "application/x-ndjson", []byte(body)).URL }
	}
	const role = "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n"
	const tok = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}\n\n"
	const json = "application/json"
	tests := []tc{
		{name: "connect refused", typ: EngineVLLM, api: APIChat, url: func(t *testing.T) string { return closed() }, class: ErrConnect},
		{name: "timeout before headers", typ: EngineVLLM, api: APIChat, url: stalls(""), timeout: 150 * time.Millisecond, class: ErrTimeout},
		{name: "timeout mid-stream", typ: EngineVLLM, api: APIChat, url: stalls(role + tok), timeout: 150 * time.Millisecond, class: ErrTimeout, status: 200},
		{name: "canceled mid-stream", typ: EngineVLLM, api: APIChat, url: stalls(role + tok), cancel: true, class: ErrCanceled, status: 200},
		{name: "canceled before headers", typ: EngineVLLM, api: APIChat, url: stalls(""), cancel: true, class: ErrCanceled},
		{name: "vllm 400", typ: EngineVLLM, api: APIChat, url: status(400, "vllm-error-400.json", json), class: ErrHTTP4xx, status: 400, contains: "maximum context length is 8192"},
		{name: "vllm 400 legacy", typ: EngineVLLM, api: APIChat, url: status(400, "vllm-error-400-legacy.json", json), class: ErrHTTP4xx, status: 400, contains: "BadRequestError: This model's"},
		{name: "vllm 404 model", typ: EngineVLLM, api: APIChat, url: status(404, "vllm-error-404-model.json", json), class: ErrHTTP4xx, status: 404, contains: "`gpt-4o` does not exist"},
		{name: "vllm 500 empty body", typ: EngineVLLM, api: APIChat, url: status(500, "", ""), class: ErrHTTP5xx, status: 500, contains: "HTTP 500: Internal Server Error"},
		{name: "tgi 422", typ: EngineTGI, api: APIGenerateStream, url: status(422, "tgi-error-422.json", json), class: ErrHTTP4xx, status: 422, contains: "validation: Input validation error"},
		{name: "tgi 429", typ: EngineTGI, api: APIGenerateStream, url: status(429, "tgi-error-429.json", json), class: ErrHTTP429, status: 429, contains: "Model is overloaded"},
		{name: "tgi 503 unhealthy", typ: EngineTGI, api: APIChat, url: status(503, "tgi-health-503.json", json), class: ErrHTTP5xx, status: 503, contains: "unhealthy"},
		{name: "ollama 404", typ: EngineOllama, api: APIOllamaChat, url: status(404, "real-ollama-0.24.0-error-404.json", json), class: ErrHTTP4xx, status: 404, contains: "model 'nosuch' not found"},
		{name: "ollama 503 busy", typ: EngineOllama, api: APIOllamaChat, url: status(503, "ollama-error-503-busy.json", json), class: ErrHTTP5xx, status: 503, contains: "server busy"},
		{name: "ollama /v1 404", typ: EngineOllama, api: APIChat, url: status(404, "real-ollama-0.24.0-openai-error-404.json", json), class: ErrHTTP4xx, status: 404, contains: "not_found_error"},
		{name: "gin 404 text", typ: EngineOllama, api: APIOllamaChat, url: status(404, "", "text/plain"), class: ErrHTTP4xx, status: 404, contains: "Not Found"},
		{name: "vllm stream error", typ: EngineVLLM, api: APIChat, url: status(200, "vllm-chat-stream-error.sse", "text/event-stream"), class: ErrStream, status: 200, contains: "Internal server error while generating"},
		{name: "tgi stream error midstream", typ: EngineTGI, api: APIGenerateStream, url: status(200, "tgi-generate-stream-error-midstream.sse", "text/event-stream"), class: ErrStream, status: 200, contains: "generation: Request failed"},
		{name: "tgi stream overloaded", typ: EngineTGI, api: APIGenerateStream, url: status(200, "tgi-generate-stream-error-overloaded.sse", "text/event-stream"), class: ErrOverloaded, status: 200, contains: "overloaded"},
		{name: "tgi stream validation", typ: EngineTGI, api: APIGenerateStream, url: status(200, "tgi-generate-stream-error-validation.sse", "text/event-stream"), class: ErrStream, status: 200, contains: "validation"},
		{name: "tgi chat stream error", typ: EngineTGI, api: APIChat, url: status(200, "tgi-chat-stream-error.sse", "text/event-stream"), class: ErrStream, status: 200, contains: "Input validation error"},
		{name: "ollama stream error", typ: EngineOllama, api: APIOllamaChat, url: status(200, "ollama-chat-error-midstream.ndjson", "application/x-ndjson"), class: ErrStream, status: 200, contains: "an error was encountered"},
		{name: "garbage JSON", typ: EngineVLLM, api: APIChat, url: raw(role + "data: {\"choices\":[{\"delta\":\n\n"), class: ErrParse, status: 200, contains: "invalid JSON"},
		{name: "garbage NDJSON", typ: EngineOllama, api: APIOllamaChat, url: rawNDJSON("{\"message\":{\"content\":\"a\"}}\nnot json\n"), class: ErrParse, status: 200},
		{name: "TGI event that is not JSON", typ: EngineTGI, api: APIGenerateStream, url: raw("data: <html>\n\n"), class: ErrParse, status: 200},
		{name: "truncated clean close", typ: EngineVLLM, api: APIChat, url: raw(role + tok + tok), class: ErrTruncated, status: 200, contains: "before its final event"},
		{name: "truncated empty body", typ: EngineVLLM, api: APIChat, url: raw(""), class: ErrTruncated, status: 200},
		{name: "truncated ollama", typ: EngineOllama, api: APIOllamaChat, url: rawNDJSON("{\"message\":{\"content\":\"a\"},\"done\":false}\n"), class: ErrTruncated, status: 200},
		{name: "truncated TGI", typ: EngineTGI, api: APIGenerateStream, url: raw("data: {\"index\":1,\"token\":{\"id\":1,\"text\":\"a\",\"special\":false},\"generated_text\":null,\"details\":null}\n\n"), class: ErrTruncated, status: 200},
		{name: "truncated mid-event at clean EOF", typ: EngineOllama, api: APIOllamaChat, url: rawNDJSON("{\"message\":{\"content\":\"a\"},\"done\":false}\n{\"message\":{\"cont"), class: ErrTruncated, status: 200, contains: "middle of an event"},
		{name: "truncated connection cut", typ: EngineVLLM, api: APIChat, url: cutServer(role + tok + "data: {\"choi"), class: ErrTruncated, status: 200},
		{name: "truncated connection cut ndjson", typ: EngineOllama, api: APIOllamaChat, url: cutServer("{\"message\":{\"content\":\"a\"},\"done\":false}\n{\"mess"), class: ErrTruncated, status: 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := testClient(tc.url(t), tc.typ, tc.api)
			if tc.timeout > 0 {
				c.Timeout = tc.timeout
			}
			ctx := context.Background()
			if tc.cancel {
				var cancel context.CancelFunc
				ctx, cancel = context.WithCancel(ctx)
				defer cancel()
				time.AfterFunc(150*time.Millisecond, cancel)
			}
			start := time.Now()
			rec := do(c, ctx, 4)
			checkFailed(t, &rec, tc.class)
			checkRecord(t, &rec)
			if rec.HTTPStatus != tc.status {
				t.Errorf("status = %d, want %d", rec.HTTPStatus, tc.status)
			}
			if !strings.Contains(rec.Error, tc.contains) {
				t.Errorf("error %q does not contain %q", rec.Error, tc.contains)
			}
			if tc.timeout > 0 || tc.cancel {
				// The end is when the request gave up, not the last byte.
				if end := time.Duration(rec.EndUnixNS - rec.StartUnixNS); end < 100*time.Millisecond {
					t.Errorf("end - start = %v, before the deadline/cancel", end)
				}
				// The server stalls for good: returning at all, well
				// inside a stall no test waits out, is giving up.
				if el := time.Since(start); el > 30*time.Second {
					t.Errorf("gave up after %v", el)
				}
			}
		})
	}
}

// cutServer answers with a raw HTTP/1.1 response that promises more bytes
// than it sends, then closes the connection: the client sees an unexpected
// EOF, as when a pod dies mid-stream.
func cutServer(body string) func(t *testing.T) string {
	return func(t *testing.T) string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		go func() {
			for {
				conn, err := l.Accept()
				if err != nil {
					return
				}
				go func() {
					defer conn.Close()
					req, err := http.ReadRequest(bufio.NewReader(conn))
					if err != nil {
						return
					}
					_, _ = io.Copy(io.Discard, req.Body)
					fmt.Fprintf(conn, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: %d\r\n\r\n%s", len(body)+1000, body)
				}()
			}
		}()
		return "http://" + l.Addr().String()
	}
}
