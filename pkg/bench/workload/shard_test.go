package workload

import (
	"testing"
	"time"
)

func TestShardSharesAddUpToTheWhole(t *testing.T) {
	for _, count := range []int{1, 2, 3, 4, 7} {
		for n := 0; n <= 20; n++ {
			sum := 0
			for i := range count {
				sh := Shard{Index: i, Count: count}
				got := sh.Share(n)
				// The share is exactly the items i, i+count, … below n.
				want := 0
				for k := i; k < n; k += count {
					want++
				}
				if got != want {
					t.Fatalf("Shard{%d,%d}.Share(%d) = %d, want %d", i, count, n, got, want)
				}
				sum += got
			}
			if sum != n {
				t.Fatalf("count %d: shares of %d add up to %d", count, n, sum)
			}
		}
	}
}

func TestShardGlobalNumbersEveryItemOnce(t *testing.T) {
	const count, n = 4, 30
	seen := map[int64]int{}
	for i := range count {
		sh := Shard{Index: i, Count: count}
		for k := range int64(sh.Share(n)) {
			seen[sh.Global(k)]++
		}
	}
	for g := range int64(n) {
		if seen[g] != 1 {
			t.Fatalf("item %d is numbered %d times across the shards", g, seen[g])
		}
	}
	if len(seen) != n {
		t.Fatalf("%d numbers for %d items: %v", len(seen), n, seen)
	}
}

func TestScenarioPartDividesTheLoad(t *testing.T) {
	closed := Scenario{Name: "c", Arrival: ArrivalClosed, Concurrency: 10, Requests: 101, WarmupRequests: 5, ThinkTime: time.Second}
	open := Scenario{Name: "o", Arrival: ArrivalPoisson, Rate: 90, Concurrency: 2, Duration: time.Minute}
	seq := Scenario{Name: "s", Arrival: ArrivalSequential, Requests: 10}
	users, reqs, warm, parts := 0, 0, 0, 0
	var rate float64
	for i := range 4 {
		sh := Shard{Index: i, Count: 4}
		p, ok := closed.Part(sh)
		if !ok {
			t.Fatalf("shard %d has no users of 10", i)
		}
		users, reqs, warm = users+p.Concurrency, reqs+p.Requests, warm+p.WarmupRequests
		if p.ThinkTime != closed.ThinkTime || p.Name != closed.Name {
			t.Fatalf("a part changed the scenario's shape: %+v", p)
		}
		o, ok := open.Part(sh)
		if !ok || o.Concurrency < 1 {
			t.Fatalf("open part %d: %+v, %v (every part keeps a cap of at least 1)", i, o, ok)
		}
		rate += o.Rate
		if s, ok := seq.Part(sh); ok {
			parts++
			if i != 0 || s.Requests != 10 {
				t.Fatalf("the sequential scenario went to shard %d with %d requests; it stays whole on shard 0", i, s.Requests)
			}
		}
	}
	if users != 10 || reqs != 101 || warm != 5 {
		t.Fatalf("closed parts add up to %d users, %d requests, %d warm-up; want 10, 101, 5", users, reqs, warm)
	}
	if rate != 90 {
		t.Fatalf("open parts add up to %g req/s, want 90", rate)
	}
	if parts != 1 {
		t.Fatalf("the sequential scenario ran on %d shards, want 1", parts)
	}
	few := Scenario{Name: "few", Arrival: ArrivalClosed, Concurrency: 2}
	if _, ok := few.Part(Shard{Index: 3, Count: 4}); ok {
		t.Fatal("a shard with none of 2 users was given a part")
	}
	if err := (Shard{Index: 4, Count: 4}).Validate(); err == nil {
		t.Fatal("index 4 of 4 passed Validate")
	}
}
