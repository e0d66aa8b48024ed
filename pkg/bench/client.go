package bench

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"strings"
	"sync"
	"time"
)

// HTTPOptions configure the client every request goes through.
type HTTPOptions struct {
	// InsecureSkipVerify disables TLS verification (self-signed routes).
	InsecureSkipVerify bool
	// MaxConns bounds connections per host; 0 means unbounded.
	MaxConns int
}

// NewHTTPClient returns a client tuned for many concurrent streams. It has
// no overall timeout: each request carries its own deadline in its context.
func NewHTTPClient(o HTTPOptions) *http.Client {
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        4096,
		MaxIdleConnsPerHost: 4096,
		MaxConnsPerHost:     o.MaxConns,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
		// Transparent gzip would sit between the socket and the frame
		// reader and could batch events; streams are small anyway.
		DisableCompression: true,
		ForceAttemptHTTP2:  true,
		TLSClientConfig:    &tls.Config{InsecureSkipVerify: o.InsecureSkipVerify}, //nolint:gosec // opt-in flag, warned about
	}
	return &http.Client{Transport: tr}
}

// Clock converts monotonic instants into Unix nanoseconds from one wall
// anchor taken at the start of a run.
type Clock struct{ anchor time.Time }

// NewClock anchors a clock now.
func NewClock() Clock { return Clock{anchor: time.Now()} }

// UnixNS is the wall time of a monotonic instant.
func (c Clock) UnixNS(t time.Time) int64 { return c.anchor.UnixNano() + int64(t.Sub(c.anchor)) }

// Anchor is the instant the clock was started.
func (c Clock) Anchor() time.Time { return c.anchor }

// Client sends requests to one target and times them.
type Client struct {
	HTTP    *http.Client
	Target  Target
	Timeout time.Duration
	Clock   Clock
}

