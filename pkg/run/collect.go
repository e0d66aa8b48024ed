package run

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/load"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/stats"
	"github.com/llmbench/kubectl-llmbench/pkg/export"
)

// Remote is one load worker as the plugin reaches it (a port-forward to
// its Pod, or the API server's Pod proxy).
type Remote struct {
	Index     int
	Pod, Node string
	BaseURL   string
	HTTP      *http.Client
	// Token is the worker's control token (WorkerOptions.Token).
	Token string
	// Gone, when set, says whether the worker's Pod is gone for good
	// (deleted, failed): then an unanswered worker is lost at once
	// instead of after LostAfter.
	Gone func() (bool, string)
}

// Collector drives a distributed run's workers: it waits until they are
// ready, gives them one start, pulls every journal as it grows (resuming
// from its offset after a dropped connection) into Sink, and releases
// them once everything is home.
type Collector struct {
	Workers []Remote
	Sink    load.Sink
	// Poll is how often journals and progress are asked for.
	Poll time.Duration
	// LostAfter is how long an unanswering worker whose Pod is not known
	// to be gone is retried before it counts as lost.
	LostAfter time.Duration
	// Lead is how far ahead of the workers' clock the start is set, for
	// the start to reach them all.
	Lead time.Duration
	// Grace is how long workers get after a stop to finish and be
	// collected.
	Grace time.Duration
	// Agreed, when set, hears the start instant before any worker does
	// (the plugin records it on the Job's ConfigMap); an error calls the
	// start off.
	Agreed func(time.Time) error
	// Progress, when set, hears every worker's status after each poll.
	Progress func([]WorkerStatus)
	Log      *slog.Logger

	mu      sync.Mutex
	workers []*remoteState
}

type remoteState struct {
	Remote
	offset   int64
	partial  []byte // a line not yet complete
	status   WorkerStatus
	final    bool // the journal is home to its last byte
	lost     string
	silentAt time.Time // first failure of a run of them
	lag      stats.Sample
	records  int64
}

// ErrNotReady is returned by Ready when a worker cannot run.
var ErrNotReady = errors.New("a load worker cannot run")

func (c *Collector) init() {
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Poll <= 0 {
		c.Poll = 500 * time.Millisecond
	}
	if c.LostAfter <= 0 {
		c.LostAfter = 30 * time.Second
	}
	if c.Lead <= 0 {
		c.Lead = 2 * time.Second
	}
	if c.workers == nil {
		for _, w := range c.Workers {
			c.workers = append(c.workers, &remoteState{Remote: w})
		}
	}
}

// Ready waits until every worker has reached the engines (or ctx ends),
// and fails naming each worker that cannot reach one.
func (c *Collector) Ready(ctx context.Context) error {
	c.init()
	for {
		var waiting, problems []string
		for _, w := range c.workers {
			st, err := c.status(ctx, w)
			switch {
			case err != nil:
				waiting = append(waiting, fmt.Sprintf("worker %d: %v", w.Index, err))
			case st.State == WorkerProbing:
				waiting = append(waiting, fmt.Sprintf("worker %d: reaching the engines", w.Index))
			case st.State == WorkerFailed:
				problems = append(problems, fmt.Sprintf("worker %d (%s): %s", w.Index, w.where(), st.Error))
			case len(st.Unreachable) > 0:
				problems = append(problems, fmt.Sprintf("worker %d (%s) cannot reach %s", w.Index, w.where(), strings.Join(st.Unreachable, "; ")))
			}
		}
		if len(problems) > 0 {
			return fmt.Errorf("%w:\n  %s\ncheck the engines' Services and NetworkPolicies from the benchmark namespace", ErrNotReady, strings.Join(problems, "\n  "))
		}
		if len(waiting) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("load workers not ready: %s: %w", strings.Join(waiting, "; "), ctx.Err())
		case <-time.After(c.Poll):
		}
	}
}

func (w *remoteState) where() string {
	s := "pod " + w.Pod
	if w.Node != "" {
		s += " on node " + w.Node
	}
	return s
}

