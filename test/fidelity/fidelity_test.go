//go:build fidelity

// Package fidelity measures how far the client's stamps sit from the true
// emission time of each byte, against loopback servers that log when they
// wrote it. It is `make fidelity`, not part of `make test`: its bounds are
// latencies, and a latency bound belongs where the machine's own loopback
// latency is measured in the same run and widens the tolerance honestly.
package fidelity

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/live"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/openmetrics"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

const (
	// rounds interleaves calibration with measurement, so a load that
	// comes and goes widens both alike.
	rounds        = 24
	echoesARound  = 40
	tokens        = 16
	firstToken    = 4 * time.Millisecond
	tokenGap      = 1500 * time.Microsecond
	negativeSlack = time.Microsecond // float milliseconds in the record
	// medianSlack is what the client may add to the loopback's own read
	// latency: its stamping, parsing and bookkeeping happen after the stamp,
	// so on any machine the median error stays within this of calibration.
	medianSlack = 100 * time.Microsecond
	// The targets on a quiet machine, printed beside the figures.
	quietMedian = 100 * time.Microsecond
	quietP99    = 500 * time.Microsecond
)

// emission is what the server logged for one request: when each content
// event's last byte was written, and when the stream's last byte was.
type emission struct {
	marks []time.Time
	last  time.Time
	err   error
}

// scriptServer is a raw HTTP/1.1 server on loopback that answers each
// request with the next script, stamping the monotonic clock immediately
// before each write to the socket: the true emission time. net/http's server
// is not used because its buffering would sit between the stamp and the
// socket.
type scriptServer struct {
	ln     net.Listener
	script chan script
	result chan emission
}

type script struct {
	ctype            string
	writes           []write
	headersWithFirst bool
}

func newScriptServer(t *testing.T) *scriptServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &scriptServer{ln: ln, script: make(chan script, 1), result: make(chan emission, 1)}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *scriptServer) serve(c net.Conn) {
	defer c.Close()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, req.Body)
		req.Body.Close()
		sc := <-s.script
		s.result <- s.answer(c, sc)
	}
}

func (s *scriptServer) answer(c net.Conn, sc script) emission {
	headers := []byte("HTTP/1.1 200 OK\r\nContent-Type: " + sc.ctype + "\r\nTransfer-Encoding: chunked\r\n\r\n")
	t0 := time.Now()
	if !sc.headersWithFirst {
		if _, err := c.Write(headers); err != nil {
			return emission{err: err}
		}
		headers = nil
	}
	var em emission
	for i, w := range sc.writes {
		buf := append(headers, fmt.Appendf(nil, "%x\r\n", len(w.b))...)
		headers = nil
		buf = append(append(buf, w.b...), "\r\n"...)
		if i == len(sc.writes)-1 {
			buf = append(buf, "0\r\n\r\n"...)
		}
		if d := time.Until(t0.Add(w.at)); d > 0 {
			time.Sleep(d)
		}
		at := time.Now()
		if _, err := c.Write(buf); err != nil {
			return emission{err: err}
		}
		for range w.marks {
			em.marks = append(em.marks, at)
		}
		em.last = at
	}
	return em
}

