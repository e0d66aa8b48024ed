package load

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/stats"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/verdict"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

// loadServer is a minimal OpenAI-compatible streaming server that records
// how many requests are in flight while each one is being answered.
type loadServer struct {
	delay    time.Duration // between the two content chunks
	inFlight atomic.Int64
	served   atomic.Int64 // answers written to their end
	mu       sync.Mutex
	seen     []int64 // in-flight count mid-request, this one included
}

func (s *loadServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/v1/models" {
		fmt.Fprint(w, `{"object":"list","data":[{"id":"m","object":"model","owned_by":"me"}]}`)
		return
	}
	s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	w.Header().Set("Content-Type", "text/event-stream")
	f := w.(http.Flusher)
	fmt.Fprint(w, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"},\"finish_reason\":null}]}\n\n")
	f.Flush()
	// Sampled halfway through the answer: users that start together are
	// all in flight then, whereas at arrival or at the end the order in
	// which they are served would show fewer.
	for half := 0; half < 2; half++ {
		select {
		case <-time.After(s.delay / 2):
		case <-r.Context().Done():
			return
		}
		if half == 0 {
			s.mu.Lock()
			s.seen = append(s.seen, s.inFlight.Load())
			s.mu.Unlock()
		}
	}
	fmt.Fprint(w, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"b\"},\"finish_reason\":\"length\"}]}\n\n")
	fmt.Fprint(w, "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2,\"total_tokens\":5}}\n\ndata: [DONE]\n\n")
	s.served.Add(1)
}

func runLoad(t *testing.T, ctx context.Context, srv *loadServer, s workload.Scenario) ([]engine.Record, RunResult) {
	t.Helper()
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	col := &Collector{}
	r := &Runner{
		Targets:   []engine.Target{{Name: "e", Type: engine.EngineOpenAI, BaseURL: hs.URL, API: engine.APIChat}},
		Scenarios: []workload.Scenario{s},
		Prompts:   []engine.Request{{Messages: []engine.Message{{Role: "user", Content: "hi"}}}},
		HTTP:      engine.NewHTTPClient(engine.HTTPOptions{}),
		Timeout:   10 * time.Second, Clock: engine.NewClock(), RunID: "t", Sink: col, Grace: time.Second, Seed: 7,
	}
	res := r.Run(ctx)
	return col.Snapshot(), res
}

func TestClosedLoopKeepsExactlyNInFlight(t *testing.T) {
	// A long answer makes the instant between a user's answer and their
	// next question negligible, so arrivals should see all N in flight.
	srv := &loadServer{delay: 100 * time.Millisecond}
	const users = 6
	recs, res := runLoad(t, context.Background(), srv, workload.Scenario{Name: "c", Suite: workload.SuiteLoad, Arrival: workload.ArrivalClosed,
		Concurrency: users, Requests: 120, MaxTokens: 2})
	if res.Status != "complete" {
		t.Fatalf("status %q, targets %+v", res.Status, res.Targets)
	}
	if len(recs) != 120 {
		t.Fatalf("got %d records, want exactly 120", len(recs))
	}
	srv.mu.Lock()
	seen := append([]int64(nil), srv.seen...)
	srv.mu.Unlock()
	sort.Slice(seen, func(i, j int) bool { return seen[i] < seen[j] })
	if max := seen[len(seen)-1]; max != users {
		t.Errorf("max in flight %d, want exactly %d", max, users)
	}
	if med := seen[len(seen)/2]; med != users {
		t.Errorf("median in flight %d, want %d (users must resend at once with no think time)", med, users)
	}
	workers := map[int]int{}
	for _, r := range recs {
		if !r.OK {
			t.Fatalf("request failed: %s %s", r.ErrorClass, r.Error)
		}
		workers[r.Worker]++
	}
	if len(workers) != users {
		t.Errorf("records came from %d workers, want %d", len(workers), users)
	}
}