// Begin gives every worker the same start, set on the first worker's
// clock (the cluster's, not this machine's) Lead ahead; it returns the
// instant. A worker that refuses it (too late) fails the run.
func (c *Collector) Begin(ctx context.Context) (time.Time, error) {
	c.init()
	sent := time.Now()
	st, err := c.status(ctx, c.workers[0])
	if err != nil {
		return time.Time{}, fmt.Errorf("reading worker 0's clock: %w", err)
	}
	// The worker read its clock about halfway through the round trip.
	rtt := time.Since(sent)
	at := st.NowUnixNS + int64(rtt/2) + int64(c.Lead)
	if c.Agreed != nil {
		if err := c.Agreed(time.Unix(0, at)); err != nil {
			return time.Time{}, err
		}
	}
	body, _ := json.Marshal(Start{AtUnixNS: at})
	var refused []string
	for _, w := range c.workers {
		resp, err := c.post(ctx, w, PathStart, body)
		if err != nil {
			refused = append(refused, fmt.Sprintf("worker %d (%s): %v", w.Index, w.where(), err))
			continue
		}
		if resp != "" {
			refused = append(refused, fmt.Sprintf("worker %d (%s): %s", w.Index, w.where(), resp))
		}
	}
	if len(refused) > 0 {
		return time.Time{}, fmt.Errorf("the load workers could not start together:\n  %s\nretry; if it keeps happening, the API server is slow to reach the workers", strings.Join(refused, "\n  "))
	}
	return time.Unix(0, at), nil
}

// Follow pulls the journals into Sink until every worker is done and
// collected, lost, or — after stop is closed (Ctrl-C) — stopped and
// collected or out of Grace. It returns each worker as it ended.
func (c *Collector) Follow(ctx context.Context, stop <-chan struct{}) []export.LoadWorker {
	c.init()
	var deadline <-chan time.Time
	stopped := false
	tick := time.NewTicker(c.Poll)
	defer tick.Stop()
	for {
		if !stopped {
			select {
			case <-stop:
				stopped = true
				for _, w := range c.workers {
					if _, err := c.post(ctx, w, PathStop, nil); err != nil {
						c.Log.Warn("stopping a load worker", "worker", w.Index, "error", err)
					}
				}
				deadline = time.After(c.Grace + 5*time.Second)
			default:
			}
		}
		open := 0
		for _, w := range c.workers {
			if w.final || w.lost != "" {
				continue
			}
			c.pull(ctx, w)
			if !w.final && w.lost == "" {
				open++
			}
		}
		if c.Progress != nil {
			c.Progress(c.Statuses())
		}
		if open == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return c.report(stopped)
		case <-deadline:
			for _, w := range c.workers {
				if !w.final && w.lost == "" {
					w.lost = fmt.Sprintf("not collected within %s of the stop", c.Grace+5*time.Second)
				}
			}
			return c.report(stopped)
		case <-tick.C:
		case <-stop:
		}
	}
	return c.report(stopped)
}

// pull asks one worker for its journal from the offset reached and for
// its status; failures count toward losing it.
func (c *Collector) pull(ctx context.Context, w *remoteState) {
	_, err := c.status(ctx, w)
	if err == nil {
		err = c.journal(ctx, w)
	}
	if err == nil {
		w.silentAt = time.Time{}
		return
	}
	if ctx.Err() != nil {
		return
	}
	if w.silentAt.IsZero() {
		w.silentAt = time.Now()
	}
	gone, why := false, ""
	if w.Gone != nil {
		gone, why = w.Gone()
	}
	switch {
	case gone:
		w.lost = fmt.Sprintf("its Pod %s went away mid-run (%s); the %d records it had sent home are kept", w.Pod, why, w.records)
	case time.Since(w.silentAt) > c.LostAfter:
		w.lost = fmt.Sprintf("unanswered for %s (%v); the %d records it had sent home are kept", c.LostAfter, err, w.records)
	default:
		c.Log.Info("load worker unanswered; retrying", "worker", w.Index, "error", err)
		return
	}
	c.Log.Warn("load worker lost", "worker", w.Index, "why", w.lost)
}