// calibrate measures the loopback's own read latency: a byte echo whose
// writer stamps just before writing and whose reader stamps when its read
// returns, with nothing else in between. It is the floor any client that
// reads from a socket pays, on this machine, now.
func calibrate(t *testing.T, n int) []time.Duration {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	base := time.Now()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_ = c.(*net.TCPConn).SetNoDelay(true)
		var b [8]byte
		for range n {
			time.Sleep(500 * time.Microsecond) // the reader parks, as a streaming client does
			binary.LittleEndian.PutUint64(b[:], uint64(time.Since(base)))
			if _, err := c.Write(b[:]); err != nil {
				return
			}
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	out := make([]time.Duration, 0, n)
	var b [8]byte
	for range n {
		if _, err := io.ReadFull(c, b[:]); err != nil {
			t.Fatalf("calibration echo: %v", err)
		}
		got := time.Since(base)
		out = append(out, got-time.Duration(binary.LittleEndian.Uint64(b[:])))
	}
	return out
}

// errorsOf are one protocol's stamp errors: measured minus true.
type errorsOf struct {
	ttft, chunk, itl, e2e []time.Duration
}

func TestStampsAgainstTrueEmission(t *testing.T) {
	srv := newScriptServer(t)
	hc := engine.NewHTTPClient(engine.HTTPOptions{})
	clock := engine.NewClock()
	var cal []time.Duration
	errs := map[string]*errorsOf{}
	for _, name := range rowNames() {
		errs[name] = &errorsOf{}
	}
	for round := range rounds {
		cal = append(cal, calibrate(t, echoesARound)...)
		for _, p := range protocols {
			for _, view := range []bool{false, true} {
				stampRound(t, srv, hc, clock, p, view, round, errs)
			}
		}
	}
	report(t, cal, errs)
}

// rowNames are the protocols, each measured without and with the live
// view and the metrics endpoint following every request as run does.
func rowNames() []string {
	var names []string
	for _, p := range protocols {
		names = append(names, p.name, p.name+withView)
	}
	return names
}

const withView = " + live view"

// stampRound sends one request of each framing with protocol p. With view,
// the live board and the Prometheus exporter hear each request as run's
// would, while a goroutine draws the board's frames (4 a second) and
// scrapes the exporter (every 100 ms, ten times Prometheus' usual pace).
func stampRound(t *testing.T, srv *scriptServer, hc *http.Client, clock engine.Clock, p protocol, view bool, round int, errs map[string]*errorsOf) {
	name := p.name
	var board *live.Board
	var exp *openmetrics.Exporter
	if view {
		name += withView
		sc := workload.Scenario{Name: "fidelity", Arrival: workload.ArrivalSequential, Requests: len(framings)}
		board, exp = live.NewBoard([]string{"fidelity"}, []workload.Scenario{sc}, false), openmetrics.New("fidelity")
		board.ScenarioStarted(engine.Target{Name: "fidelity"}, sc)
		exp.ScenarioStarted(engine.Target{Name: "fidelity"}, sc)
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			frame, scrape := time.NewTicker(250*time.Millisecond), time.NewTicker(100*time.Millisecond)
			defer frame.Stop()
			defer scrape.Stop()
			for {
				select {
				case <-stop:
					return
				case <-frame.C:
					board.Snapshot()
				case <-scrape.C:
					exp.Handler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/metrics", nil))
				}
			}
		}()
	}
	c := &engine.Client{
		HTTP:    hc,
		Target:  engine.Target{Name: "fidelity", Type: p.typ, BaseURL: "http://" + srv.ln.Addr().String(), API: p.api, Model: "m"},
		Timeout: 10 * time.Second,
		Clock:   clock,
	}
	for _, f := range framings {
		ws := f.apply(p, p.events(tokens, firstToken, tokenGap))
		srv.script <- script{ctype: p.ctype, writes: ws, headersWithFirst: f.headersWithFirst}
		rec := engine.Record{Engine: "fidelity", Scenario: "fidelity", Phase: engine.PhaseMeasure}
		if view {
			board.RequestSent(&rec)
			exp.RequestSent(&rec)
		}
		c.Do(context.Background(), engine.Request{Messages: []engine.Message{{Role: "user", Content: "hi"}}, MaxTokens: tokens}, time.Now(), &rec)
		if view {
			board.Write(&rec)
			exp.Write(&rec)
		}
		em := <-srv.result
		where := fmt.Sprintf("%s, %s, round %d", name, f.name, round)
		if em.err != nil {
			t.Fatalf("%s: server: %v", where, em.err)
		}
		if !rec.OK {
			t.Fatalf("%s: request failed: %s: %s", where, rec.ErrorClass, rec.Error)
		}
		if len(rec.ChunkOffsetMS) != len(em.marks) || rec.Chunks != tokens {
			t.Fatalf("%s: %d chunk stamps and %d chunks for %d content events", where, len(rec.ChunkOffsetMS), rec.Chunks, len(em.marks))
		}
		e := errs[name]
		arrival := func(offMS float64) int64 { return rec.StartUnixNS + int64(math.Round(offMS*1e6)) }
		var prev time.Duration
		for i, off := range rec.ChunkOffsetMS {
			d := time.Duration(arrival(off) - clock.UnixNS(em.marks[i]))
			e.chunk = append(e.chunk, d)
			if i == 0 {
				e.ttft = append(e.ttft, d)
				if got := time.Duration(arrival(*rec.TTFTMS) - clock.UnixNS(em.marks[0])); got != d {
					t.Fatalf("%s: ttft_ms %v is not the first chunk's stamp %v", where, *rec.TTFTMS, off)
				}
			} else {
				e.itl = append(e.itl, d-prev)
			}
			prev = d
			if d < -negativeSlack {
				t.Errorf("%s: content event %d stamped %v before the server wrote it", where, i, -d)
			}
		}
		d := time.Duration(arrival(*rec.E2EMS) - clock.UnixNS(em.last))
		e.e2e = append(e.e2e, d)
		if d < -negativeSlack {
			t.Errorf("%s: end stamped %v before the server wrote the last event", where, -d)
		}
	}
}