// openLoopSends runs an open-loop scenario and returns the actual send
// times in seconds from the first send.
func openLoopSends(t *testing.T, a workload.Arrival, rate float64, n int) ([]float64, []engine.Record) {
	t.Helper()
	srv := &loadServer{delay: time.Millisecond}
	recs, _ := runLoad(t, context.Background(), srv, workload.Scenario{Name: "o", Suite: workload.SuiteLoad, Arrival: a, Rate: rate,
		Requests: n, MaxTokens: 2, CapPolicy: "wait"})
	if len(recs) != n {
		t.Fatalf("got %d records, want %d", len(recs), n)
	}
	var starts []float64
	for _, r := range recs {
		starts = append(starts, float64(r.IntendedStartUnixNS))
	}
	sort.Float64s(starts)
	base := starts[0]
	for i := range starts {
		starts[i] = (starts[i] - base) / 1e9
	}
	return starts, recs
}

func TestPoissonArrivalsHitRateWithExponentialGaps(t *testing.T) {
	const rate, n = 200.0, 600
	starts, recs := openLoopSends(t, workload.ArrivalPoisson, rate, n)
	achieved := float64(n-1) / starts[n-1]
	if math.Abs(achieved-rate)/rate > 0.08 {
		t.Errorf("achieved %.1f req/s, want %.0f within 8%%", achieved, rate)
	}
	var gaps []float64
	for i := 1; i < n; i++ {
		gaps = append(gaps, starts[i]-starts[i-1])
	}
	// Exponential gaps: coefficient of variation 1 (constant pacing gives 0),
	// and a Kolmogorov–Smirnov distance to Exp(rate) that a sample of this
	// size passes at the 1% level (1.63/sqrt(n)).
	st := stats.Describe(append([]float64(nil), gaps...))
	mean, sd := st.Mean, st.StdDev
	if cv := sd / mean; cv < 0.85 || cv > 1.15 {
		t.Errorf("gap coefficient of variation %.2f, want about 1 for Poisson arrivals", cv)
	}
	sort.Float64s(gaps)
	d := 0.0
	for i, g := range gaps {
		cdf := 1 - math.Exp(-rate*g)
		d = math.Max(d, math.Max(math.Abs(cdf-float64(i)/float64(len(gaps))), math.Abs(cdf-float64(i+1)/float64(len(gaps)))))
	}
	if limit := 1.63 / math.Sqrt(float64(len(gaps))); d > limit {
		t.Errorf("KS distance to Exp(%g) = %.3f > %.3f", rate, d, limit)
	}
	lags := sorted(lagsOf(recs))
	t.Logf("achieved %.1f req/s, gap CV %.2f, KS %.3f, schedule lag p50 %.3f ms p99 %.3f ms", achieved, sd/mean, d, stats.Percentile(lags, 50), stats.Percentile(lags, 99))
}

func TestConstantArrivalsHitRate(t *testing.T) {
	const rate, n = 100.0, 200
	starts, recs := openLoopSends(t, workload.ArrivalConstant, rate, n)
	want := float64(n-1) / rate
	if math.Abs(starts[n-1]-want)/want > 0.01 {
		t.Errorf("intended schedule spans %.3fs, want %.3fs", starts[n-1], want)
	}
	// How closely the sends keep the schedule is the machine's latency
	// (make bench: BenchmarkScheduleLagPoisson500); what holds anywhere is
	// that none goes early and each record's lag is its own delay.
	for _, r := range recs {
		if r.StartUnixNS < r.IntendedStartUnixNS {
			t.Fatalf("request %d sent %d ns before its schedule", r.Sequence, r.IntendedStartUnixNS-r.StartUnixNS)
		}
		if lag := float64(r.StartUnixNS-r.IntendedStartUnixNS) / 1e6; math.Abs(lag-r.ScheduleLagMS) > 1e-3 {
			t.Fatalf("request %d: schedule_lag_ms %.6f, but it was sent %.6f ms after its schedule", r.Sequence, r.ScheduleLagMS, lag)
		}
	}
}

// TestOpenLoopIsNotPacedByResponses sends faster than a slow server
// answers: the arrivals must keep their schedule, so many requests are in
// flight at once and the lag stays small.
func TestOpenLoopIsNotPacedByResponses(t *testing.T) {
	srv := &loadServer{delay: 300 * time.Millisecond}
	recs, _ := runLoad(t, context.Background(), srv, workload.Scenario{Name: "o", Suite: workload.SuiteLoad, Arrival: workload.ArrivalConstant,
		Rate: 100, Requests: 50, MaxTokens: 2, CapPolicy: "wait"})
	srv.mu.Lock()
	defer srv.mu.Unlock()
	var peak int64
	for _, n := range srv.seen {
		peak = max(peak, n)
	}
	if peak < 20 {
		t.Errorf("peak in flight %d: the open loop waited for responses", peak)
	}
	if p := stats.Percentile(sorted(lagsOf(recs)), 99); p > 50 {
		t.Errorf("schedule lag p99 %.1f ms, want small for an uncapped open loop", p)
	}
}

