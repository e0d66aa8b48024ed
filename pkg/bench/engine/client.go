package engine

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync/atomic"
	"time"
)

// Client sends requests to one target and times them.
type Client struct {
	HTTP    *http.Client
	Target  Target
	Timeout time.Duration
	Clock   Clock
	// Watch, when set, sees the stream as it arrives (the live views);
	// a benchmark leaves it nil.
	Watch *Watch
}

// Watch receives a stream's events as they are read, each with its offset
// from the send. Text is model output: untrusted, to be escaped by whoever
// shows it. Calls come from the request's goroutine and must be quick.
type Watch struct {
	// Event gets every raw event payload (an SSE data field or an NDJSON
	// line) before it is parsed.
	Event func(at time.Duration, payload []byte)
	// Text gets each piece of generated content, Reasoning each piece of
	// generated reasoning (reasoning models), as they arrive.
	Text      func(at time.Duration, text string)
	Reasoning func(at time.Duration, text string)
}

// Do sends one request and fills rec's timing, token and error fields.
// intended is when the schedule wanted it sent; the lag until the actual
// send is recorded, never hidden.
func (c *Client) Do(ctx context.Context, r Request, intended time.Time, rec *Record) {
	rec.RequestedOutputTokens = r.MaxTokens
	rec.RequestedPromptTokens = r.PromptTokens
	// Failures before the send still get times, so they never stretch
	// a throughput window back to the epoch.
	rec.IntendedStartUnixNS = c.Clock.UnixNS(intended)
	rec.StartUnixNS, rec.EndUnixNS = rec.IntendedStartUnixNS, rec.IntendedStartUnixNS
	body, err := Body(c.Target, r)
	if err != nil {
		rec.ErrorClass, rec.Error = ErrParse, err.Error()
		return
	}
	rctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	var (
		firstByte time.Time
		wrote     atomic.Bool
		// conn is the stamping connection the request went out on, when
		// it came from NewHTTPClient; set before the request is written,
		// read by net/http's reader goroutine and by this one.
		conn  atomic.Pointer[arrivalConn]
		start time.Time
	)
	rctx = httptrace.WithClientTrace(rctx, &httptrace.ClientTrace{
		GotConn: func(i httptrace.GotConnInfo) { conn.Store(arrivalsOf(i.Conn)) },
		GotFirstResponseByte: func() {
			firstByte = time.Now()
			if a := conn.Load(); a != nil {
				firstByte = arrivedAt(a, start, time.Time{})
			}
		},
		WroteRequest: func(i httptrace.WroteRequestInfo) { wrote.Store(i.Err == nil) },
	})
	req, err := NewHTTPRequest(rctx, c.Target, body)
	if err != nil {
		rec.ErrorClass, rec.Error = ErrConnect, err.Error()
		return
	}

	start = time.Now()
	rec.IntendedStartUnixNS = c.Clock.UnixNS(intended)
	rec.StartUnixNS = c.Clock.UnixNS(start)
	rec.ScheduleLagMS = ms(start.Sub(intended))
	end := start
	defer func() { rec.EndUnixNS = c.Clock.UnixNS(end) }()

	resp, err := c.HTTP.Do(req)
	if err != nil {
		end = time.Now()
		rec.ErrorClass, rec.Error = classifyTransportError(ctx, rctx, err), redactURLError(err)
		if rec.ErrorClass == ErrConnect && wrote.Load() {
			// The server took the request and then went away: it was
			// reached, so this is a cut answer, not a connect failure.
			rec.ErrorClass = ErrTruncated
			rec.Error = "the server closed the connection before answering: " + rec.Error
		}
		return
	}
	defer resp.Body.Close()
	rec.HTTPStatus = resp.StatusCode
	if !firstByte.IsZero() {
		rec.TTFBMS = msPtr(firstByte.Sub(start))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		end = time.Now()
		rec.ResponseBytes = int64(len(b))
		rec.ErrorClass = statusClass(resp.StatusCode)
		msg := ParseErrorBody(b).Error()
		if msg == "" { // vLLM's 500 on a dead engine has an empty body
			msg = http.StatusText(resp.StatusCode)
		}
		rec.Error = fmt.Sprintf("HTTP %d: %s", resp.StatusCode, msg)
		return
	}
	if ct := resp.Header.Get("Content-Type"); strings.HasPrefix(ct, "text/html") {
		// A proxy's login page or a wrong path answered, not the engine.
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		end = time.Now()
		rec.ResponseBytes = int64(len(b))
		rec.ErrorClass = ErrParse
		rec.Error = fmt.Sprintf("expected a token stream from %s but got an HTML page (HTTP %d); check the URL, and whether a proxy or login page sits in front of the engine", c.Target.URL(), resp.StatusCode)
		return
	}
	var src arrivals
	if a := conn.Load(); a != nil {
		src = a
	}
	end = c.readStream(ctx, rctx, resp.Body, src, start, rec)
	if rctx.Err() == nil {
		drain(resp.Body, cancel)
	}
}

// drainWait bounds how long a finished stream's remainder is awaited.
const drainWait = 50 * time.Millisecond

// drain reads what follows the final event (the chunked encoding's end,
// normally already on its way) so that net/http can reuse the connection.
// Closing an HTTP/1.1 body before its end closes the connection, and every
// following request on this worker would then pay a new TCP (and TLS)
// handshake inside its TTFB and TTFT. A server that keeps the stream open
// after its final event is cut off after drainWait.
func drain(body io.Reader, cancel context.CancelFunc) {
	t := time.AfterFunc(drainWait, cancel)
	defer t.Stop()
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 256<<10))
}

func (c *Client) timeout() time.Duration {
	if c.Timeout <= 0 {
		return 10 * time.Minute
	}
	return c.Timeout
}
