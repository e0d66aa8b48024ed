package engine

import (
	"context"
	"errors"
	"io"
	"math"
	"sync"
	"time"
)

// readStream consumes the body event by event and returns when the stream
// ended for timing purposes. src, when not nil, tells when the socket reads
// that delivered the body returned (arrivalConn).
func (c *Client) readStream(ctx, rctx context.Context, body io.Reader, src arrivals, start time.Time, rec *Record) time.Time {
	st, pool := getStreamState(c.Target.API, body, src, start)
	defer func() { st.fr.r, st.fr.src = nil, nil; pool.Put(st) }() // neither is the pool's to keep
	parser, fr, ev := st.parser, &st.fr, &st.ev
	defer func() { rec.ResponseBytes = fr.n }()
	var (
		f    = timingFold{api: c.Target.API}
		done bool
		end  time.Time
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
		if c.Watch != nil && c.Watch.Event != nil {
			c.Watch.Event(at.Sub(start), payload)
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
			// TGI sheds load inside a 200 stream: say so, as a 429 would.
			var se *ServerError
			if errors.As(ev.Err, &se) && (se.Type == "overloaded" || se.Code == 429) {
				rec.ErrorClass = ErrOverloaded
			}
			if rec.Error == "" {
				rec.Error = "the server reported an error without a message"
			}
			break
		}
		off := at.Sub(start)
		if f.fold(rec, ev, off) {
			if w := c.Watch; w != nil {
				if len(ev.Reasoning) > 0 && w.Reasoning != nil {
					w.Reasoning(off, string(ev.Reasoning))
				}
				if len(ev.Text) > 0 && w.Text != nil {
					w.Text(off, string(ev.Text))
				}
			}
		}
		if ev.Done {
			end, done = at, true
			break
		}
	}
	f.finish(rec, done, end.Sub(start))
	return end
}

// timingFold turns a stream's events, each with the offset from the send
// at which its bytes arrived, into the record's timings and counts. It
// reads no clock: the stream's reader stamps, the fold only adds up, so a
// test can feed it events at exact offsets and expect exact figures.
type timingFold struct {
	api         API
	last        time.Duration
	tokenEvents int
}

// fold adds one parsed event that arrived off after the send; it reports
// whether the event carried generated text (a chunk).
func (f *timingFold) fold(rec *Record, ev *Event, off time.Duration) bool {
	chunk := len(ev.Text) > 0 || len(ev.Reasoning) > 0
	if chunk {
		if rec.TTFTMS == nil {
			rec.TTFTMS = msPtr(off)
		} else {
			rec.ITLMS = append(rec.ITLMS, ms(off-f.last))
		}
		if len(ev.Text) > 0 && rec.TTFTContentMS == nil {
			rec.TTFTContentMS = msPtr(off)
		}
		if len(ev.Text) == 0 {
			rec.ReasoningChunks++
		}
		rec.ChunkOffsetMS = append(rec.ChunkOffsetMS, ms(off))
		f.last = off
		rec.Chunks++
	}
	f.tokenEvents += ev.Tokens
	if len(ev.FinishReason) > 0 {
		rec.FinishReason = string(ev.FinishReason)
	}
	if ev.HasUsage {
		rec.PromptTokens, rec.OutputTokens = ev.PromptTokens, ev.OutputTokens
		rec.OutputTokensSource = usageSource(f.api)
		if ev.HasCached {
			n := ev.CachedTokens
			rec.CachedTokens, rec.CachedTokensSource = &n, CachedFromUsage
		}
	}
	if ev.Ollama != nil {
		o := ev.Ollama
		rec.ServerTotalMS = msPtr(time.Duration(o.TotalNS))
		rec.ServerLoadMS = msPtr(time.Duration(o.LoadNS))
		rec.ServerPromptEvalMS = msPtr(time.Duration(o.PromptEvalNS))
		rec.ServerEvalMS = msPtr(time.Duration(o.EvalNS))
	}
	return chunk
}

// finish closes the record once the stream ended, e2e after the send:
// the output count falls back to chunks (or the events' own token
// counts) when the server reported none, and a completed stream with
// text is a success with its derived metrics.
func (f *timingFold) finish(rec *Record, done bool, e2e time.Duration) {
	if rec.OutputTokensSource == "" {
		rec.OutputTokens = rec.Chunks
		if f.tokenEvents > 0 {
			rec.OutputTokens = f.tokenEvents
		}
		rec.OutputTokensSource = TokensFromChunks
	}
	if !done {
		return
	}
	rec.E2EMS = msPtr(e2e)
	if rec.TTFTMS == nil {
		rec.ErrorClass, rec.Error = ErrNoGenerated, "the stream completed without any generated text"
		return
	}
	rec.OK = true
	FinishDerived(rec)
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
func getStreamState(a API, body io.Reader, src arrivals, start time.Time) (*streamState, *sync.Pool) {
	pool, ok := streamPools[a]
	if !ok {
		pool = streamPools[APIChat] // NewParser's default: OpenAI-compatible
	}
	st := pool.Get().(*streamState)
	st.fr.reset(body, src, start)
	return st, pool
}

// Where a record's cached_tokens came from.
const (
	CachedFromUsage     = "usage"
	CachedFromShortfall = "prompt_eval_shortfall"
)

// PromptMismatch is whether the engine counted a prompt shaped to an exact
// length more than 1% away from the length asked for (at least one token
// for prompts under 100). Unknown on either side is no mismatch.
func PromptMismatch(requested, counted int) bool {
	if requested <= 0 || counted <= 0 {
		return false
	}
	return math.Abs(float64(counted-requested)) > 0.01*float64(requested)
}

// FinishDerived computes the per-request derived metrics from measured ones.
// The formulas are the ones in docs/metrics.md.
func FinishDerived(rec *Record) {
	n := rec.OutputTokens
	rec.OutputMismatch = rec.RequestedOutputTokens > 0 && n != rec.RequestedOutputTokens
	if short := rec.RequestedPromptTokens - rec.PromptTokens; rec.EngineType == EngineOllama && rec.CachedTokens == nil &&
		rec.SharedPrefixTokens > 0 && rec.PromptTokens > 0 && short >= max(8, rec.SharedPrefixTokens/2) && short <= rec.SharedPrefixTokens+8 {
		// An Ollama that counts in prompt_eval_count only what it
		// evaluated: a shaped prompt that comes back short by about its
		// shared prefix had that reused from the slot's KV cache. (v0.11.4
		// counts the whole prompt whatever it reused [UNSURE for others];
		// a shortfall of a token or two is the shaping's, not a cache's.)
		rec.CachedTokens, rec.CachedTokensSource = &short, CachedFromShortfall
	} else {
		rec.PromptMismatch = PromptMismatch(rec.RequestedPromptTokens, rec.PromptTokens)
	}
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