func TestOpenLoopCapCountsWaitsAndDrops(t *testing.T) {
	for _, policy := range []string{"wait", "drop"} {
		t.Run(policy, func(t *testing.T) {
			srv := &loadServer{delay: 200 * time.Millisecond}
			recs, _ := runLoad(t, context.Background(), srv, workload.Scenario{Name: "o", Suite: workload.SuiteLoad, Arrival: workload.ArrivalConstant,
				Rate: 100, Requests: 30, Concurrency: 2, CapPolicy: policy, MaxTokens: 2})
			if len(recs) != 30 {
				t.Fatalf("got %d records, want 30: a capped request must never vanish", len(recs))
			}
			queued, dropped := 0, 0
			for _, r := range recs {
				if r.ClientQueued {
					queued++
				}
				if r.ErrorClass == engine.ErrDropped {
					dropped++
				}
			}
			srv.mu.Lock()
			defer srv.mu.Unlock()
			for _, n := range srv.seen {
				if n > 2 {
					t.Fatalf("server saw %d in flight, cap is 2", n)
				}
			}
			if policy == "wait" && (queued == 0 || dropped != 0) {
				t.Errorf("wait: queued %d dropped %d; want queued > 0 and none dropped", queued, dropped)
			}
			if policy == "drop" && (dropped == 0 || queued != 0) {
				t.Errorf("drop: queued %d dropped %d; want dropped > 0 and none queued", queued, dropped)
			}
			s := verdict.Summarize("t", recs, nil)
			if policy == "drop" && s.Groups[0].Dropped != dropped {
				t.Errorf("summary dropped %d, records %d", s.Groups[0].Dropped, dropped)
			}
		})
	}
}

