package engine

import (
	"bytes"
	"context"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func engineFor(name string) EngineType {
	switch {
	case strings.HasPrefix(name, "vllm"):
		return EngineVLLM
	case strings.HasPrefix(name, "tgi"):
		return EngineTGI
	}
	return EngineOllama
}

func contentTypeFor(api API) string {
	if api == APIOllamaChat || api == APIOllamaGenerate {
		return "application/x-ndjson"
	}
	return "text/event-stream"
}

// bodyServer answers every request with status and body.
func bodyServer(t *testing.T, status int, ctype string, body []byte) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if ctype != "" {
			w.Header().Set("Content-Type", ctype)
		}
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func testClient(url string, typ EngineType, api API) *Client {
	return &Client{
		HTTP:    NewHTTPClient(HTTPOptions{}),
		Target:  Target{Name: "t", Type: typ, BaseURL: url, API: api, Model: "m"},
		Timeout: 10 * time.Second,
		Clock:   NewClock(),
	}
}

func do(c *Client, ctx context.Context, maxTokens int) Record {
	var rec Record
	c.Do(ctx, Request{Messages: []Message{{Role: "user", Content: "hi"}}, MaxTokens: maxTokens}, time.Now(), &rec)
	return rec
}

// checkFailed holds for every failed request.
func checkFailed(t *testing.T, rec *Record, class string) {
	t.Helper()
	if rec.OK {
		t.Errorf("OK = true, want a %s failure", class)
	}
	if rec.ErrorClass != class {
		t.Errorf("error class = %q (%s), want %q", rec.ErrorClass, rec.Error, class)
	}
	if rec.Error == "" {
		t.Error("no error message")
	}
	if rec.TPOTMS != nil || rec.NTPOTMS != nil || rec.OutputTokensPerS != nil || rec.OutputMismatch {
		t.Error("a failed request has derived metrics")
	}
	// A stream that completed without output has a true E2E; nothing else
	// that failed does.
	if rec.E2EMS != nil && class != ErrNoGenerated {
		t.Error("a failed request has an E2E latency")
	}
	if d := rec.EndUnixNS - rec.StartUnixNS; d < 0 || d > int64(time.Minute) {
		t.Errorf("end - start = %v", time.Duration(d))
	}
}

// TestClientTranscripts serves every streaming transcript over real HTTP and
// checks the Record against the same expectations the parser tests use.
func TestClientTranscripts(t *testing.T) {
	for _, name := range streamingTranscripts(t) {
		w, ok := wantFor(name)
		if !ok {
			continue // TestParseTranscripts reports it
		}
		t.Run(name, func(t *testing.T) {
			api := apiFor(name)
			srv := bodyServer(t, 200, contentTypeFor(api), transcript(t, name))
			c := testClient(srv.URL, engineFor(name), api)
			requested := max(w.output, w.tokenEvents)
			rec := do(c, context.Background(), requested)
			checkRecord(t, &rec)
			if w.errMsg != "" {
				want := ErrStream
				if w.errType == "overloaded" {
					want = ErrOverloaded
				}
				checkFailed(t, &rec, want)
				if !strings.Contains(rec.Error, w.errMsg) {
					t.Errorf("error %q does not carry the server's message %q", rec.Error, w.errMsg)
				}
			} else if !rec.OK {
				t.Fatalf("failed: %s %s", rec.ErrorClass, rec.Error)
			}
			if rec.HTTPStatus != 200 {
				t.Errorf("status %d", rec.HTTPStatus)
			}
			if rec.Chunks != w.tokenEvents {
				t.Errorf("chunks = %d, want %d", rec.Chunks, w.tokenEvents)
			}
			if (rec.TTFTMS != nil) != (w.ttft >= 0) {
				t.Errorf("TTFT = %v, want set: %v", rec.TTFTMS, w.ttft >= 0)
			}
			if rec.FinishReason != w.finish {
				t.Errorf("finish = %q, want %q", rec.FinishReason, w.finish)
			}
			wantOut, wantSrc := w.output, usageSource(api)
			if !w.usage {
				wantOut, wantSrc = w.tokenEvents, TokensFromChunks
				if w.tokens > 0 {
					wantOut = w.tokens
				}
			}
			if rec.OutputTokens != wantOut || rec.OutputTokensSource != wantSrc || rec.PromptTokens != w.prompt {
				t.Errorf("tokens out=%d (%s) prompt=%d, want out=%d (%s) prompt=%d",
					rec.OutputTokens, rec.OutputTokensSource, rec.PromptTokens, wantOut, wantSrc, w.prompt)
			}
			if rec.OK && rec.OutputMismatch != (requested != wantOut) {
				t.Errorf("mismatch = %v for requested %d, got %d", rec.OutputMismatch, requested, rec.OutputTokens)
			}
			if rec.ResponseBytes <= 0 {
				t.Error("no response bytes counted")
			}
		})
	}
}

func TestClientOutputTokens(t *testing.T) {
	noDetails := bytes.Replace(transcript(t, "tgi-generate-stream.sse"),
		[]byte(`"details":{"finish_reason":"length","generated_tokens":10,"seed":null,"input_length":3}`), []byte(`"details":null`), 1)
	if bytes.Contains(noDetails, []byte("generated_tokens")) {
		t.Fatal("could not strip details from the TGI transcript")
	}
	tests := []struct {
		name      string
		typ       EngineType
		api       API
		body      []byte
		requested int
		out       int
		src       string
		mismatch  bool
	}{
		{"vllm usage exact", EngineVLLM, APIChat, transcript(t, "vllm-chat-stream.sse"), 8, 8, TokensFromUsage, false},
		{"vllm usage short of requested", EngineVLLM, APIChat, transcript(t, "vllm-chat-stream.sse"), 16, 8, TokensFromUsage, true},
		{"vllm continuous usage: last wins", EngineVLLM, APIChat, transcript(t, "vllm-chat-stream-continuous-usage.sse"), 8, 8, TokensFromUsage, false},
		{"tgi details", EngineTGI, APIGenerateStream, transcript(t, "tgi-generate-stream.sse"), 10, 10, TokensFromDetails, false},
		{"tgi without details counts token events", EngineTGI, APIGenerateStream, noDetails, 10, 10, TokensFromChunks, false},
		{"tgi chat usage counts the EOS token", EngineTGI, APIChat, transcript(t, "tgi-chat-stream.sse"), 3, 3, TokensFromUsage, false},
		{"tgi chat without usage", EngineTGI, APIChat, transcript(t, "tgi-chat-stream-length.sse"), 8, 8, TokensFromChunks, false},
		{"ollama eval_count", EngineOllama, APIOllamaChat, transcript(t, "ollama-chat.ndjson"), 7, 7, TokensFromEvalCount, false},
		{"ollama eval_count includes EOS", EngineOllama, APIOllamaChat, transcript(t, "real-ollama-0.24.0-chat-stop.ndjson"), 64, 26, TokensFromEvalCount, true},
		{"ollama /v1 without usage", EngineOllama, APIChat, transcript(t, "real-ollama-0.24.0-openai-chat-stream.sse"), 64, 64, TokensFromChunks, false},
		{"ollama /v1 completions without usage", EngineOllama, APICompletions, transcript(t, "real-ollama-0.11.4-openai-completions-stream.sse"), 20, 16, TokensFromChunks, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := bodyServer(t, 200, contentTypeFor(tc.api), tc.body)
			rec := do(testClient(srv.URL, tc.typ, tc.api), context.Background(), tc.requested)
			if !rec.OK {
				t.Fatalf("failed: %s %s", rec.ErrorClass, rec.Error)
			}
			if rec.OutputTokens != tc.out || rec.OutputTokensSource != tc.src || rec.OutputMismatch != tc.mismatch {
				t.Errorf("out=%d src=%s mismatch=%v, want %d %s %v", rec.OutputTokens, rec.OutputTokensSource, rec.OutputMismatch, tc.out, tc.src, tc.mismatch)
			}
			if rec.RequestedOutputTokens != tc.requested {
				t.Errorf("requested = %d", rec.RequestedOutputTokens)
			}
			// Derived metrics follow docs/metrics.md from the measured ones.
			e2e, ttft := *rec.E2EMS, *rec.TTFTMS
			if got, want := *rec.NTPOTMS, e2e/float64(tc.out); math.Abs(got-want) > 1e-9 {
				t.Errorf("ntpot = %v, want %v", got, want)
			}
			if got, want := *rec.TPOTMS, (e2e-ttft)/float64(tc.out-1); math.Abs(got-want) > 1e-9 {
				t.Errorf("tpot = %v, want %v", got, want)
			}
		})
	}
}

