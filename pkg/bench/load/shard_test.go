package load

import (
	"context"
	"math"
	"net/http/httptest"
	"sort"
	"testing"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

// arrivals lists a part's arrival offsets up to span (at most limit).
func arrivals(s workload.Scenario, seed int64, sh workload.Shard, span time.Duration, limit int) []time.Duration {
	part, ok := s.Part(sh)
	if !ok {
		return nil
	}
	pace, at, n := ShardPacer(part, seed, sh)
	var out []time.Duration
	for k := 0; (n < 0 || k < n) && at < span && k < limit; k++ {
		out = append(out, at)
		at += pace()
	}
	return out
}

func merged(s workload.Scenario, count int, span time.Duration) []time.Duration {
	var all []time.Duration
	for i := range count {
		all = append(all, arrivals(s, 99, workload.Shard{Index: i, Count: count}, span, 1_000_000)...)
	}
	sort.Slice(all, func(a, b int) bool { return all[a] < all[b] })
	return all
}

func TestShardedConstantRateInterleavesIntoTheWholeSchedule(t *testing.T) {
	s := workload.Scenario{Name: "c", Arrival: workload.ArrivalConstant, Rate: 40}
	whole := arrivals(s, 99, workload.Shard{}, 10*time.Second, 1_000_000)
	all := merged(s, 4, 10*time.Second)
	if len(all) != len(whole) {
		t.Fatalf("4 parts send %d arrivals in 10 s, the whole %d", len(all), len(whole))
	}
	for k := range whole {
		if d := all[k] - whole[k]; d < -time.Microsecond || d > time.Microsecond {
			t.Fatalf("arrival %d at %v in the parts, %v in the whole", k, all[k], whole[k])
		}
	}
}

func TestShardedPoissonIsPoissonAtTheWholeRate(t *testing.T) {
	const rate, span = 200.0, 60 * time.Second
	s := workload.Scenario{Name: "p", Arrival: workload.ArrivalPoisson, Rate: rate}
	all := merged(s, 4, span)
	// Count: Poisson with mean rate·span; 4 standard deviations.
	mean := rate * span.Seconds()
	if d := math.Abs(float64(len(all)) - mean); d > 4*math.Sqrt(mean) {
		t.Fatalf("%d arrivals in %s, want %g ± %g", len(all), span, mean, 4*math.Sqrt(mean))
	}
	// The merged gaps are exponential: mean 1/rate, coefficient of
	// variation 1, and P(gap > mean) = 1/e. A phase-locked or duplicated
	// schedule (parts with one seed, or all starting at 0) fails these.
	var sum, sq float64
	longer, zero := 0, 0
	for k := 1; k < len(all); k++ {
		g := (all[k] - all[k-1]).Seconds()
		sum, sq = sum+g, sq+g*g
		if g > 1/rate {
			longer++
		}
		if g == 0 {
			zero++
		}
	}
	n := float64(len(all) - 1)
	m := sum / n
	cv := math.Sqrt(sq/n-m*m) / m
	if math.Abs(m*rate-1) > 0.05 || math.Abs(cv-1) > 0.05 {
		t.Fatalf("merged gaps: mean %.4gs (want %.4g), CV %.3f (want 1)", m, 1/rate, cv)
	}
	if p := float64(longer) / n; math.Abs(p-math.Exp(-1)) > 0.02 {
		t.Fatalf("P(gap > mean) = %.3f, want %.3f", p, math.Exp(-1))
	}
	if zero > 0 {
		t.Fatalf("%d arrivals coincide exactly: the parts share a schedule", zero)
	}
}

func TestShardedTraceIsPartitionedByRequest(t *testing.T) {
	tr := &workload.Trace{Speed: 1}
	for k := range 23 {
		tr.Entries = append(tr.Entries, workload.TraceEntry{Offset: time.Duration(k*k) * time.Millisecond, Input: k, Output: k})
	}
	tr.Requests = len(tr.Entries)
	s := workload.Scenario{Name: "t", Arrival: workload.ArrivalTrace, Trace: tr}
	all := merged(s, 3, time.Hour)
	if len(all) != len(tr.Entries) {
		t.Fatalf("3 parts replay %d of %d entries", len(all), len(tr.Entries))
	}
	for k, e := range tr.Entries {
		if all[k] != e.Offset {
			t.Fatalf("entry %d replayed at %v, its offset is %v", k, all[k], e.Offset)
		}
	}
}

// TestShardedRunnersAddUpToOneRun runs 3 runners, each one shard, against
// one server: together they send the scenario's requests once each, with
// the ids, sequences and users one runner would have given them.
func TestShardedRunnersAddUpToOneRun(t *testing.T) {
	srv := &loadServer{delay: 2 * time.Millisecond}
	s := workload.Scenario{Name: "c", Suite: workload.SuiteLoad, Arrival: workload.ArrivalClosed, Concurrency: 5, Requests: 31, MaxTokens: 2}
	seq := workload.Scenario{Name: "s", Suite: workload.SuiteTTFT, Arrival: workload.ArrivalSequential, Requests: 3, MaxTokens: 2}
	var recs []engine.Record
	for i := range 3 {
		got, res := runShard(t, srv, []workload.Scenario{seq, s}, workload.Shard{Index: i, Count: 3})
		if res.Status != "complete" {
			t.Fatalf("shard %d: %+v", i, res)
		}
		recs = append(recs, got...)
	}
	ids, seqs, users := map[int64]bool{}, map[string]map[int64]bool{}, map[int]bool{}
	for _, r := range recs {
		if ids[r.RequestID] {
			t.Fatalf("request id %d twice", r.RequestID)
		}
		ids[r.RequestID] = true
		if seqs[r.Scenario] == nil {
			seqs[r.Scenario] = map[int64]bool{}
		}
		if seqs[r.Scenario][r.Sequence] {
			t.Fatalf("%s: sequence %d twice", r.Scenario, r.Sequence)
		}
		seqs[r.Scenario][r.Sequence] = true
		if r.Scenario == "c" {
			users[r.Worker] = true
		}
	}
	for name, n := range map[string]int{"c": 31, "s": 3} {
		if len(seqs[name]) != n {
			t.Fatalf("%s: %d requests across the shards, want %d", name, len(seqs[name]), n)
		}
		for k := range int64(n) {
			if !seqs[name][k] {
				t.Fatalf("%s: sequence %d missing; have %v", name, k, seqs[name])
			}
		}
	}
	if len(users) != 5 {
		t.Fatalf("users %v, want 0 … 4", users)
	}
	if got := srv.served.Load(); got != 34 {
		t.Fatalf("the server answered %d requests, want 34", got)
	}
}

func runShard(t *testing.T, srv *loadServer, ss []workload.Scenario, sh workload.Shard) ([]engine.Record, RunResult) {
	t.Helper()
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	col := &Collector{}
	r := &Runner{
		Targets:   []engine.Target{{Name: "e", Type: engine.EngineOpenAI, BaseURL: hs.URL, API: engine.APIChat}},
		Scenarios: ss, Shard: sh,
		Prompts: []engine.Request{{Messages: []engine.Message{{Role: "user", Content: "hi"}}}},
		HTTP:    engine.NewHTTPClient(engine.HTTPOptions{}),
		Timeout: 10 * time.Second, Clock: engine.NewClock(), RunID: "t", Sink: col, Grace: time.Second, Seed: 7,
	}
	res := r.Run(context.Background())
	return col.Snapshot(), res
}