// journal reads the worker's journal from w.offset; each complete line
// goes to the sink, a partial one waits for the rest.
func (c *Collector) journal(ctx context.Context, w *remoteState) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.BaseURL+PathJournal+"?offset="+strconv.FormatInt(w.offset, 10), nil)
	if err != nil {
		return err
	}
	resp, err := w.do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("journal: %s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	final := resp.Header.Get(HeaderJournalFinal) == "true"
	buf := make([]byte, 64<<10)
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			w.offset += int64(n)
			c.lines(w, buf[:n])
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			// What arrived is kept; the next ask starts where it broke.
			return rerr
		}
	}
	if final {
		if len(w.partial) > 0 {
			c.Log.Warn("a load worker's journal ends in a partial line; dropped", "worker", w.Index, "bytes", len(w.partial))
			w.partial = nil
		}
		w.final = true
	}
	return nil
}

// do sends a call to the worker with its token.
func (w *remoteState) do(req *http.Request) (*http.Response, error) {
	if w.Token != "" {
		req.Header.Set("Authorization", "Bearer "+w.Token)
	}
	return w.HTTP.Do(req)
}

// lines hands every complete line of b (after what was pending) to the
// sink.
func (c *Collector) lines(w *remoteState, b []byte) {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			w.partial = append(w.partial, b...)
			return
		}
		line := b[:i]
		if len(w.partial) > 0 {
			line = append(w.partial, line...)
			w.partial = nil
		}
		b = b[i+1:]
		var rec engine.Record
		if err := json.Unmarshal(line, &rec); err != nil {
			c.Log.Error("a load worker's journal line is not a record; skipped", "worker", w.Index, "error", err)
			continue
		}
		w.records++
		if rec.Phase == engine.PhaseMeasure && rec.StartUnixNS != 0 {
			w.lag.Add(rec.ScheduleLagMS)
		}
		if err := c.Sink.Write(&rec); err != nil {
			c.Log.Error("recording a worker's request", "worker", w.Index, "request_id", rec.RequestID, "error", err)
		}
	}
}

func (c *Collector) status(ctx context.Context, w *remoteState) (WorkerStatus, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.BaseURL+PathStatus, nil)
	if err != nil {
		return WorkerStatus{}, err
	}
	resp, err := w.do(req)
	if err != nil {
		return WorkerStatus{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return WorkerStatus{}, fmt.Errorf("status: %s", resp.Status)
	}
	var st WorkerStatus
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&st); err != nil {
		return st, fmt.Errorf("status: %w", err)
	}
	c.mu.Lock()
	w.status = st
	c.mu.Unlock()
	return st, nil
}

// post sends a command; a refusal comes back as its message.
func (c *Collector) post(ctx context.Context, w *remoteState, path string, body []byte) (string, error) {
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(pctx, http.MethodPost, w.BaseURL+path, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	resp, err := w.do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return strings.TrimSpace(string(b)), nil
	}
	return "", nil
}

// Release lets every collected worker exit, so the Job completes.
func (c *Collector) Release(ctx context.Context) {
	c.init()
	for _, w := range c.workers {
		if w.lost != "" {
			continue
		}
		if _, err := c.post(ctx, w, PathRelease, nil); err != nil {
			c.Log.Warn("releasing a load worker", "worker", w.Index, "error", err)
		}
	}
}

// Statuses are the workers' last statuses.
func (c *Collector) Statuses() []WorkerStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]WorkerStatus, len(c.workers))
	for i, w := range c.workers {
		out[i] = w.status
		out[i].Index, out[i].Pod, out[i].Node = w.Index, w.Pod, w.Node
	}
	return out
}

// SaturatedShare is the CPU share above which a worker's own delay is in
// its numbers.
const SaturatedShare = 0.9

