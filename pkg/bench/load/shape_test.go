package load

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/sim"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

func simTargets(t *testing.T) []engine.Target {
	t.Helper()
	s := sim.New(sim.Options{Seed: 3, TimeScale: 0.01})
	t.Cleanup(func() { s.Close() })
	urls, err := s.StartAll(context.Background(), "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	var out []engine.Target
	for _, e := range []engine.EngineType{engine.EngineVLLM, engine.EngineTGI, engine.EngineOllama} {
		out = append(out, engine.Target{Name: string(e), Type: e, BaseURL: urls[e], API: engine.APIChat})
	}
	return out
}

func tokenShape(t *testing.T, spec string) *workload.TokenLength {
	t.Helper()
	tl, err := workload.ParseTokenLength(spec, "--input-tokens")
	if err != nil {
		t.Fatal(err)
	}
	return &tl
}

// Every engine bills exactly the drawn prompt length, the same draws for
// each, calibrated by /tokenize where there is one and by probes on
// Ollama.
func TestShapedPromptsCountExactlyOnEveryEngine(t *testing.T) {
	col := &Collector{}
	r := &Runner{
		Targets: simTargets(t),
		Scenarios: []workload.Scenario{{Name: "shaped", Suite: workload.SuiteLoad, Arrival: workload.ArrivalClosed, Concurrency: 3,
			Requests: 12, MaxTokens: 8, InputTokens: tokenShape(t, "uniform:40-900"), OutputTokens: tokenShape(t, "uniform:4-12")}},
		Prompts: []engine.Request{{}},
		HTTP:    engine.NewHTTPClient(engine.HTTPOptions{}),
		Timeout: 10 * time.Second, Clock: engine.NewClock(), Sink: col, Grace: time.Second, Seed: 11,
	}
	res := r.Run(context.Background())
	if res.Status != "complete" {
		t.Fatalf("run %s: %+v", res.Status, res.Targets)
	}
	methods := map[string]string{}
	for _, st := range res.Targets {
		cal := st.Calibration
		if cal == nil || !cal.Exact || len(cal.Checks) != 2 {
			t.Fatalf("%s: calibration %+v", st.Target.Name, cal)
		}
		methods[st.Target.Name] = cal.Method
	}
	if methods["vllm"] != "tokenize" || methods["tgi"] != "tokenize" || methods["ollama"] != "probe" {
		t.Errorf("methods = %v", methods)
	}
	type draw struct{ in, out int }
	bySeq := map[int64]map[string]draw{}
	for _, rec := range col.Snapshot() {
		if !rec.OK {
			t.Fatalf("%s #%d failed: %s %s", rec.Engine, rec.Sequence, rec.ErrorClass, rec.Error)
		}
		if rec.RequestedPromptTokens < 40 || rec.RequestedPromptTokens > 900 || rec.PromptTokens != rec.RequestedPromptTokens || rec.PromptMismatch {
			t.Errorf("%s #%d: requested %d prompt tokens, engine counted %d (mismatch %v)",
				rec.Engine, rec.Sequence, rec.RequestedPromptTokens, rec.PromptTokens, rec.PromptMismatch)
		}
		if rec.RequestedOutputTokens < 4 || rec.RequestedOutputTokens > 12 {
			t.Errorf("%s #%d: max_tokens %d outside 4-12", rec.Engine, rec.Sequence, rec.RequestedOutputTokens)
		}
		if bySeq[rec.Sequence] == nil {
			bySeq[rec.Sequence] = map[string]draw{}
		}
		bySeq[rec.Sequence][rec.Engine] = draw{rec.RequestedPromptTokens, rec.RequestedOutputTokens}
	}
	distinct := map[int]bool{}
	for seq, per := range bySeq {
		if len(per) != 3 || per["vllm"] != per["tgi"] || per["vllm"] != per["ollama"] {
			t.Errorf("sequence %d drew differently per engine: %v", seq, per)
		}
		distinct[per["vllm"].in] = true
	}
	if len(bySeq) < 12 || len(distinct) < 6 {
		t.Errorf("%d sequences, %d distinct lengths", len(bySeq), len(distinct))
	}
}

func TestShapedPromptsBeyondTheContextAreRefused(t *testing.T) {
	targets := simTargets(t)[:1] // vLLM: max_model_len 8192
	col := &Collector{}
	r := &Runner{
		Targets: targets,
		Scenarios: []workload.Scenario{{Name: "long", Suite: workload.SuiteLoad, Arrival: workload.ArrivalClosed, Concurrency: 1,
			Requests: 2, MaxTokens: 256, InputTokens: tokenShape(t, "8000")}},
		Prompts: []engine.Request{{}},
		HTTP:    engine.NewHTTPClient(engine.HTTPOptions{}),
		Timeout: 10 * time.Second, Clock: engine.NewClock(), Sink: col, Grace: time.Second, Seed: 1,
	}
	res := r.Run(context.Background())
	if len(col.Snapshot()) != 0 {
		t.Fatalf("%d requests sent", len(col.Snapshot()))
	}
	msg := res.Targets[0].Error
	for _, want := range []string{"scenario long", "8000 input + 256 output", "8192", "--input-tokens"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
}

// A fixed length below the chat template and opener cannot be honoured;
// the error says the least that can.
func TestShapedPromptsShorterThanTheTemplateAreRefused(t *testing.T) {
	col := &Collector{}
	r := &Runner{
		Targets: simTargets(t)[1:2], // TGI
		Scenarios: []workload.Scenario{{Name: "tiny", Suite: workload.SuiteLoad, Arrival: workload.ArrivalClosed, Concurrency: 1,
			Requests: 2, MaxTokens: 4, InputTokens: tokenShape(t, "2")}},
		Prompts: []engine.Request{{}},
		HTTP:    engine.NewHTTPClient(engine.HTTPOptions{}),
		Timeout: 10 * time.Second, Clock: engine.NewClock(), Sink: col, Grace: time.Second, Seed: 1,
	}
	res := r.Run(context.Background())
	if n := len(col.Snapshot()); n != 0 {
		t.Fatalf("%d requests sent", n)
	}
	if msg := res.Targets[0].Error; !strings.Contains(msg, "--input-tokens 2") || !strings.Contains(msg, "ask for at least") {
		t.Errorf("error %q", msg)
	}
}

// A trace is replayed at its offsets, exactly on the schedule (intended
// times are computed, not measured), every request with the trace's own
// prompt and answer lengths in each engine's tokenizer.
func TestTraceReplaysOffsetsAndLengths(t *testing.T) {
	te := func(ms, in, out int) workload.TraceEntry {
		return workload.TraceEntry{Offset: time.Duration(ms) * time.Millisecond, Input: in, Output: out}
	}
	entries := []workload.TraceEntry{te(0, 120, 4), te(0, 60, 2), te(40, 300, 6), te(55, 0, 3), te(130, 90, 0)}
	col := &Collector{}
	r := &Runner{
		Targets: simTargets(t)[:2],
		Scenarios: []workload.Scenario{{Name: "replay", Suite: workload.SuiteLoad, Arrival: workload.ArrivalTrace, MaxTokens: 5, CapPolicy: "wait",
			Trace: &workload.Trace{Path: "t.csv", Speed: 1, Requests: len(entries), Entries: entries}}},
		Prompts: []engine.Request{{Messages: []engine.Message{{Role: "user", Content: "a question"}}}},
		HTTP:    engine.NewHTTPClient(engine.HTTPOptions{}),
		Timeout: 10 * time.Second, Clock: engine.NewClock(), Sink: col, Grace: time.Second, Seed: 2,
	}
	res := r.Run(context.Background())
	if res.Status != "complete" {
		t.Fatalf("run %s: %+v", res.Status, res.Targets)
	}
	per := map[string][]engine.Record{}
	for _, rec := range col.Snapshot() {
		per[rec.Engine] = append(per[rec.Engine], rec)
	}
	for eng, recs := range per {
		if len(recs) != len(entries) {
			t.Fatalf("%s: %d records, want %d", eng, len(recs), len(entries))
		}
		var first int64
		for _, rec := range recs {
			if rec.Sequence == 0 {
				first = rec.IntendedStartUnixNS
			}
		}
		for _, rec := range recs {
			e := entries[rec.Sequence]
			if got := time.Duration(rec.IntendedStartUnixNS - first); got != e.Offset {
				t.Errorf("%s #%d intended at %s, trace says %s", eng, rec.Sequence, got, e.Offset)
			}
			wantOut := e.Output
			if wantOut == 0 {
				wantOut = 5 // the scenario's max_tokens
			}
			if !rec.OK || rec.RequestedOutputTokens != wantOut {
				t.Errorf("%s #%d: ok %v, max_tokens %d, want %d", eng, rec.Sequence, rec.OK, rec.RequestedOutputTokens, wantOut)
			}
			if e.Input > 0 && (rec.RequestedPromptTokens != e.Input || rec.PromptTokens != e.Input) {
				t.Errorf("%s #%d: prompt %d (requested %d), trace says %d", eng, rec.Sequence, rec.PromptTokens, rec.RequestedPromptTokens, e.Input)
			}
			if e.Input == 0 && rec.RequestedPromptTokens != 0 {
				t.Errorf("%s #%d: a trace entry without a length was shaped to %d", eng, rec.Sequence, rec.RequestedPromptTokens)
			}
		}
	}
}

// Prompts that share a prefix reach every engine with it; the simulated
// vLLM (with --enable-prompt-tokens-details) reports what its prefix cache
// served, a multiple of its 16-token blocks, and charges prefill for the
// rest only; TGI and Ollama say nothing of their caches.
func TestSharedPrefixesHitThePrefixCache(t *testing.T) {
	col := &Collector{}
	sp := &workload.SharedPrefix{Tokens: 400, Groups: 2}
	r := &Runner{
		Targets: simTargets(t),
		Scenarios: []workload.Scenario{{Name: "prefix", Suite: workload.SuiteLoad, Arrival: workload.ArrivalClosed, Concurrency: 1,
			Requests: 8, MaxTokens: 2, SharedPrefix: sp}},
		Prompts: []engine.Request{{}},
		HTTP:    engine.NewHTTPClient(engine.HTTPOptions{}),
		Timeout: 10 * time.Second, Clock: engine.NewClock(), Sink: col, Grace: time.Second, Seed: 5,
	}
	if res := r.Run(context.Background()); res.Status != "complete" {
		t.Fatalf("run %s: %+v", res.Status, res.Targets)
	}
	groups := map[int]bool{}
	hits := 0
	for _, rec := range col.Snapshot() {
		want := 400 + workload.DefaultSuffixTokens
		if !rec.OK || rec.RequestedPromptTokens != want || rec.PromptTokens != want || rec.SharedPrefixTokens != 400 || rec.PrefixGroup == nil {
			t.Fatalf("%s #%d: %+v", rec.Engine, rec.Sequence, rec)
		}
		groups[*rec.PrefixGroup] = true
		switch rec.Engine {
		case "vllm":
			if rec.CachedTokens != nil {
				if c := *rec.CachedTokens; c%16 != 0 || c < 384 || c > 400 || rec.CachedTokensSource != engine.CachedFromUsage {
					t.Errorf("vllm #%d: cached %d (%s), want whole blocks of the 400-token prefix", rec.Sequence, c, rec.CachedTokensSource)
				}
				hits++
			}
		default:
			if rec.CachedTokens != nil {
				t.Errorf("%s reported cached tokens: %d", rec.Engine, *rec.CachedTokens)
			}
		}
	}
	// Each group's first request misses; later ones hit.
	if len(groups) != 2 || hits < 8-len(groups) {
		t.Errorf("groups %v, vllm hits %d of 8", groups, hits)
	}
}
