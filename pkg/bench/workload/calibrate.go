package workload

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"
)

// PromptOpener starts every prompt shaped to a token length: something for
// the model to do with the text, and the base every word is counted from.
const PromptOpener = "Summarize:"

// Counter counts tokens on one engine, in its own tokenizer.
type Counter struct {
	// Raw counts bare text, without chat template or special tokens (vLLM
	// and TGI POST /tokenize); nil when the engine has no tokenizer.
	Raw func(ctx context.Context, text string) (int, error)
	// Prompt is what the engine bills for a request whose only user
	// message is the text, chat template included (a one-token probe).
	Prompt func(ctx context.Context, text string) (int, error)
}

// Calibration is how one engine's tokenizer counts the words shaped
// prompts are made of. Byte-level BPE and SentencePiece tokenizers split
// text at spaces and marks before merging, so a prompt's count is the
// opener's plus the sum of its words': prompts of an exact length are
// assembled from counted words without a call per request, and checked
// whole against the engine before the run.
type Calibration struct {
	// Method is how words were counted: "tokenize" (the engine's
	// /tokenize) or "probe" (one-token requests and the prompt tokens the
	// engine reported for them: Ollama's prompt_eval_count).
	Method string `json:"method"`
	// BaseTokens is what the engine bills for the opener alone (chat
	// template, special tokens, the opener's own tokens): the shortest
	// prompt that can be shaped.
	BaseTokens int `json:"base_tokens"`
	// TemplateTokens is the part of BaseTokens that is the chat template
	// and special tokens, known when the engine has a tokenizer.
	TemplateTokens *int `json:"template_tokens,omitempty"`
	// Pieces is how many distinct words and marks were counted;
	// TokensPerWord their mean cost.
	Pieces        int     `json:"pieces_counted"`
	TokensPerWord float64 `json:"tokens_per_word"`
	// Checks are whole shaped prompts the engine counted after
	// calibration; Exact is true when every one matched its plan.
	Checks     []CalibrationCheck `json:"checks"`
	Exact      bool               `json:"exact"`
	Calls      int                `json:"calls"`
	DurationMS float64            `json:"duration_ms"`
	// Note says why the counts are estimates, when they are.
	Note string `json:"note,omitempty"`

	cost     map[string]int // " word" and "." → tokens
	words    []string       // the pieces, in syntheticWords order
	cheapest int            // minWord
}

// CalibrationCheck is one shaped prompt counted whole by the engine.
type CalibrationCheck struct {
	Requested int `json:"requested"`
	Planned   int `json:"planned"`
	Counted   int `json:"counted"`
}

