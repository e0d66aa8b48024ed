// Package sim serves in-process imitations of vLLM, TGI and Ollama. Their
// wire formats follow shared/reference/transcripts byte for byte (key order,
// nulls, framing); their latency follows a small queueing model (Profile), so
// that a benchmark run against the simulator has the shape of a real one.
package sim

import (
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
)

// Profile is the latency model of one engine.
type Profile struct {
	// Engine is set from the key the profile is stored under.
	Engine engine.EngineType
	// Model is the served model name. Ollama names carry a tag
	// ("llama3.2:latest"); requests may leave ":latest" off.
	Model string
	// Models, when set, are the models an Ollama engine serves instead of
	// Model alone, listed in this order by /api/tags and /v1/models. Each
	// has its own cold load and may stop by itself.
	Models []Model
	// Version is the Ollama version imitated, in /api/version and in the
	// wire details that changed between releases (see ollamaDialect); empty
	// is 0.32.15. Other engines ignore it.
	Version string

	PrefillBase     time.Duration // fixed cost before the first token
	PrefillPerToken time.Duration // added per prompt token
	// DecodePerToken is the gap between tokens with one sequence running;
	// with more it is DecodePerToken * (1 + DecodeSlowdownPerSeq*(running-1)).
	DecodePerToken       time.Duration
	DecodeSlowdownPerSeq float64
	// MaxBatch is how many sequences decode at once; later requests wait in
	// FIFO order for a slot.
	MaxBatch int
	// Jitter is the relative spread of each token gap (0.05 = ±5%, uniform).
	Jitter float64
	// ColdLoad delays the first request of the server's life (the model
	// load) and shows up in Ollama's load_duration. 0 = model already hot.
	ColdLoad time.Duration
	// NaturalStopTokens, when > 0, ends a generation with EOS after this
	// many tokens if that is below the requested maximum and the request
	// does not force its length (only vLLM's ignore_eos can). 0 = always
	// run to the maximum.
	NaturalStopTokens int

	// PrefixCaching remembers prompts' leading tokens, as vLLM's automatic
	// prefix caching (blocks of 16 tokens), TGI's (since 3.0, token by
	// token) and Ollama's reuse of a slot's KV cache do; a chat whose
	// leading tokens were seen pays prefill for the rest only.
	PrefixCaching bool
	// PromptTokensDetails is vLLM's --enable-prompt-tokens-details:
	// usage reports prompt_tokens_details.cached_tokens, and leaves it out
	// when nothing was cached [UNSURE]. Other engines ignore it.
	PromptTokensDetails bool

	// MaxConcurrentRequests caps TGI's requests in flight (its
	// --max-concurrent-requests); beyond it TGI answers "Model is
	// overloaded". 0 = 128, TGI's default.
	MaxConcurrentRequests int
	// KVCacheTokens is vLLM's KV cache in tokens: running sequences hold
	// their prompt and output so far, and one that finds it full is
	// preempted and recomputed. 0 = MaxBatch × 8192, never the limit
	// for a chat workload.
	KVCacheTokens int

	// MaxQueue caps Ollama's waiting requests (OLLAMA_MAX_QUEUE); beyond
	// MaxBatch+MaxQueue in flight Ollama answers 503. 0 = 512.
	MaxQueue int
}

// Model is one model a simulated Ollama serves.
type Model struct {
	// Name as listed, with its tag ("tiny:latest"); ":latest" is added
	// when there is none.
	Name string
	// NaturalStopTokens makes this model end with EOS after this many
	// streamed tokens, like Profile.NaturalStopTokens does for the engine
	// (which applies to models that leave this 0). Ollama's eval_count and
	// usage then report one more: the EOS.
	NaturalStopTokens int
	// BytePrompt counts prompt tokens as the tiny test models of
	// test/ollama/gguf do: their template is only {{ .Prompt }}, so a chat
	// renders its user turns and drops the system prompt, and their
	// vocabulary has one token per byte; <s> and SentencePiece's leading
	// "▁" add two. Otherwise the simulator estimates Llama 3's count.
	BytePrompt bool
}

const (
	defaultMaxConcurrentRequests = 128
	defaultMaxQueue              = 512
)

// prefixCacheBlocks bounds what a simulated prefix cache remembers.
const prefixCacheBlocks = 1 << 18

// prefixBlock is the engine's cache granularity in tokens.
func (p *Profile) prefixBlock() int {
	if p.Engine == engine.EngineVLLM {
		return 16
	}
	return 1
}

