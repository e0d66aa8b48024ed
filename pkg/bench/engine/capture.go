package engine

import (
	"bytes"
	"io"
	"net/http"
	"sync"
	"time"
)

// Capture records one request as it went over the wire and its response
// as it came back, read by read, for inspect. Secrets are the caller's to
// redact when showing it.
type Capture struct {
	mu         sync.Mutex
	Method     string
	URL        string
	Header     http.Header
	Body       []byte
	Status     string
	RespHeader http.Header
	// Reads are the response body's bytes in the pieces the socket gave
	// them, each with its offset from the send.
	Reads []RawRead
	start time.Time
}

// RawRead is one read of a response body.
type RawRead struct {
	At    time.Duration
	Bytes []byte
}

// Raw is the whole response body as received.
func (c *Capture) Raw() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b bytes.Buffer
	for _, r := range c.Reads {
		b.Write(r.Bytes)
	}
	return b.Bytes()
}

// Client returns a copy of hc whose requests are recorded in c.
func (c *Capture) Client(hc *http.Client) *http.Client {
	next := hc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	out := *hc
	out.Transport = captureTransport{c: c, next: next}
	return &out
}

type captureTransport struct {
	c    *Capture
	next http.RoundTripper
}

func (t captureTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c := t.c
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	c.mu.Lock()
	c.Method, c.URL, c.Header, c.Body, c.start = req.Method, req.URL.String(), req.Header.Clone(), body, time.Now()
	c.mu.Unlock()
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.Status, c.RespHeader = resp.Status, resp.Header.Clone()
	c.mu.Unlock()
	resp.Body = &captureBody{ReadCloser: resp.Body, c: c}
	return resp, nil
}

type captureBody struct {
	io.ReadCloser
	c *Capture
}

func (b *captureBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		at := time.Since(b.c.start)
		b.c.mu.Lock()
		b.c.Reads = append(b.c.Reads, RawRead{At: at, Bytes: append([]byte(nil), p[:n]...)})
		b.c.mu.Unlock()
	}
	return n, err
}

// Framing says how the API frames its stream.
func (a API) Framing() string {
	if a == APIOllamaChat || a == APIOllamaGenerate {
		return "NDJSON: one JSON object per line"
	}
	return "SSE: data: lines, blank line between events"
}

// EndOfStream says how the API marks a finished stream.
func (a API) EndOfStream() string {
	switch a {
	case APIGenerateStream:
		return `last event has "details" (no [DONE])`
	case APIOllamaChat, APIOllamaGenerate:
		return `object with "done": true`
	}
	return "data: [DONE]"
}

// TokensFrom says where the output token count comes from.
func (a API) TokensFrom() string {
	switch usageSource(a) {
	case TokensFromDetails:
		return "details.generated_tokens of the last event"
	case TokensFromEvalCount:
		return "eval_count of the final object"
	}
	return "usage of the final chunk (stream_options.include_usage)"
}

// ServerTimings says what the API reports of the server's own timings.
func (a API) ServerTimings() string {
	if a == APIOllamaChat || a == APIOllamaGenerate {
		return "load, prompt_eval and eval durations (ns)"
	}
	return "none per request (/metrics only)"
}