// report prints the figures and holds the medians to the calibrated bound.
func report(t *testing.T, cal []time.Duration, errs map[string]*errorsOf) {
	calMed := quantile(cal, 0.5)
	bound := calMed + medianSlack
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "stamp error (measured − true)\tn\tmin\tmedian\tp99\tmax\tmedian bound\tquiet target\t\n")
	row := func(name string, v []time.Duration, abs bool) {
		if abs {
			v = slices.Clone(v)
			for i := range v {
				v[i] = max(v[i], -v[i])
			}
		}
		med, p99 := quantile(v, 0.5), quantile(v, 0.99)
		target := "—"
		if name != "loopback echo (calibration)" {
			target = "met"
			if med > quietMedian || p99 > quietP99 {
				target = "missed"
			}
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t\n", name, len(v), us(slices.Min(v)), us(med), us(p99), us(slices.Max(v)), us(bound), target)
	}
	row("loopback echo (calibration)", cal, false)
	for _, name := range rowNames() {
		e := errs[name]
		row(name+" TTFT", e.ttft, false)
		row(name+" every token", e.chunk, false)
		row(name+" ITL |gap error|", e.itl, true)
		row(name+" E2E", e.e2e, false)
	}
	tw.Flush()
	fmt.Printf("bound: the median error of each metric ≤ the loopback's median read latency (%s) + %s; no stamp before its byte was written\n", us(calMed), us(medianSlack))
	for _, name := range rowNames() {
		e := errs[name]
		check := func(metric string, v []time.Duration, abs bool) {
			if abs {
				v = slices.Clone(v)
				for i := range v {
					v[i] = max(v[i], -v[i])
				}
			}
			if med := quantile(v, 0.5); med > bound {
				t.Errorf("%s %s: median error %s exceeds the calibrated bound %s (loopback median %s + %s)", name, metric, us(med), us(bound), us(calMed), us(medianSlack))
			}
		}
		check("TTFT", e.ttft, false)
		check("every token", e.chunk, false)
		check("ITL", e.itl, true)
		check("E2E", e.e2e, false)
	}
}

// quantile is the nearest-rank quantile.
func quantile(v []time.Duration, q float64) time.Duration {
	s := slices.Clone(v)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(i, 0)]
}

func us(d time.Duration) string {
	return fmt.Sprintf("%.1f µs", float64(d)/1e3)
}
