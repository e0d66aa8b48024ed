package sim

import (
	"hash/fnv"
	"sync"
)

// prefixCache models an engine's automatic prefix cache the way vLLM
// keeps it: a prompt's tokens in blocks, each block's hash chained to the
// blocks before it, so a block is found only after the same whole prefix.
// A prompt is served its longest run of known leading blocks, never the
// whole prompt (the last token is always computed); what it brings is
// remembered, the oldest blocks forgotten first beyond capacity.
type prefixCache struct {
	block    int // tokens a block
	capacity int // blocks remembered

	mu    sync.Mutex
	known map[uint64]struct{}
	order []uint64 // ring of remembered blocks, oldest at next
	next  int
}

func newPrefixCache(block, capacity int) *prefixCache {
	return &prefixCache{block: block, capacity: capacity, known: map[uint64]struct{}{}}
}

// serve returns how many of the chat's leading tokens were cached and
// remembers its blocks. The token stream is the one chatPromptTokens
// counts: each message's template tokens, then its content's tokens.
func (c *prefixCache) serve(contents []string) int {
	if c == nil {
		return 0
	}
	var hashes []uint64
	h := fnv.New64a()
	inBlock, total := 0, 0
	token := func(b []byte) {
		h.Write(b)
		h.Write([]byte{0})
		total++
		if inBlock++; inBlock == c.block {
			hashes = append(hashes, h.Sum64()) // the chain: h keeps every byte before
			inBlock = 0
		}
	}
	for _, text := range contents {
		for i := range chatTemplateTokens {
			token([]byte{0xff, byte(i)})
		}
		eachToken(text, func(start, stop int) { token([]byte(text[start:stop])) })
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	hit := 0
	for hit < len(hashes) {
		if _, ok := c.known[hashes[hit]]; !ok {
			break
		}
		hit++
	}
	for _, x := range hashes[hit:] {
		c.remember(x)
	}
	cached := hit * c.block
	if cached >= total {
		cached = (total - 1) / c.block * c.block
	}
	return max(cached, 0)
}

func (c *prefixCache) remember(x uint64) {
	if len(c.order) < c.capacity {
		c.order = append(c.order, x)
	} else {
		delete(c.known, c.order[c.next])
		c.order[c.next] = x
		c.next = (c.next + 1) % c.capacity
	}
	c.known[x] = struct{}{}
}