func TestClientOllamaServerTimings(t *testing.T) {
	srv := bodyServer(t, 200, "application/x-ndjson", transcript(t, "ollama-chat.ndjson"))
	rec := do(testClient(srv.URL, EngineOllama, APIOllamaChat), context.Background(), 7)
	if !rec.OK {
		t.Fatal(rec.Error)
	}
	for _, f := range []struct {
		name string
		got  *float64
		want float64
	}{
		{"total", rec.ServerTotalMS, 174.560334},
		{"load", rec.ServerLoadMS, 101.397084},
		{"prompt_eval", rec.ServerPromptEvalMS, 13.074791},
		{"eval", rec.ServerEvalMS, 52.479709},
	} {
		if f.got == nil || math.Abs(*f.got-f.want) > 1e-9 {
			t.Errorf("server %s ms = %v, want %v", f.name, f.got, f.want)
		}
	}
	if rec.PromptTokens != 11 || rec.FinishReason != "stop" {
		t.Errorf("prompt=%d finish=%q", rec.PromptTokens, rec.FinishReason)
	}
	// Other engines have no server timings.
	srv2 := bodyServer(t, 200, "text/event-stream", transcript(t, "vllm-chat-stream.sse"))
	rec2 := do(testClient(srv2.URL, EngineVLLM, APIChat), context.Background(), 8)
	if rec2.ServerTotalMS != nil || rec2.ServerEvalMS != nil {
		t.Error("vLLM record has Ollama server timings")
	}
}