// DefaultProfiles returns one profile per simulated engine. The numbers tell
// the usual story of a single 8B-class model on one GPU: vLLM has the
// quickest first token and scales best with concurrency, TGI is close behind
// with a smaller batch, and Ollama is slowest, decodes only OLLAMA_NUM_PARALLEL
// sequences at once (so it queues early) and pays a model load on first use.
func DefaultProfiles() map[engine.EngineType]Profile {
	return map[engine.EngineType]Profile{
		engine.EngineVLLM: {
			Engine:               engine.EngineVLLM,
			Model:                "meta-llama/Llama-3.1-8B-Instruct",
			PrefillBase:          20 * time.Millisecond,
			PrefillPerToken:      60 * time.Microsecond,
			DecodePerToken:       8 * time.Millisecond,
			DecodeSlowdownPerSeq: 0.01,
			MaxBatch:             64,
			Jitter:               0.05,
			PrefixCaching:        true,
			PromptTokensDetails:  true,
		},
		engine.EngineTGI: {
			Engine:                engine.EngineTGI,
			Model:                 "meta-llama/Llama-3.1-8B-Instruct",
			PrefillBase:           30 * time.Millisecond,
			PrefillPerToken:       80 * time.Microsecond,
			DecodePerToken:        9 * time.Millisecond,
			DecodeSlowdownPerSeq:  0.02,
			MaxBatch:              32,
			Jitter:                0.06,
			MaxConcurrentRequests: defaultMaxConcurrentRequests,
			PrefixCaching:         true,
		},
		engine.EngineOllama: {
			Engine:               engine.EngineOllama,
			Model:                "llama3.2:latest",
			PrefillBase:          40 * time.Millisecond,
			PrefillPerToken:      200 * time.Microsecond,
			DecodePerToken:       11 * time.Millisecond,
			DecodeSlowdownPerSeq: 0.15,
			MaxBatch:             4,
			Jitter:               0.08,
			ColdLoad:             400 * time.Millisecond,
			MaxQueue:             defaultMaxQueue,
			PrefixCaching:        true,
		},
	}
}

// simulatedEngines are the engines a Server serves, in StartAll order.
var simulatedEngines = []engine.EngineType{engine.EngineVLLM, engine.EngineTGI, engine.EngineOllama}

// Options configure a Server.
type Options struct {
	// Seed makes texts and jitter reproducible.
	Seed int64
	// Profiles replaces the default profile of the engines it names.
	Profiles map[engine.EngineType]Profile
	// TimeScale multiplies every latency; 1 (or 0) keeps the profile's.
	TimeScale float64
	// Served, when set, hears every request a vLLM or TGI simulator
	// finished, with the timings its /metrics recorded: the ground truth a
	// reconciliation test holds the scraped histograms to.
	Served func(Served)
}

// Served is one finished request as the simulator timed it.
type Served struct {
	Engine engine.EngineType
	// Arrived, Admitted, First and Last are when the request arrived,
	// got a batch slot, and emitted its first and last token.
	Arrived, Admitted, First, Last time.Time
	PromptTokens, Tokens           int
	Reason                         string // stop, length, abort
	// Preemptions is how often the KV cache preempted it (vLLM).
	Preemptions int
}

// resolveProfile picks the profile for an engine, fills the fields a caller
// may leave zero, and applies the time scale.
func resolveProfile(engine engine.EngineType, opts Options) Profile {
	def := DefaultProfiles()[engine]
	p, ok := opts.Profiles[engine]
	if !ok {
		p = def
	}
	p.Engine = engine
	if p.Model == "" {
		p.Model = def.Model
	}
	if len(p.Models) > 0 {
		p.Model = p.Models[0].Name
	}
	if p.MaxBatch <= 0 {
		p.MaxBatch = def.MaxBatch
	}
	if p.KVCacheTokens <= 0 {
		p.KVCacheTokens = p.MaxBatch * defaultKVTokensPerSeq
	}
	if p.MaxConcurrentRequests <= 0 {
		p.MaxConcurrentRequests = defaultMaxConcurrentRequests
	}
	if p.MaxQueue <= 0 {
		p.MaxQueue = defaultMaxQueue
	}
	if p.Jitter < 0 {
		p.Jitter = 0
	}
	scale := opts.TimeScale
	if scale <= 0 {
		scale = 1
	}
	p.PrefillBase = scaleDuration(p.PrefillBase, scale)
	p.PrefillPerToken = scaleDuration(p.PrefillPerToken, scale)
	p.DecodePerToken = scaleDuration(p.DecodePerToken, scale)
	p.ColdLoad = scaleDuration(p.ColdLoad, scale)
	return p
}

func scaleDuration(d time.Duration, scale float64) time.Duration {
	return time.Duration(float64(d) * scale)
}
