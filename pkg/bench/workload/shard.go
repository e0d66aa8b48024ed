package workload

import "fmt"

// Shard is one of Count load generators running the same scenarios at
// once (run --in-cluster --workers N): each sends its part, and the parts
// add up to the scenario. The zero Shard is the whole.
//
// The split is by item: of a scenario's users, requests and trace entries,
// shard i takes items i, i+Count, i+2·Count, … Numbered that way, a
// shard's k-th item is item k·Count+i of the whole, so request ids,
// sequences (and with them prompts and drawn lengths) and user numbers of
// the merged journal are those of one generator running it all.
type Shard struct {
	Index int `json:"index"`
	Count int `json:"count"`
}

// Whole says the shard is the entire load (one generator).
func (sh Shard) Whole() bool { return sh.Count <= 1 }

// Validate checks that the index is one of Count.
func (sh Shard) Validate() error {
	if sh.Count < 0 || (sh.Count > 0 && (sh.Index < 0 || sh.Index >= sh.Count)) || (sh.Count == 0 && sh.Index != 0) {
		return fmt.Errorf("worker %d of %d: the index must be 0 … %d", sh.Index, sh.Count, max(sh.Count-1, 0))
	}
	return nil
}

// Share is how many of n items fall to this shard.
func (sh Shard) Share(n int) int {
	if sh.Whole() || n <= 0 {
		return n
	}
	if sh.Index >= n {
		return 0
	}
	return (n-sh.Index-1)/sh.Count + 1
}

// Global is the index among all shards' items of this shard's k-th.
func (sh Shard) Global(k int64) int64 {
	if sh.Whole() {
		return k
	}
	return k*int64(sh.Count) + int64(sh.Index)
}

// Part is this shard's part of s, and false when nothing of s falls to
// it. Closed loop divides the users, open loop the rate (the schedule
// itself is split by load.ShardPacer), and a bounded scenario its request
// counts. A sequential scenario is one request at a time by definition:
// it stays whole on shard 0, since split it would run Count at once.
func (s Scenario) Part(sh Shard) (Scenario, bool) {
	if sh.Whole() {
		return s, true
	}
	if s.Arrival == ArrivalSequential {
		return s, sh.Index == 0
	}
	p := s
	if s.Requests > 0 {
		if p.Requests = sh.Share(s.Requests); p.Requests == 0 {
			return p, false
		}
	}
	p.WarmupRequests = sh.Share(s.WarmupRequests)
	switch s.Arrival {
	case ArrivalClosed:
		if p.Concurrency = sh.Share(s.Concurrency); p.Concurrency == 0 {
			return p, false
		}
	case ArrivalConstant, ArrivalPoisson:
		p.Rate = s.Rate / float64(sh.Count)
		if s.Concurrency > 0 {
			// A cap of 0 would mean none: every shard keeps at least one.
			p.Concurrency = max(1, sh.Share(s.Concurrency))
		}
	case ArrivalTrace:
		if s.Trace != nil && sh.Share(len(s.Trace.Entries)) == 0 {
			return p, false
		}
		if s.Concurrency > 0 {
			p.Concurrency = max(1, sh.Share(s.Concurrency))
		}
	}
	return p, true
}
