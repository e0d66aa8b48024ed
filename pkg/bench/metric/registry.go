package metric

import "github.com/llmbench/kubectl-llmbench/pkg/bench/engine"

// Throughput is a group's output tokens per second of wall time, an
// aggregate with no per-request value.
const Throughput = "throughput_output_tokens_per_s"

// Units of the metrics.
const (
	UnitMS         = "ms"
	UnitTokensPerS = "tok/s"
	UnitTokens     = "tokens"
)

// Def is one metric as every part of the tool reads it: the summarizer
// folds it, regressions and verdicts know which way is better, reports
// label it and print its unit. A new metric is one entry in Defs.
type Def struct {
	Name           string
	Label          string
	Unit           string
	HigherIsBetter bool
	// Of reads a successful, warm request's value: nil when it has none.
	// Nil for the metrics the summarizer derives otherwise (every gap of
	// ITL; from arrival; counts and lag, which every request has; the
	// prefix cache's, which split TTFT by cached_tokens).
	Of func(*engine.Record) *float64
}

// Defs are the metrics of the journal and summaries, in the order the
// summarizer folds them.
var Defs = []Def{
	{Name: TTFB, Label: "TTFB", Unit: UnitMS, Of: func(r *engine.Record) *float64 { return r.TTFBMS }},
	{Name: TTFT, Label: "TTFT", Unit: UnitMS, Of: func(r *engine.Record) *float64 { return r.TTFTMS }},
	{Name: TTFTContent, Label: "TTFT to content", Unit: UnitMS, Of: func(r *engine.Record) *float64 { return r.TTFTContentMS }},
	{Name: TPOT, Label: "TPOT", Unit: UnitMS, Of: func(r *engine.Record) *float64 { return r.TPOTMS }},
	{Name: E2E, Label: "E2E", Unit: UnitMS, Of: func(r *engine.Record) *float64 { return r.E2EMS }},
	{Name: NTPOT, Label: "NTPOT", Unit: UnitMS, Of: func(r *engine.Record) *float64 { return r.NTPOTMS }},
	{Name: TokensPerS, Label: "Output tokens/s", Unit: UnitTokensPerS, HigherIsBetter: true, Of: func(r *engine.Record) *float64 { return r.OutputTokensPerS }},
	{Name: ServerLoad, Label: "Server load", Unit: UnitMS, Of: func(r *engine.Record) *float64 { return r.ServerLoadMS }},
	{Name: ServerPrompt, Label: "Server prompt eval", Unit: UnitMS, Of: func(r *engine.Record) *float64 { return r.ServerPromptEvalMS }},
	{Name: ServerEval, Label: "Server eval", Unit: UnitMS, Of: func(r *engine.Record) *float64 { return r.ServerEvalMS }},
	{Name: ServerTTFT, Label: "Server TTFT", Unit: UnitMS, Of: func(r *engine.Record) *float64 { return r.ServerTTFTMS }},
	{Name: TTFTResidual, Label: "TTFT residual", Unit: UnitMS, Of: func(r *engine.Record) *float64 { return r.TTFTResidualMS }},
	{Name: ServerWait, Label: "Server wait", Unit: UnitMS, Of: func(r *engine.Record) *float64 { return r.ServerWaitMS }},
	{Name: ServerDecodeTPS, Label: "Server decode tokens/s", Unit: UnitTokensPerS, HigherIsBetter: true, Of: func(r *engine.Record) *float64 { return r.ServerDecodeTokensPerS }},
	{Name: ClientDecodeTPS, Label: "Client decode tokens/s", Unit: UnitTokensPerS, HigherIsBetter: true, Of: func(r *engine.Record) *float64 { return r.ClientDecodeTokensPerS }},
	{Name: CachedTokens, Label: "Cached prompt tokens", Unit: UnitTokens},
	{Name: TTFTPrefixHit, Label: "TTFT, prefix-cache hit", Unit: UnitMS},
	{Name: TTFTPrefixMiss, Label: "TTFT, prefix-cache miss", Unit: UnitMS},
	{Name: ITL, Label: "ITL", Unit: UnitMS},
	{Name: TTFTFromArrival, Label: "TTFT from arrival", Unit: UnitMS},
	{Name: E2EFromArrival, Label: "E2E from arrival", Unit: UnitMS},
	{Name: ScheduleLag, Label: "Schedule lag", Unit: UnitMS},
	{Name: PromptTokens, Label: "Prompt tokens", Unit: UnitTokens},
	{Name: OutputTokens, Label: "Output tokens", Unit: UnitTokens},
	{Name: Throughput, Label: "Output throughput", Unit: UnitTokensPerS, HigherIsBetter: true},
}

var byName = func() map[string]Def {
	m := make(map[string]Def, len(Defs))
	for _, d := range Defs {
		m[d.Name] = d
	}
	return m
}()

// Lookup finds a metric by name.
func Lookup(name string) (Def, bool) {
	d, ok := byName[name]
	return d, ok
}

// Label is a metric's short name for tables and charts; the name itself
// when it is not registered.
func Label(name string) string {
	if d, ok := byName[name]; ok {
		return d.Label
	}
	return name
}

// HigherIsBetter says which way a metric improves.
func HigherIsBetter(name string) bool { return byName[name].HigherIsBetter }