// Do sends one request and fills rec's timing, token and error fields.
// intended is when the schedule wanted it sent; the lag until the actual
// send is recorded, never hidden.
func (c *Client) Do(ctx context.Context, r Request, intended time.Time, rec *Record) {
	rec.RequestedOutputTokens = r.MaxTokens
	body, err := Body(c.Target, r)
	if err != nil {
		rec.ErrorClass, rec.Error = ErrParse, err.Error()
		return
	}
	rctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	var firstByte time.Time
	rctx = httptrace.WithClientTrace(rctx, &httptrace.ClientTrace{
		GotFirstResponseByte: func() { firstByte = time.Now() },
	})
	req, err := NewHTTPRequest(rctx, c.Target, body)
	if err != nil {
		rec.ErrorClass, rec.Error = ErrConnect, err.Error()
		return
	}

	start := time.Now()
	rec.IntendedStartUnixNS = c.Clock.UnixNS(intended)
	rec.StartUnixNS = c.Clock.UnixNS(start)
	rec.ScheduleLagMS = ms(start.Sub(intended))
	end := start
	defer func() { rec.EndUnixNS = c.Clock.UnixNS(end) }()

	resp, err := c.HTTP.Do(req)
	if err != nil {
		end = time.Now()
		rec.ErrorClass, rec.Error = classifyTransportError(ctx, rctx, err), redactURLError(err)
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
	end = c.readStream(ctx, rctx, resp.Body, start, rec)
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

// readStream consumes the body event by event and returns when the stream
// ended for timing purposes.
func (c *Client) readStream(ctx, rctx context.Context, body io.Reader, start time.Time, rec *Record) time.Time {
	st, pool := getStreamState(c.Target.API, body)
	defer func() { st.fr.r = nil; pool.Put(st) }() // the body is not the pool's to keep
	parser, fr, ev := st.parser, &st.fr, &st.ev
	defer func() { rec.ResponseBytes = fr.n }()
	var (
		last        time.Duration
		tokenEvents int
		done        bool
		end         time.Time
	)
	for {
		payload, at, err := fr.next()
		if err != nil {
			if err == io.EOF && len(rec.FinishReason) > 0 {
				// Some OpenAI-compatible servers end without [DONE]; a
				// finish_reason already said the generation completed.
				end, done = fr.at, true
				break
			}
			// The request ended when the failure was seen, not at the last
			// byte, which may be long before a timeout (or never, for an
			// empty body).
			end = time.Now()
			switch {
			case rctx.Err() != nil:
				rec.ErrorClass = classifyContext(ctx, rctx)
			case err == io.EOF:
				rec.ErrorClass = ErrTruncated
				err = errors.New("stream ended before its final event")
			default:
				rec.ErrorClass = ErrTruncated
			}
			rec.Error = err.Error()
			break
		}
		if perr := parser.Parse(payload, ev); perr != nil {
			end = at
			rec.ErrorClass, rec.Error = ErrParse, perr.Error()
			if fr.partial {
				// The body ended inside this event.
				rec.ErrorClass = ErrTruncated
				rec.Error = "stream ended in the middle of an event: " + perr.Error()
			}
			break
		}
		if ev.Err != nil {
			end = at
			rec.ErrorClass, rec.Error = ErrStream, ev.Err.Error()
			if rec.Error == "" {
				rec.Error = "the server reported an error without a message"
			}
			break
		}
		if len(ev.Text) > 0 || len(ev.Reasoning) > 0 {
			off := at.Sub(start)
			if rec.TTFTMS == nil {
				rec.TTFTMS = msPtr(off)
			} else {
				rec.ITLMS = append(rec.ITLMS, ms(off-last))
			}
			if len(ev.Text) > 0 && rec.TTFTContentMS == nil {
				rec.TTFTContentMS = msPtr(off)
			}
			if len(ev.Text) == 0 {
				rec.ReasoningChunks++
			}
			rec.ChunkOffsetMS = append(rec.ChunkOffsetMS, ms(off))
			last = off
			rec.Chunks++
		}
		tokenEvents += ev.Tokens
		if len(ev.FinishReason) > 0 {
			rec.FinishReason = string(ev.FinishReason)
		}
		if ev.HasUsage {
			rec.PromptTokens, rec.OutputTokens = ev.PromptTokens, ev.OutputTokens
			rec.OutputTokensSource = usageSource(c.Target.API)
		}
		if ev.Ollama != nil {
			o := ev.Ollama
			rec.ServerTotalMS = msPtr(time.Duration(o.TotalNS))
			rec.ServerLoadMS = msPtr(time.Duration(o.LoadNS))
			rec.ServerPromptEvalMS = msPtr(time.Duration(o.PromptEvalNS))
			rec.ServerEvalMS = msPtr(time.Duration(o.EvalNS))
		}
		if ev.Done {
			end, done = at, true
			break
		}
	}
	if rec.OutputTokensSource == "" {
		rec.OutputTokens = rec.Chunks
		if tokenEvents > 0 {
			rec.OutputTokens = tokenEvents
		}
		rec.OutputTokensSource = TokensFromChunks
	}
	if !done {
		return end
	}
	e2e := end.Sub(start)
	rec.E2EMS = msPtr(e2e)
	if rec.TTFTMS == nil {
		rec.ErrorClass, rec.Error = ErrNoGenerated, "the stream completed without any generated text"
		return end
	}
	rec.OK = true
	finishDerived(rec)
	return end
}

// streamState is what reading one stream takes. It is pooled per API so
// that a run does not allocate and zero a 32 KiB buffer and warm a cold JSON
// parser for every request: at thousands of requests a second that garbage
// was most of the client's own cost, and the GC work it caused competes with
// the timing of other streams.
type streamState struct {
	parser Parser
	fr     frameReader
	ev     Event
}

var streamPools = func() map[API]*sync.Pool {
	m := make(map[API]*sync.Pool, len(APIs))
	for _, a := range APIs {
		m[a] = &sync.Pool{New: func() any {
			p, sse := NewParser(a)
			return &streamState{parser: p, fr: *newFrameReader(nil, sse)}
		}}
	}
	return m
}()

// getStreamState returns a ready state for reading body and the pool it goes
// back to. Nothing from it may outlive the stream: Record fields copy.
func getStreamState(a API, body io.Reader) (*streamState, *sync.Pool) {
	pool, ok := streamPools[a]
	if !ok {
		pool = streamPools[APIChat] // NewParser's default: OpenAI-compatible
	}
	st := pool.Get().(*streamState)
	st.fr.reset(body)
	return st, pool
}

// finishDerived computes the per-request derived metrics from measured ones.
// The formulas are the ones in docs/metrics.md.
func finishDerived(rec *Record) {
	n := rec.OutputTokens
	rec.OutputMismatch = rec.RequestedOutputTokens > 0 && n != rec.RequestedOutputTokens
	if n <= 0 || rec.E2EMS == nil {
		return
	}
	e2e := *rec.E2EMS
	ntpot := e2e / float64(n)
	rec.NTPOTMS = &ntpot
	if e2e > 0 {
		tps := float64(n) / (e2e / 1000)
		rec.OutputTokensPerS = &tps
	}
	if n >= 2 && rec.TTFTMS != nil {
		tpot := (e2e - *rec.TTFTMS) / float64(n-1)
		rec.TPOTMS = &tpot
	}
	reconcile(rec)
}

func usageSource(a API) string {
	switch a {
	case APIGenerateStream:
		return TokensFromDetails
	case APIOllamaChat, APIOllamaGenerate:
		return TokensFromEvalCount
	}
	return TokensFromUsage
}

func statusClass(code int) string {
	switch {
	case code == http.StatusTooManyRequests:
		return ErrHTTP429
	case code >= 500:
		return ErrHTTP5xx
	default:
		return ErrHTTP4xx
	}
}

// classifyContext tells a user's interrupt from the per-request deadline.
func classifyContext(parent, rctx context.Context) string {
	if parent.Err() != nil && !errors.Is(parent.Err(), context.DeadlineExceeded) {
		return ErrCanceled
	}
	if errors.Is(rctx.Err(), context.DeadlineExceeded) {
		return ErrTimeout
	}
	return ErrCanceled
}

func classifyTransportError(parent, rctx context.Context, err error) string {
	if rctx.Err() != nil {
		return classifyContext(parent, rctx)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return ErrTimeout
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return ErrTimeout
	}
	return ErrConnect
}

// redactURLError keeps the cause of a transport error without the query
// string of the URL, where some gateways expect keys.
func redactURLError(err error) string {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			return inner.Error()
		}
	}
	return err.Error()
}