func TestClientStreamShapes(t *testing.T) {
	vllm := transcript(t, "vllm-chat-stream.sse")
	noDone := bytes.TrimSuffix(vllm, []byte("data: [DONE]\n\n"))
	tests := []struct {
		name  string
		body  string
		class string // "" for OK
		check func(t *testing.T, rec *Record)
	}{
		{"bytes after [DONE] are ignored", string(vllm) + "data: {garbage\n\n", "", nil},
		{"finish_reason then EOF without [DONE]", string(noDone), "", nil},
		{"role only then [DONE]", "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\ndata: [DONE]\n\n", ErrNoGenerated, nil},
		{"usage only then [DONE]", "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":0}}\n\ndata: [DONE]\n\n", ErrNoGenerated, nil},
		{"reasoning before content", "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n" +
			"data: {\"choices\":[{\"delta\":{\"reasoning_content\":\"hmm\"}}]}\n\n" +
			"data: {\"choices\":[{\"delta\":{\"reasoning\":\"so\"}}]}\n\n" +
			"data: {\"choices\":[{\"delta\":{\"content\":\"A\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n", "",
			func(t *testing.T, rec *Record) {
				if rec.Chunks != 3 || rec.ReasoningChunks != 2 || rec.TTFTContentMS == nil || *rec.TTFTContentMS < *rec.TTFTMS {
					t.Errorf("chunks=%d reasoning=%d ttft=%v content=%v", rec.Chunks, rec.ReasoningChunks, *rec.TTFTMS, rec.TTFTContentMS)
				}
			}},
		{"tool calls count as output", "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"name\":\"f\"}}]},\"finish_reason\":\"tool_calls\"}]}\n\ndata: [DONE]\n\n", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := bodyServer(t, 200, "text/event-stream", []byte(tc.body))
			rec := do(testClient(srv.URL, EngineVLLM, APIChat), context.Background(), 8)
			checkRecord(t, &rec)
			if tc.class == "" && !rec.OK {
				t.Fatalf("failed: %s %s", rec.ErrorClass, rec.Error)
			}
			if tc.class != "" {
				checkFailed(t, &rec, tc.class)
			}
			if tc.check != nil {
				tc.check(t, &rec)
			}
		})
	}
}

