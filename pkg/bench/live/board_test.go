package live

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }
func ms(v float64) *float64              { return &v }
func (c *clock) rec(eng, scen string, ttft, tpot float64) *engine.Record {
	return &engine.Record{Engine: eng, Scenario: scen, Phase: engine.PhaseMeasure, OK: true, TTFTMS: ms(ttft), TPOTMS: ms(tpot),
		OutputTokens: 10, EndUnixNS: c.t.UnixNano(), ScheduleLagMS: 0.5}
}

func newTestBoard(scenarios []workload.Scenario, engines ...string) (*Board, *clock) {
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	b := NewBoard(engines, scenarios, false)
	b.now, b.started = c.now, c.t
	return b, c
}

func laneOf(t *testing.T, s Snapshot, eng, scen string) Lane {
	t.Helper()
	for _, l := range s.Lanes {
		if l.Engine == eng && l.Scenario == scen {
			return l
		}
	}
	t.Fatalf("no lane %s × %s in %+v", eng, scen, s.Lanes)
	return Lane{}
}

func val(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

func TestBoardFollowsAnOpenLoop(t *testing.T) {
	poisson := workload.Scenario{Name: "chat", Arrival: workload.ArrivalPoisson, Rate: 10, Duration: 10 * time.Second}
	b, c := newTestBoard([]workload.Scenario{poisson}, "vllm", "tgi")
	if s := b.Snapshot(); len(s.Lanes) != 2 || s.Lanes[0].State != Pending || s.ETAS != 20 || !s.ETAExact {
		t.Fatalf("planned board: %+v", s)
	}
	b.ScenarioStarted(engine.Target{Name: "vllm"}, poisson)
	for i := range 4 {
		c.advance(500 * time.Millisecond)
		rec := c.rec("vllm", "chat", float64(100*(i+1)), 20)
		b.RequestSent(rec)
		if i < 3 {
			// TTFTs 100, 200, 300 ms; the fourth request stays in flight.
			b.Write(rec)
		}
	}
	s := b.Snapshot()
	l := laneOf(t, s, "vllm", "chat")
	if l.State != Running || l.Done != 3 || l.Failed != 0 || l.InFlight != 1 {
		t.Errorf("counts: %+v", l)
	}
	if l.ElapsedS != 2 || l.Progress != 0.2 || l.ETAS != 8 || l.AskedRPS != 10 {
		t.Errorf("progress %g, ETA %g s, elapsed %g, asked %g; want 0.2, 8, 2, 10", l.Progress, l.ETAS, l.ElapsedS, l.AskedRPS)
	}
	// Nearest rank over {100, 200, 300}: p50 is the 2nd, p95 the 3rd.
	if val(l.TTFTP50MS) != 200 || val(l.TTFTP95MS) != 300 || val(l.TPOTP50MS) != 20 || val(l.LagP95MS) != 0.5 {
		t.Errorf("rolling figures: ttft %v/%v tpot %v lag %v", val(l.TTFTP50MS), val(l.TTFTP95MS), val(l.TPOTP50MS), val(l.LagP95MS))
	}
	// Three done in the 2 s since the start: 1.5/s and 15 tokens/s.
	if l.DoneRPS != 1.5 || l.TokensPerS != 15 {
		t.Errorf("rates: %g req/s, %g tok/s; want 1.5, 15", l.DoneRPS, l.TokensPerS)
	}
	if last := l.Spark[len(l.Spark)-1]; val(last) != 200 || l.Spark[0] != nil {
		t.Errorf("sparkline ends %v, starts %v", val(last), l.Spark[0])
	}
	// The overall ETA: vllm's 8 s left plus tgi's 10 s still to come.
	if s.ETAS != 18 || math.Abs(s.Progress-2.0/20) > 1e-9 {
		t.Errorf("overall ETA %g s, progress %g; want 18, 0.1", s.ETAS, s.Progress)
	}

	// A minute later the rolling figures are gone; the counts stay.
	c.advance(61 * time.Second)
	b.ScenarioFinished(engine.Target{Name: "vllm"}, poisson)
	c.advance(time.Second)
	l = laneOf(t, b.Snapshot(), "vllm", "chat")
	if l.State != Done || l.Progress != 1 || l.ETAS != 0 || l.Done != 3 || l.TTFTP50MS != nil || l.DoneRPS != 0 {
		t.Errorf("finished lane: %+v", l)
	}
}

func TestBoardSLOTurnsWhenItCanNoLongerHold(t *testing.T) {
	slo, err := workload.ParseSLO("ttft_p90=100ms", "test")
	if err != nil {
		t.Fatal(err)
	}
	s := workload.Scenario{Name: "slo", Arrival: workload.ArrivalSequential, Requests: 40, SLO: slo}
	b, c := newTestBoard([]workload.Scenario{s}, "ollama")
	b.ScenarioStarted(engine.Target{Name: "ollama"}, s)
	// 4 of 40 may miss; the guard judges after 20 measured requests.
	for i := range 25 {
		c.advance(10 * time.Millisecond)
		ttft := 50.0
		if i < 5 {
			ttft = 400
		}
		b.Write(c.rec("ollama", "slo", ttft, 10))
		if got := laneOf(t, b.Snapshot(), "ollama", "slo"); i < 19 && got.SLO != "holding" {
			t.Fatalf("after %d requests SLO %q, want holding", i+1, got.SLO)
		}
	}
	l := laneOf(t, b.Snapshot(), "ollama", "slo")
	if l.SLO != "missed" || l.SLOReason == "" {
		t.Errorf("5 of 40 missed a p90 target, SLO %q (%s), want missed", l.SLO, l.SLOReason)
	}
	if l.Progress != 25.0/40 || math.Abs(l.ETAS-0.25*15/25) > 1e-9 {
		t.Errorf("count-bounded progress %g ETA %g", l.Progress, l.ETAS)
	}
}

// In-cluster records arrive without an announcement: they open their lane
// and never drive in-flight below zero.
func TestBoardTakesUnannouncedRecords(t *testing.T) {
	b, c := newTestBoard(nil)
	r := c.rec("tgi", "remote", 80, 9)
	r.OK, r.ErrorClass = false, engine.ErrTimeout
	b.Write(r)
	b.Write(c.rec("tgi", "remote", 80, 9))
	b.SetWorkers([]Worker{{Index: 0, Node: "n1", State: "running", Records: 2}})
	s := b.Snapshot()
	l := laneOf(t, s, "tgi", "remote")
	if l.State != Running || l.InFlight != -1 || l.Done != 2 || l.Failed != 1 || len(s.Workers) != 1 {
		t.Errorf("%+v workers %+v", l, s.Workers)
	}
	if s.ETAExact {
		t.Error("a lane with no bounds cannot give an exact ETA")
	}
}

// Each second keeps a bounded sample, however many requests it has, and
// the same records always give the same figures.
func TestReservoirIsBoundedAndDeterministic(t *testing.T) {
	var a, b reservoir
	for i := range 100_000 {
		a.add(float64(i))
		b.add(float64(i))
	}
	if a.kept != perBucket || a.vals != b.vals {
		t.Fatalf("kept %d, equal %v", a.kept, a.vals == b.vals)
	}
	late := 0
	for _, v := range a.vals {
		if v >= 50_000 {
			late++
		}
	}
	// A uniform sample has about half its values from the second half.
	if late < perBucket/4 || late > perBucket*3/4 {
		t.Errorf("%d of %d samples from the second half: not uniform", late, perBucket)
	}
}

func TestRecordWritesSnapshots(t *testing.T) {
	b, c := newTestBoard([]workload.Scenario{{Name: "x", Arrival: workload.ArrivalSequential, Requests: 2}}, "vllm")
	b.Write(c.rec("vllm", "x", 10, 1))
	var buf bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Record(ctx, b, &buf, time.Hour); err != nil {
		t.Fatal(err)
	}
	var s Snapshot
	if err := json.Unmarshal(buf.Bytes(), &s); err != nil {
		t.Fatalf("%v: %s", err, buf.String())
	}
	if len(s.Lanes) != 1 || s.Lanes[0].Done != 1 || val(s.Lanes[0].TTFTP50MS) != 10 {
		t.Errorf("recorded %s", buf.String())
	}
}

// A scenario nothing bounds but another engine has finished is expected
// to take as long again.
func TestBoardEstimatesFromAnotherEngine(t *testing.T) {
	s := workload.Scenario{Name: "ttft", Arrival: workload.ArrivalSequential, Requests: 6}
	b, c := newTestBoard([]workload.Scenario{s}, "vllm", "tgi")
	b.ScenarioStarted(engine.Target{Name: "vllm"}, s)
	c.advance(3 * time.Second)
	b.ScenarioFinished(engine.Target{Name: "vllm"}, s)
	snap := b.Snapshot()
	if l := laneOf(t, snap, "tgi", "ttft"); l.ETAS != 3 || snap.ETAS != 3 || snap.ETAExact {
		t.Errorf("pending lane ETA %g, overall %g (exact %v); want 3 s from vllm's run", l.ETAS, snap.ETAS, snap.ETAExact)
	}
}

// A request dropped at the client's cap was never sent: it must not end
// one that was. An old record (a journal backlog) or one from a clock
// ahead never wipes the current second; Finish ends lanes nobody ended.
func TestBoardInFlightAndClocks(t *testing.T) {
	s := workload.Scenario{Name: "chat", Arrival: workload.ArrivalClosed, Concurrency: 2}
	b, c := newTestBoard([]workload.Scenario{s}, "vllm")
	if snap := b.Snapshot(); snap.Progress != -1 || snap.ETAS != -1 {
		t.Errorf("nothing bounds the run, yet progress %g, ETA %g", snap.Progress, snap.ETAS)
	}
	b.ScenarioStarted(engine.Target{Name: "vllm"}, s)
	c.advance(2 * time.Second)
	sent := c.rec("vllm", "chat", 100, 10)
	b.RequestSent(sent)
	dropped := &engine.Record{Engine: "vllm", Scenario: "chat", Phase: engine.PhaseMeasure, ErrorClass: engine.ErrDropped}
	b.Write(dropped)
	if l := laneOf(t, b.Snapshot(), "vllm", "chat"); l.InFlight != 1 || l.Failed != 1 {
		t.Fatalf("after a dropped record: %d in flight, %d failed; want 1, 1", l.InFlight, l.Failed)
	}
	b.Write(sent)
	old := c.rec("vllm", "chat", 9000, 10)
	old.EndUnixNS -= int64(90 * time.Second)
	b.Write(old)
	ahead := c.rec("vllm", "chat", 300, 10)
	ahead.EndUnixNS += int64(30 * time.Second)
	b.Write(ahead)
	l := laneOf(t, b.Snapshot(), "vllm", "chat")
	if l.InFlight != 0 || l.Done != 4 || val(l.TTFTP50MS) != 100 || val(l.TTFTP95MS) != 300 {
		t.Errorf("%d in flight, %d done, TTFT %v/%v; want 0, 4, 100/300 (the old one out of the window, the one ahead counted now)",
			l.InFlight, l.Done, val(l.TTFTP50MS), val(l.TTFTP95MS))
	}
	b.Finish()
	if l := laneOf(t, b.Snapshot(), "vllm", "chat"); l.State != Done || l.Done != 4 {
		t.Errorf("after Finish: %+v", l)
	}
}

// A cold start (a model load) counts, but stays out of the rolling
// percentiles, as it stays out of the summary's.
func TestBoardLeavesColdStartsOutOfPercentiles(t *testing.T) {
	b, c := newTestBoard(nil)
	cold := c.rec("ollama", "ttft", 30_000, 50)
	cold.ColdStart = true
	b.Write(cold)
	b.Write(c.rec("ollama", "ttft", 40, 10))
	l := laneOf(t, b.Snapshot(), "ollama", "ttft")
	if l.Done != 2 || val(l.TTFTP95MS) != 40 || val(l.TPOTP95MS) != 10 {
		t.Errorf("%d done, TTFT p95 %v, TPOT p95 %v; want 2, 40, 10", l.Done, val(l.TTFTP95MS), val(l.TPOTP95MS))
	}
}