func TestStopIsInterruptedAndKeepsMeasuredRecords(t *testing.T) {
	srv := &loadServer{delay: 50 * time.Millisecond}
	// Stopped once the server has answered 9 requests, however long that
	// takes on this machine (a fixed deadline would race a busy one).
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go func() {
		for srv.served.Load() < 9 && ctx.Err() == nil {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	start := time.Now()
	recs, res := runLoad(t, ctx, srv, workload.Scenario{Name: "c", Suite: workload.SuiteLoad, Arrival: workload.ArrivalClosed,
		Concurrency: 3, Duration: time.Minute, MaxTokens: 2})
	if res.Status != "interrupted" {
		t.Errorf("status %q, want interrupted", res.Status)
	}
	// The scenario would run a minute: less than that means it was stopped.
	if el := time.Since(start); el > 50*time.Second {
		t.Errorf("stop took %s; in-flight requests should finish within the grace period", el)
	}
	ok := 0
	for _, r := range recs {
		if r.OK {
			ok++
		}
	}
	if ok < 5 {
		t.Errorf("only %d successful records kept after the stop; the server finished %d", ok, srv.served.Load())
	}
}

func TestUnreachableTargetIsReportedAndOthersRun(t *testing.T) {
	srv := &loadServer{delay: time.Millisecond}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	col := &Collector{}
	r := &Runner{
		Targets: []engine.Target{{Name: "dead", Type: engine.EngineVLLM, BaseURL: deadURL, API: engine.APIChat},
			{Name: "alive", Type: engine.EngineOpenAI, BaseURL: hs.URL, API: engine.APIChat}},
		Scenarios: []workload.Scenario{{Name: "ttft", Suite: workload.SuiteTTFT, Arrival: workload.ArrivalSequential, Requests: 3, MaxTokens: 2}},
		Prompts:   []engine.Request{{Messages: []engine.Message{{Role: "user", Content: "hi"}}}},
		HTTP:      engine.NewHTTPClient(engine.HTTPOptions{}), Clock: engine.NewClock(), Sink: col, Grace: time.Second,
	}
	res := r.Run(context.Background())
	if res.Status != "complete" {
		t.Errorf("status %q, want complete when one engine answered", res.Status)
	}
	if e := res.Targets[0].Error; e == "" || !containsAll(e, "dead", deadURL) {
		t.Errorf("dead target error %q must name the target and its URL", e)
	}
	if n := len(col.Snapshot()); n != 3 {
		t.Errorf("alive target recorded %d requests, want 3", n)
	}
}

func lagsOf(recs []engine.Record) []float64 {
	var out []float64
	for _, r := range recs {
		out = append(out, r.ScheduleLagMS)
	}
	return out
}

func sorted(xs []float64) []float64 { sort.Float64s(xs); return xs }

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

func TestOpenAITargetWithoutModelListRunsWithGivenModel(t *testing.T) {
	srv := &loadServer{delay: time.Millisecond}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/models" {
			http.NotFound(w, r)
			return
		}
		srv.ServeHTTP(w, r)
	}))
	defer hs.Close()
	run := func(model string) (RunResult, int) {
		col := &Collector{}
		r := &Runner{
			Targets:   []engine.Target{{Name: "gw", Type: engine.EngineOpenAI, BaseURL: hs.URL, API: engine.APIChat, Model: model}},
			Scenarios: []workload.Scenario{{Name: "ttft", Suite: workload.SuiteTTFT, Arrival: workload.ArrivalSequential, Requests: 2, MaxTokens: 2}},
			Prompts:   []engine.Request{{Messages: []engine.Message{{Role: "user", Content: "hi"}}}},
			HTTP:      engine.NewHTTPClient(engine.HTTPOptions{}), Clock: engine.NewClock(), Sink: col, Grace: time.Second,
		}
		return r.Run(context.Background()), len(col.Snapshot())
	}
	if res, n := run("gpt-x"); res.Status != "complete" || n != 2 {
		t.Errorf("with a model: status %s, %d records", res.Status, n)
	}
	if res, n := run(""); res.Status != "failed" || n != 0 || !strings.Contains(res.Targets[0].Error, "404") {
		t.Errorf("without a model: status %s, %d records, error %q", res.Status, n, res.Targets[0].Error)
	}
}

func TestEnginesGetIdenticalArrivalsAndPrompts(t *testing.T) {
	a, b := httptest.NewServer(&loadServer{delay: time.Millisecond}), httptest.NewServer(&loadServer{delay: 5 * time.Millisecond})
	defer a.Close()
	defer b.Close()
	col := &Collector{}
	r := &Runner{
		Targets:   []engine.Target{{Name: "a", Type: engine.EngineOpenAI, BaseURL: a.URL, API: engine.APIChat}, {Name: "b", Type: engine.EngineOpenAI, BaseURL: b.URL, API: engine.APIChat}},
		Scenarios: []workload.Scenario{{Name: "p", Suite: workload.SuiteLoad, Arrival: workload.ArrivalPoisson, Rate: 200, Requests: 40, MaxTokens: 2, CapPolicy: "wait"}},
		Prompts:   []engine.Request{{Messages: []engine.Message{{Role: "user", Content: "one"}}}, {Messages: []engine.Message{{Role: "user", Content: "two"}}}, {Messages: []engine.Message{{Role: "user", Content: "three"}}}},
		HTTP:      engine.NewHTTPClient(engine.HTTPOptions{}), Clock: engine.NewClock(), Sink: col, Grace: time.Second, Seed: 3,
	}
	r.Run(context.Background())
	type arrival struct {
		offset int64
		prompt int
	}
	per := map[string][]arrival{}
	// Offsets from each engine's earliest intended start: the snapshot is
	// in completion order, and on a busy machine the first answer need
	// not be the first arrival's.
	first := map[string]int64{}
	recs := col.Snapshot()
	for _, rec := range recs {
		if f, ok := first[rec.Engine]; !ok || rec.IntendedStartUnixNS < f {
			first[rec.Engine] = rec.IntendedStartUnixNS
		}
	}
	for _, rec := range recs {
		per[rec.Engine] = append(per[rec.Engine], arrival{rec.IntendedStartUnixNS - first[rec.Engine], rec.PromptIndex})
	}
	for _, e := range []string{"a", "b"} {
		sort.Slice(per[e], func(i, j int) bool { return per[e][i].offset < per[e][j].offset })
	}
	if len(per["a"]) != 40 || len(per["b"]) != 40 {
		t.Fatalf("records a=%d b=%d", len(per["a"]), len(per["b"]))
	}
	for i := range per["a"] {
		if d := per["a"][i].offset - per["b"][i].offset; d < -1000 || d > 1000 || per["a"][i].prompt != per["b"][i].prompt {
			t.Fatalf("arrival %d differs between engines: %+v vs %+v", i, per["a"][i], per["b"][i])
		}
	}
}