// Calibrate counts the opener, every word of the synthetic vocabulary and
// the full stop on the engine, then shapes one prompt per length in checks
// and has the engine count it whole (the billed count, template included).
func Calibrate(ctx context.Context, c Counter, checks []int, seed int64) (*Calibration, error) {
	if c.Prompt == nil {
		return nil, errors.New("calibration needs the engine's prompt count")
	}
	started := time.Now()
	cal := &Calibration{Method: "probe", cost: map[string]int{}}
	var mu sync.Mutex
	calls := func(n int) { mu.Lock(); cal.Calls += n; mu.Unlock() }
	base, err := c.Prompt(ctx, PromptOpener)
	calls(1)
	if err != nil {
		return nil, fmt.Errorf("counting the opener %q: %w", PromptOpener, err)
	}
	cal.BaseTokens = base
	count, origin := c.Prompt, base
	if c.Raw != nil {
		raw, err := c.Raw(ctx, PromptOpener)
		calls(1)
		if err == nil {
			count, origin, cal.Method = c.Raw, raw, "tokenize"
			tmpl := base - raw
			cal.TemplateTokens = &tmpl
		}
	}

	pieces := make([]string, 0, len(syntheticWords)+1)
	for _, w := range syntheticWords {
		pieces = append(pieces, " "+w)
	}
	pieces = append(pieces, ".")
	costs := make([]int, len(pieces))
	errs := make([]error, len(pieces))
	// A few at a time: the engine's tokenizer is quick, and probes must
	// not queue behind each other long enough to time out.
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i, p := range pieces {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			text, from := PromptOpener+p, origin
			if p == "." {
				// A full stop follows a word: counted after " the".
				var err error
				if from, err = count(ctx, PromptOpener+" the"); err != nil {
					errs[i] = err
					return
				}
				text = PromptOpener + " the."
				calls(1)
			}
			n, err := count(ctx, text)
			calls(1)
			costs[i], errs[i] = n-from, err
		}()
	}
	wg.Wait()
	sum := 0
	for i, p := range pieces {
		if errs[i] != nil {
			return nil, fmt.Errorf("counting %q: %w", PromptOpener+p, errs[i])
		}
		if costs[i] < 1 {
			return nil, fmt.Errorf("the tokenizer counted %q as %d tokens after the opener: it merges across words, so prompts cannot be assembled from counted words", p, costs[i])
		}
		cal.cost[p] = costs[i]
		if p != "." {
			cal.words = append(cal.words, p)
			sum += costs[i]
		}
	}
	cal.Pieces = len(pieces)
	cal.TokensPerWord = float64(sum) / float64(len(cal.words))
	cal.index()

	cal.Exact = true
	for _, n := range checks {
		text, planned := cal.Text(CheckRand(seed, n), n)
		counted, err := c.Prompt(ctx, text)
		calls(1)
		if err != nil {
			return nil, fmt.Errorf("counting a shaped prompt of %d tokens: %w", n, err)
		}
		cal.Checks = append(cal.Checks, CalibrationCheck{Requested: n, Planned: planned, Counted: counted})
		if counted != planned || planned != n {
			cal.Exact = false
		}
	}
	cal.DurationMS = float64(time.Since(started)) / float64(time.Millisecond)
	return cal, nil
}

// EstimatedCalibration stands in when the engine cannot count tokens: four
// bytes a token, an eight-token template. Its prompts are about the right
// length, labelled estimates, and the journal's prompt_tokens (when the
// engine reports them) says what they were.
func EstimatedCalibration(why error) *Calibration {
	cal := &Calibration{Method: "estimate", BaseTokens: 8 + (len(PromptOpener)+3)/4, cost: map[string]int{".": 1},
		Note: fmt.Sprintf("the engine could not count tokens (%v); lengths are estimates at about four bytes a token", why)}
	sum := 0
	for _, w := range syntheticWords {
		p := " " + w
		cal.cost[p] = (len(p) + 3) / 4
		cal.words = append(cal.words, p)
		sum += cal.cost[p]
	}
	cal.Pieces = len(cal.words) + 1
	cal.TokensPerWord = float64(sum) / float64(len(cal.words))
	cal.index()
	return cal
}

// Text is readable prose of n tokens on this engine, drawn from rng: the
// opener, then sentences of 6 to 17 words, then the words that fit the last
// few tokens. It returns the text and the tokens it was planned to have,
// which is n unless n is below BaseTokens or no counted word fits the
// remainder.
func (c *Calibration) Text(rng *rand.Rand, n int) (string, int) {
	text, used := c.Extend(rng, PromptOpener, n-c.BaseTokens)
	return text, c.BaseTokens + used
}

