package export

import (
	"path/filepath"
	"testing"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

func f64(v float64) *float64 { return &v }

// tableRecords covers every kind of row the exporters must handle: warm-up,
// success with chunks, reasoning, an HTTP failure with nulls, a dropped
// request, Ollama's server timings, a cold start, and events that packed
// several tokens (speculative decoding).
func tableRecords() []engine.Record {
	const t0 = int64(1_795_801_469_833_799_239)
	base := func(id int64, name string, et engine.EngineType, api engine.API) engine.Record {
		return engine.Record{RunID: "test_fixture_20260101_000000", Engine: name, EngineType: et, API: api,
			Model: "m", Suite: "ttft", Scenario: "ttft", Phase: engine.PhaseMeasure, RequestID: id,
			Sequence: id, IntendedStartUnixNS: t0 + id*1_000_000_000, StartUnixNS: t0 + id*1_000_000_000 + 53_019,
			EndUnixNS: t0 + id*1_000_000_000 + 530_000_000, ScheduleLagMS: 0.053019, RequestedOutputTokens: 4}
	}
	ok := func(r engine.Record, ttft float64, itl ...float64) engine.Record {
		r.OK, r.HTTPStatus, r.FinishReason = true, 200, "length"
		r.TTFBMS, r.TTFTMS, r.TTFTContentMS = f64(0.22806), f64(ttft), f64(ttft)
		at := ttft
		r.ChunkOffsetMS = []float64{at}
		for _, g := range itl {
			at += g
			r.ChunkOffsetMS = append(r.ChunkOffsetMS, at)
		}
		r.ITLMS = itl
		r.Chunks, r.OutputTokens, r.PromptTokens = len(r.ChunkOffsetMS), len(r.ChunkOffsetMS), 17
		r.OutputTokensSource = engine.TokensFromUsage
		r.E2EMS = f64(at + 1)
		r.TPOTMS, r.NTPOTMS, r.OutputTokensPerS = f64((at-ttft)/3), f64((at+1)/4), f64(4000/(at+1))
		r.ResponseBytes = 1234
		return r
	}
	warm := base(1, "vllm", engine.EngineVLLM, engine.APIChat)
	warm.Phase = engine.PhaseWarmup
	warm = ok(warm, 30, 8, 8, 8)

	failed := base(5, "vllm", engine.EngineVLLM, engine.APIChat)
	failed.HTTPStatus, failed.ErrorClass, failed.Error = 503, engine.ErrHTTP5xx, "server said: overloaded, \"retry\"\nlater"
	failed.TTFBMS = f64(1.5)

	dropped := base(6, "tgi", engine.EngineTGI, engine.APIGenerateStream)
	dropped.ErrorClass, dropped.Error = engine.ErrDropped, "client cap of 4 requests in flight reached"

	reasoning := ok(base(4, "vllm", engine.EngineVLLM, engine.APIChat), 20, 5.5, 6.25, 7)
	reasoning.TTFTContentMS, reasoning.ReasoningChunks = f64(31.75), 2

	packed := ok(base(3, "vllm", engine.EngineVLLM, engine.APIChat), 24.5, 8.25, 8.125, 8.5)
	packed.OutputTokens = 6 // in 4 chunks

	ollama := func(id int64, load float64) engine.Record {
		r := ok(base(id, "ollama", engine.EngineOllama, engine.APIOllamaChat), 50+load, 15, 16, 15)
		r.OutputTokensSource = engine.TokensFromEvalCount
		r.ServerTotalMS, r.ServerLoadMS, r.ServerPromptEvalMS, r.ServerEvalMS = f64(load+95), f64(load), f64(49.5), f64(45)
		r.ServerTTFTMS, r.TTFTResidualMS, r.ServerWaitMS = f64(load+49.5), f64(0.5), f64(0.5)
		r.ServerDecodeTokensPerS, r.ClientDecodeTokensPerS = f64(66.6), f64(65.2)
		r.ColdStart = load >= 100
		return r
	}
	return []engine.Record{
		warm,
		ok(base(2, "vllm", engine.EngineVLLM, engine.APIChat), 23.16751, 8.285389, 8.335022, 8.231498),
		packed,
		reasoning,
		failed,
		dropped,
		ollama(7, 2300),
		ollama(8, 1),
		ollama(9, 1.25),
	}
}

// fixtureRun writes a run folder holding the fixture's manifest and
// journal, and loads it the way `report` does.
func fixtureRun(t testing.TB, dir string) *Run {
	t.Helper()
	m := Manifest{Tool: "kubectl-llmbench", ToolVersion: "v0.0.0-test", RunID: "test_fixture_20260101_000000",
		Status: "complete", Scenarios: []workload.Scenario{{Name: "ttft", Suite: "ttft",
			Target: &workload.Goal{Metric: "ttft", Percentile: 95, LimitMS: 500}}}}
	if err := WriteJSON(filepath.Join(dir, ManifestFile), m); err != nil {
		t.Fatal(err)
	}
	j, err := OpenJournal(filepath.Join(dir, JournalFile))
	if err != nil {
		t.Fatal(err)
	}
	recs := tableRecords()
	for i := range recs {
		if err := j.Write(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	run, err := LoadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Records) != 0 {
		t.Fatal("LoadRun kept the records in memory; writers must stream the journal")
	}
	// The tests compare what the writers streamed from the journal with
	// the records themselves.
	if run.Records, err = run.ReadRecords(); err != nil || len(run.Records) != len(recs) {
		t.Fatalf("read back %d records of %d: %v", len(run.Records), len(recs), err)
	}
	return run
}