// report is each worker as it ended.
func (c *Collector) report(stopped bool) []export.LoadWorker {
	var out []export.LoadWorker
	for _, w := range c.workers {
		st := w.status
		lw := export.LoadWorker{Index: w.Index, Pod: w.Pod, Node: w.Node, Records: w.records, LateMS: st.LateMS,
			CPUSeconds: st.CPUSeconds, WallSeconds: st.WallSeconds, Cores: st.Cores}
		switch {
		case w.lost != "":
			lw.State, lw.Error = "lost", w.lost
		case st.State == WorkerFailed:
			lw.State, lw.Error = "failed", st.Error
		case stopped:
			lw.State = "stopped"
		default:
			lw.State = "done"
		}
		// Under a second, a share says nothing of a sustained load.
		if st.Cores > 0 && st.WallSeconds >= 1 {
			lw.CPUShare = st.CPUSeconds / (st.WallSeconds * float64(st.Cores))
			lw.Saturated = lw.CPUShare >= SaturatedShare
		}
		if w.lag.Len() > 0 {
			lw.LagP50MS, lw.LagP99MS = round3(w.lag.Percentile(50)), round3(w.lag.Percentile(99))
		}
		out = append(out, lw)
	}
	return out
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// Results are the workers' own run results by index; a worker that sent
// none (lost, failed) has the zero result.
func (c *Collector) Results() []load.RunResult {
	out := make([]load.RunResult, len(c.workers))
	for i, w := range c.workers {
		if r := w.status.Result; r != nil {
			out[i] = *r
		}
	}
	return out
}

// MergeResults is the run's result from its workers' own (by worker
// index; a zero result for one that sent none): each target as the first
// worker that reached it saw it, scenarios aborted on any
// worker, the earliest start and latest end. The run is interrupted when
// stopped, failed when no worker reached any engine.
func MergeResults(targets []engine.Target, results []load.RunResult, stopped bool) load.RunResult {
	res := load.RunResult{Status: "complete"}
	for i, r := range results {
		if res.StartUnixNS == 0 || (r.StartUnixNS != 0 && r.StartUnixNS < res.StartUnixNS) {
			res.StartUnixNS = r.StartUnixNS
		}
		res.EndUnixNS = max(res.EndUnixNS, r.EndUnixNS)
		res.RecordErrors += r.RecordErrors
		if res.FirstRecordError == "" && r.FirstRecordError != "" {
			res.FirstRecordError = fmt.Sprintf("worker %d: %s", i, r.FirstRecordError)
		}
		if r.InterruptedUnixNS != 0 && (res.InterruptedUnixNS == 0 || r.InterruptedUnixNS < res.InterruptedUnixNS) {
			res.InterruptedUnixNS = r.InterruptedUnixNS
		}
	}
	ok := 0
	for _, t := range targets {
		var reached *load.TargetStatus
		var aborted []string
		why := "no load worker reported on it"
		for w, r := range results {
			for _, ts := range r.Targets {
				if ts.Target.Name != t.Name {
					continue
				}
				for _, a := range ts.Aborted {
					aborted = append(aborted, fmt.Sprintf("worker %d: %s", w, a))
				}
				switch {
				case ts.Error == "" && reached == nil:
					reached = &ts
				case ts.Error != "" && reached == nil:
					why = fmt.Sprintf("worker %d: %s", w, ts.Error)
				}
			}
		}
		st := load.TargetStatus{Target: t, Error: why}
		if reached != nil {
			st = *reached
			ok++
		}
		st.Aborted = aborted
		res.Targets = append(res.Targets, st)
	}
	switch {
	case stopped:
		res.Status = "interrupted"
		if res.InterruptedUnixNS == 0 {
			res.InterruptedUnixNS = res.EndUnixNS
		}
	case ok == 0:
		res.Status = "failed"
	}
	if res.EndUnixNS == 0 {
		res.EndUnixNS = time.Now().UnixNano()
	}
	return res
}