// TestClientKeepAlive: a finished stream must leave its connection reusable.
// net/http closes an HTTP/1.1 connection whose body is closed before its
// end, and then every request pays a new handshake inside TTFB and TTFT.
func TestClientKeepAlive(t *testing.T) {
	for _, name := range []string{"vllm-chat-stream.sse", "tgi-generate-stream.sse", "ollama-chat.ndjson", "vllm-chat-stream-error.sse"} {
		t.Run(name, func(t *testing.T) {
			api := apiFor(name)
			body := transcript(t, name)
			var conns atomic.Int32
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", contentTypeFor(api))
				// Event by event, as engines write, so the final event
				// and the end of the body arrive in separate reads.
				for _, p := range bytes.SplitAfter(body, []byte("\n")) {
					_, _ = w.Write(p)
					w.(http.Flusher).Flush()
				}
			}))
			srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					conns.Add(1)
				}
			}
			srv.Start()
			defer srv.Close()
			c := testClient(srv.URL, engineFor(name), api)
			for range 4 {
				rec := do(c, context.Background(), 8)
				if rec.ErrorClass != "" && rec.ErrorClass != ErrStream {
					t.Fatalf("%s: %s", rec.ErrorClass, rec.Error)
				}
			}
			if n := conns.Load(); n != 1 {
				t.Errorf("4 sequential requests opened %d connections, want 1", n)
			}
		})
	}
}

// TestClientDrainBounded: a server that keeps the body open after its final
// event costs the worker at most drainWait, and the request is still OK
// with its end at the final event.
func TestClientDrainBounded(t *testing.T) {
	// Read in the test's goroutine: a skip inside the handler would only
	// end the handler.
	body := transcript(t, "vllm-chat-stream.sse")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write(body)
		w.(http.Flusher).Flush()
		// Held far longer than any test runs: only the client's own
		// drain deadline can end this request.
		select {
		case <-r.Context().Done():
		case <-time.After(time.Minute):
		}
	}))
	defer srv.Close()
	c := testClient(srv.URL, EngineVLLM, APIChat)
	start := time.Now()
	rec := do(c, context.Background(), 8)
	el := time.Since(start)
	if el > 30*time.Second {
		t.Errorf("Do took %v with a server that holds the stream open: the drain is not bounded", el)
	}
	if !rec.OK {
		t.Fatalf("%s: %s", rec.ErrorClass, rec.Error)
	}
	// The drain starts after the final event's stamp and lasts drainWait:
	// an E2E that ends at the final event leaves at least that much of Do.
	if e2e := time.Duration(*rec.E2EMS * 1e6); e2e+drainWait > el {
		t.Errorf("e2e %v + drain %v exceeds the call's %v: e2e includes the drain", e2e, drainWait, el)
	}
}

// TestClientPooledStateIsClean: stream state is reused between requests; a
// stream that broke off in the middle of a multi-line event, or after an
// error event, must leave nothing behind for the next one.
func TestClientPooledStateIsClean(t *testing.T) {
	good := transcript(t, "vllm-chat-stream.sse")
	bodies := [][]byte{
		[]byte("data: {\"choices\":[{\"delta\":\ndata: {\"content\":\"x\"}}]}\ndata: {\"cho"),
		transcript(t, "vllm-chat-stream-error.sse"),
		[]byte("data: {\"choices\":[{\"delta\":{\"content\":\"x\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":99,\"completion_tokens\":99}}\n\n"),
	}
	for i, bad := range bodies {
		for _, b := range [][]byte{bad, good} {
			srv := bodyServer(t, 200, "text/event-stream", b)
			rec := do(testClient(srv.URL, EngineVLLM, APIChat), context.Background(), 8)
			if bytes.Equal(b, good) {
				if !rec.OK || rec.Chunks != 8 || rec.OutputTokens != 8 || rec.PromptTokens != 41 || rec.FinishReason != "length" {
					t.Errorf("after body %d: ok=%v chunks=%d out=%d prompt=%d finish=%q %s", i, rec.OK, rec.Chunks, rec.OutputTokens, rec.PromptTokens, rec.FinishReason, rec.Error)
				}
			}
		}
	}
}

func TestHTMLAnswerIsAParseErrorNamingTheURL(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "<html><body>Please log in</body></html>")
	}))
	defer hs.Close()
	c := &Client{HTTP: NewHTTPClient(HTTPOptions{}), Target: Target{Name: "x", Type: EngineVLLM, BaseURL: hs.URL, API: APIChat}, Clock: NewClock()}
	var rec Record
	c.Do(context.Background(), Request{Messages: []Message{{Role: "user", Content: "hi"}}, MaxTokens: 4}, time.Now(), &rec)
	if rec.OK || rec.ErrorClass != ErrParse || !strings.Contains(rec.Error, hs.URL+"/v1/chat/completions") || !strings.Contains(rec.Error, "HTML") {
		t.Errorf("got ok=%v class=%q error=%q", rec.OK, rec.ErrorClass, rec.Error)
	}
}
