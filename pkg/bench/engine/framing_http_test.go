package engine

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// cappedConn returns at most max bytes per Read, so that the HTTP client's
// 4 KiB reader and the chunked decoder meet every boundary a slow or busy
// reader would.
type cappedConn struct {
	net.Conn
	max int
}

func (c cappedConn) Read(p []byte) (int, error) {
	if len(p) > c.max {
		p = p[:c.max]
	}
	return c.Conn.Read(p)
}

// NetConn lets arrivalsOf find the stamping connection underneath.
func (c cappedConn) NetConn() net.Conn { return c.Conn }

// TestRealOllamaStreamsThroughTheHTTPClient sends the streams captured from
// a real Ollama v0.24.0 through the real client (transport, chunked
// decoding, frameReader, parser) with the server's writes and the socket's
// reads cut at every size around 4 KiB, where net/http's buffers turn over:
// every request must end OK with exactly the events the file holds.
func TestRealOllamaStreamsThroughTheHTTPClient(t *testing.T) {
	var names []string
	for _, pat := range []string{"real-ollama-0.24.0-*.ndjson", "real-ollama-0.24.0-*stream*.sse"} {
		m, _ := filepath.Glob(filepath.Join(transcriptDir, pat))
		for _, p := range m {
			names = append(names, filepath.Base(p))
		}
	}
	if len(names) < 4 {
		t.Skipf("the real Ollama v0.24.0 transcripts are not under %s: check out the shared reference next to the repository", transcriptDir)
	}
	type stream struct {
		body  []byte
		ctype string
	}
	var body atomic.Pointer[stream]
	var writeSize, readCap atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := body.Load()
		b := s.body
		w.Header().Set("Content-Type", s.ctype)
		f := w.(http.Flusher)
		for k := int(writeSize.Load()); len(b) > 0; {
			n := min(k, len(b))
			_, _ = w.Write(b[:n])
			f.Flush()
			b = b[n:]
		}
	}))
	t.Cleanup(srv.Close)
	tr := NewHTTPClient(HTTPOptions{}).Transport.(*http.Transport).Clone()
	dial := tr.DialContext
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return cappedConn{Conn: c, max: int(readCap.Load())}, nil
	}
	hc := &http.Client{Transport: tr}
	t.Cleanup(tr.CloseIdleConnections)

	type cut struct{ write, read int }
	var cuts []cut
	for k := 4096 - 72; k <= 4096+72; k++ {
		cuts = append(cuts, cut{1 << 20, k}, cut{k, 1 << 20})
	}
	cuts = append(cuts, cut{1, 1 << 20}, cut{7, 13}, cut{121, 4096}, cut{4096, 121}, cut{1 << 20, 1})

	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			raw := transcript(t, name)
			api := apiFor(name)
			want, err := replay(bytes.NewReader(raw), api)
			if err != nil || !want.done || want.tokenEvents == 0 {
				t.Fatalf("the transcript does not replay to a finished stream: %v %+v", err, want)
			}
			body.Store(&stream{raw, contentTypeFor(api)})
			c := &Client{HTTP: hc, Target: Target{Name: "ollama", Type: EngineOllama, BaseURL: srv.URL, API: api, Model: "tiny"}, Timeout: 30 * time.Second, Clock: NewClock()}
			for _, k := range cuts {
				// Each cut on a fresh connection, so the cap applies to it.
				tr.CloseIdleConnections()
				writeSize.Store(int64(k.write))
				readCap.Store(int64(k.read))
				rec := do(c, context.Background(), 48)
				if !rec.OK {
					t.Fatalf("writes of %d, reads of %d bytes: %s: %s (after %d bytes, %d chunks)", k.write, k.read, rec.ErrorClass, rec.Error, rec.ResponseBytes, rec.Chunks)
				}
				if rec.Chunks != want.tokenEvents || rec.FinishReason != want.finish || (want.hasUsage && rec.OutputTokens != want.output) {
					t.Fatalf("writes of %d, reads of %d bytes: %d chunks, finish %q, %d output tokens; the file has %d, %q, %d",
						k.write, k.read, rec.Chunks, rec.FinishReason, rec.OutputTokens, want.tokenEvents, want.finish, want.output)
				}
				checkRecord(t, &rec)
				if rec.TTFBMS == nil || *rec.TTFBMS > *rec.TTFTMS {
					t.Fatalf("writes of %d, reads of %d bytes: TTFB %v after TTFT %v", k.write, k.read, rec.TTFBMS, *rec.TTFTMS)
				}
			}
		})
	}
}
