package export

import (
	"io"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

// syntheticRecords yields n successful requests of a long load run, each
// with chunks chunks, made on the fly so the input itself holds no memory.
func syntheticRecords(n, chunks int) nextRecord {
	i := 0
	return func() (*engine.Record, error) {
		if i == n {
			return nil, io.EOF
		}
		i++
		start := int64(1_795_801_469_833_799_239) + int64(i)*7_000_000
		ttft := 20 + float64(i%97)/10
		r := &engine.Record{RunID: "test_load_20260101_000000", Engine: []string{"vllm", "tgi", "ollama"}[i%3],
			EngineType: engine.EngineVLLM, API: engine.APIChat, Model: "meta-llama/Llama-3.1-8B-Instruct",
			Suite: workload.SuiteLoad, Scenario: "load", Phase: engine.PhaseMeasure, RequestID: int64(i),
			Worker: i % 64, Sequence: int64(i), PromptIndex: i % 100,
			IntendedStartUnixNS: start, StartUnixNS: start + 40_000, EndUnixNS: start + 600_000_000,
			ScheduleLagMS: 0.04, TTFBMS: f64(0.2), TTFTMS: f64(ttft), TTFTContentMS: f64(ttft),
			TPOTMS: f64(8.2), NTPOTMS: f64(8.4), E2EMS: f64(600), OutputTokensPerS: f64(106),
			PromptTokens: 512, OutputTokens: chunks, OutputTokensSource: engine.TokensFromUsage,
			RequestedOutputTokens: chunks, Chunks: chunks, FinishReason: "length", ResponseBytes: 20_000,
			OK: true, HTTPStatus: 200}
		at := ttft
		for c := range chunks {
			if c > 0 {
				gap := 8 + float64((i+c)%13)/10
				at += gap
				r.ITLMS = append(r.ITLMS, gap)
			}
			r.ChunkOffsetMS = append(r.ChunkOffsetMS, at)
		}
		return r, nil
	}
}

// peakHeapWhile samples the live heap while write runs and returns the
// peak above what was in use before: what the export itself costs.
func peakHeapWhile(write func()) uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak atomic.Uint64
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		var ms runtime.MemStats
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	write()
	close(stop)
	<-stopped
	if p := peak.Load(); p > base {
		return p - base
	}
	return 0
}

func writeSyntheticParquet(tb testing.TB, n, chunks int) {
	meta := meta{RunID: "test_load_20260101_000000", ToolVersion: "test"}
	if err := writeRequestsAndChunksParquet(io.Discard, io.Discard, meta, syntheticRecords(n, chunks)); err != nil {
		tb.Fatal(err)
	}
}

// Memory must not grow with the run: row groups are flushed as they fill,
// so four times the requests (past several row groups) may not cost much
// more than one row group's worth.
func TestParquetMemoryStaysFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 330k synthetic requests")
	}
	const chunks = 8
	small := peakHeapWhile(func() { writeSyntheticParquet(t, 66_000, chunks) })
	large := peakHeapWhile(func() { writeSyntheticParquet(t, 264_000, chunks) })
	t.Logf("peak heap above baseline: %.1f MiB for 66k requests, %.1f MiB for 264k", mib(small), mib(large))
	if large > small*3/2+8<<20 {
		t.Errorf("peak heap grew from %.1f to %.1f MiB with 4× the requests: rows are being held", mib(small), mib(large))
	}
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// BenchmarkParquet1MRequests writes requests.parquet and chunks.parquet for
// a million requests of 64 chunks each (64M chunk rows) and reports the
// peak heap the export needed:
//
//	go test ./pkg/export/ -run '^$' -bench Parquet1M -benchtime 1x
func BenchmarkParquet1MRequests(b *testing.B) {
	for range b.N {
		peak := peakHeapWhile(func() { writeSyntheticParquet(b, 1_000_000, 64) })
		b.ReportMetric(mib(peak), "peak-heap-MiB")
	}
}