func TestCappedOpenLoopStopsSendingAtTheEndOfItsWindow(t *testing.T) {
	srv := &loadServer{delay: 300 * time.Millisecond}
	const window = 600 * time.Millisecond
	recs, _ := runLoad(t, context.Background(), srv, workload.Scenario{Name: "o", Suite: workload.SuiteLoad, Arrival: workload.ArrivalConstant,
		Rate: 40, Duration: window, Concurrency: 1, CapPolicy: "wait", MaxTokens: 2})
	var firstIntended int64 = math.MaxInt64
	for _, r := range recs {
		firstIntended = min(firstIntended, r.IntendedStartUnixNS)
	}
	end := firstIntended + int64(window)
	sent, dropped := 0, 0
	for _, r := range recs {
		switch {
		case r.ErrorClass == engine.ErrDropped:
			dropped++
		case r.StartUnixNS > end:
			t.Errorf("request %d sent %.0f ms after the scenario's window ended", r.RequestID, float64(r.StartUnixNS-end)/1e6)
		default:
			sent++
		}
	}
	if dropped == 0 || sent == 0 || sent+dropped != len(recs) {
		t.Errorf("sent %d, dropped %d of %d: the backlog at the window's end must be recorded as dropped", sent, dropped, len(recs))
	}
}

func TestUniquePromptsDefeatPrefixCachesButKeepTheQuestion(t *testing.T) {
	r := &Runner{Prompts: []engine.Request{{Messages: []engine.Message{{Role: "system", Content: "sys"}, {Role: "user", Content: "question"}}}}, UniquePrompts: true}
	sr := &scenarioRun{r: r, s: workload.Scenario{Name: "s", MaxTokens: 7}, client: &engine.Client{}}
	a, b := sr.request(sr.newRecord(engine.PhaseMeasure, 0)), sr.request(sr.newRecord(engine.PhaseMeasure, 0))
	if a.Messages[1].Content == b.Messages[1].Content || !strings.HasSuffix(a.Messages[1].Content, "question") || a.MaxTokens != 7 {
		t.Errorf("user turns %q and %q", a.Messages[1].Content, b.Messages[1].Content)
	}
	if a.Messages[0].Content != "sys" || r.Prompts[0].Messages[1].Content != "question" {
		t.Error("the system prompt and the template must stay untouched")
	}
}

func TestDeadEngineEndsTheScenarioInsteadOfSpinning(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	url := dead.URL
	dead.Close()
	col := &Collector{}
	sr := &Runner{Prompts: []engine.Request{{Messages: []engine.Message{{Role: "user", Content: "hi"}}}}, HTTP: engine.NewHTTPClient(engine.HTTPOptions{}),
		Clock: engine.NewClock(), Sink: col, Grace: time.Second}
	c := &engine.Client{HTTP: sr.HTTP, Target: engine.Target{Name: "gone", Type: engine.EngineOpenAI, BaseURL: url, API: engine.APIChat}, Clock: sr.Clock}
	reason := sr.runScenario(context.Background(), context.Background(), c, nil,
		workload.Scenario{Name: "c", Suite: workload.SuiteLoad, Arrival: workload.ArrivalClosed, Concurrency: 4, Duration: time.Minute, MaxTokens: 2})
	// The other three users may each have one request in flight when the
	// streak reaches the limit; none may start another after it.
	n := len(col.Snapshot())
	if !strings.Contains(reason, "consecutive connection failures") || n < maxConnectStreak || n > maxConnectStreak+3 {
		t.Errorf("reason %q after %d records; want the scenario stopped after %d to %d", reason, n, maxConnectStreak, maxConnectStreak+3)
	}
}