// Extend appends words costing budget tokens to text (a prompt this
// calibration wrote, whose last piece is complete): the unique rest of a
// prompt after a shared prefix. It returns the text and the tokens added.
func (c *Calibration) Extend(rng *rand.Rand, text string, budget int) (string, int) {
	var b strings.Builder
	b.Grow(len(text) + max(budget, 0)*6)
	b.WriteString(text)
	start := budget
	left := 0 // words still to come in the current sentence
	for budget > 0 {
		if left == 0 {
			left = 6 + rng.IntN(12)
		}
		p, need := c.word(rng, left == 1, budget)
		if need > budget {
			if p = c.fitting(rng, budget, b.String()); p == "" {
				break
			}
			b.WriteString(p)
			budget -= c.cost[p]
			continue
		}
		b.WriteString(p)
		budget -= c.cost[p]
		if left--; left == 0 {
			b.WriteByte('.')
			budget -= c.cost["."]
		}
	}
	return b.String(), start - budget
}

// word draws the next word and what it costs with its full stop when it
// ends the sentence. A word that would leave a remainder no piece can fill
// (fewer tokens than the cheapest word, and no room for a full stop, which
// may only follow a word) is drawn again, a few times: with a byte-level
// vocabulary a prompt would otherwise end a token short.
func (c *Calibration) word(rng *rand.Rand, ends bool, budget int) (string, int) {
	var p string
	var need int
	for range 8 {
		p = c.words[rng.IntN(len(c.words))]
		need = c.cost[p]
		if ends {
			need += c.cost["."]
		}
		rest := budget - need
		if rest <= 0 || rest >= c.minWord() || !ends && rest == c.cost["."] {
			break
		}
	}
	return p, need
}

// minWord is the cost of the cheapest counted word.
func (c *Calibration) minWord() int { return c.cheapest }

// index notes the cheapest word once the costs are known; the calibration
// is read by every request at once after.
func (c *Calibration) index() {
	c.cheapest = math.MaxInt
	for _, w := range c.words {
		c.cheapest = min(c.cheapest, c.cost[w])
	}
}

// fitting picks a piece of at most budget tokens for the end of a prompt,
// starting at a random word so endings vary. A full stop may end it after
// a word, never after another mark (tokenizers merge "..").
func (c *Calibration) fitting(rng *rand.Rand, budget int, sofar string) string {
	start := rng.IntN(len(c.words))
	for i := range c.words {
		if p := c.words[(start+i)%len(c.words)]; c.cost[p] <= budget {
			return p
		}
	}
	if last := sofar[len(sofar)-1]; c.cost["."] <= budget && (last >= 'a' && last <= 'z' || last >= 'A' && last <= 'Z') {
		return "."
	}
	return ""
}

// RequestRand is the generator of one request's lengths and words: the
// same seed, scenario and sequence give every engine the same draws.
func RequestRand(seed int64, scenario string, sequence int64, purpose string) *rand.Rand {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00%d\x00%s", scenario, sequence, purpose)
	return rand.New(rand.NewPCG(uint64(seed), h.Sum64()))
}

// CheckRand is the generator of a calibration check's words.
func CheckRand(seed int64, n int) *rand.Rand {
	return RequestRand(seed, "calibration", int64(n), "text")
}

// CheckLengths picks the lengths a calibration checks: the smallest,
// middle and largest typical length of the scenarios' input shapes and
// traces.
func CheckLengths(scenarios []Scenario) []int {
	var ns []int
	for _, s := range scenarios {
		if t := s.InputTokens; t != nil {
			ns = append(ns, t.Typical()...)
		}
		if sp := s.SharedPrefix; sp != nil {
			ns = append(ns, sp.Tokens)
			if s.InputTokens == nil {
				ns = append(ns, sp.Tokens+DefaultSuffixTokens)
			}
		}
		if s.Trace != nil {
			var in []int
			for _, e := range s.Trace.Entries {
				if e.Input > 0 {
					in = append(in, e.Input)
				}
			}
			if len(in) > 0 {
				slices.Sort(in)
				ns = append(ns, in[0], in[len(in)/2], in[len(in)-1])
			}
		}
	}
	slices.Sort(ns)
	ns = slices.Compact(ns)
	if len(ns) > 3 {
		ns = []int{ns[0], ns[len(ns)/2], ns[len(ns)-1]}
	}
	return ns
}
