package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// pipeListener hands the server the far end of in-memory connections, so
// a whole HTTP exchange runs inside a synctest bubble, on its fake clock.
type pipeListener struct {
	conns chan net.Conn
	once  sync.Once
	done  chan struct{}
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, errors.New("listener closed")
	}
}

func (l *pipeListener) Close() error   { l.once.Do(func() { close(l.done) }); return nil }
func (l *pipeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

func (l *pipeListener) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return &arrivalConn{Conn: client}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Through the real client, HTTP and framing, with time that only moves
// when every goroutine waits: a server that thinks 30 ms before its first
// token and 10 ms between tokens yields exactly those figures, on any
// machine, however busy.
func TestClientTimingsAreExactOnAFakeClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const ms = time.Millisecond
		ln := newPipeListener()
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(http.StatusOK)
			fl := w.(http.Flusher)
			fl.Flush()
			time.Sleep(30 * ms)
			for i, tok := range []string{"Hel", "lo", " world"} {
				if i > 0 {
					time.Sleep(10 * ms)
				}
				finish := "null"
				if i == 2 {
					finish = `"length"`
				}
				fmt.Fprintf(w, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":%q},\"finish_reason\":%s}]}\n\n", tok, finish)
				fl.Flush()
			}
			time.Sleep(5 * ms)
			fmt.Fprint(w, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":3,\"total_tokens\":8}}\n\ndata: [DONE]\n\n")
			fl.Flush()
		})}
		go srv.Serve(ln)
		defer srv.Close()
		tr := &http.Transport{DialContext: ln.dial, DisableCompression: true}
		defer tr.CloseIdleConnections()
		c := &Client{HTTP: &http.Client{Transport: tr}, Target: Target{Name: "vllm", Type: EngineVLLM, API: APIChat, BaseURL: "http://127.0.0.1", Model: "m"},
			Timeout: time.Minute, Clock: NewClock()}
		var rec Record
		c.Do(context.Background(), Request{Messages: []Message{{Role: "user", Content: "hi"}}, MaxTokens: 3}, time.Now(), &rec)
		if !rec.OK {
			t.Fatalf("request failed: %s: %s", rec.ErrorClass, rec.Error)
		}
		exactMS(t, "ttft", rec.TTFTMS, 30)
		exactMS(t, "e2e", rec.E2EMS, 55)
		exactMS(t, "tpot", rec.TPOTMS, 12.5) // (55 - 30) / (3 - 1)
		exactMS(t, "ttfb", rec.TTFBMS, 0)    // the headers were flushed at once
		if !slices.Equal(rec.ITLMS, []float64{10, 10}) || !slices.Equal(rec.ChunkOffsetMS, []float64{30, 40, 50}) {
			t.Errorf("itl %v, chunk offsets %v", rec.ITLMS, rec.ChunkOffsetMS)
		}
		if rec.OutputTokens != 3 || rec.PromptTokens != 5 {
			t.Errorf("tokens %d→%d", rec.PromptTokens, rec.OutputTokens)
		}
	})
}
