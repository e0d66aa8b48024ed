package sim

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// defaultKVTokensPerSeq sizes a KV cache that is never the limit unless
// a profile says so: MaxBatch sequences of this many tokens each.
const defaultKVTokensPerSeq = 8192

// kvCache is vLLM's paged KV cache reduced to a token count: every
// running sequence holds its prompt and the tokens generated so far. A
// sequence whose next token finds the cache full is preempted, as vLLM's
// recompute preemption does: it frees what it held, waits until that and
// one more token fit again, and pays a prefill over all of it before it
// streams on. (vLLM preempts the newest request rather than the one
// that asked; the cost to the stream is the same kind.)
type kvCache struct {
	capacity int64
	// used is atomic: grow runs for every token of every sequence and,
	// like runningNow, must not take the lock.
	used atomic.Int64

	mu          sync.Mutex
	preempted   int // sequences waiting to resume
	preemptions int64
	freed       chan struct{} // closed and replaced (under mu) whenever tokens are freed
}

func newKVCache(capacity int64) *kvCache {
	return &kvCache{capacity: capacity, freed: make(chan struct{})}
}

// usage is the fraction of the cache in use, vllm:kv_cache_usage_perc.
func (c *kvCache) usage() float64 {
	return min(1, float64(c.used.Load())/float64(c.capacity))
}

// state is what /metrics reports of it.
func (c *kvCache) state() (preempted int, preemptions int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.preempted, c.preemptions
}

// reserve takes n tokens, waiting for them to fit (a sequence the cache
// cannot hold at all is let in alone rather than never). preempt counts
// the wait as a preemption.
func (c *kvCache) reserve(ctx context.Context, n int64, preempt bool) error {
	c.mu.Lock()
	if preempt {
		c.preemptions++
		c.preempted++
		defer func() {
			c.mu.Lock()
			c.preempted--
			c.mu.Unlock()
		}()
	}
	for {
		u := c.used.Load()
		if u == 0 || u+n <= c.capacity {
			if c.used.CompareAndSwap(u, u+n) {
				break
			}
			continue // a grow got in between
		}
		// Read under mu: a release after this Load closes this very
		// channel, so its wake-up is not missed.
		ch := c.freed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		c.mu.Lock()
	}
	c.mu.Unlock()
	return nil
}

// grow takes one more token for a sequence already holding held; false
// means the cache is full and the sequence must be preempted.
func (c *kvCache) grow(held int64) bool {
	for {
		u := c.used.Load()
		if u+1 > c.capacity && u > held {
			return false
		}
		if c.used.CompareAndSwap(u, u+1) {
			return true
		}
	}
}

// release frees n tokens and wakes those waiting for room.
func (c *kvCache) release(n int64) {
	c.used.Add(-n)
	c.mu.Lock()
	close(c.freed)
	c.freed = make(chan struct{})
	c.mu.Unlock()
}

// busyClock accumulates the time the GPU had any sequence running, which
// is what DCGM_FI_DEV_GPU_UTIL samples: a kernel running or not.
type busyClock struct {
	mu      sync.Mutex
	running int
	since   time.Time
	busy    time.Duration
}

func (b *busyClock) set(running int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	if b.running > 0 {
		b.busy += now.Sub(b.since)
	}
	b.running, b.since = running, now
}

// total is the busy time so far, the current stretch included.
func (b *busyClock) total() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.busy
	if b.running > 0 {
		t += time.Since(b.since)
	}
	return t
}
