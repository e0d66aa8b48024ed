package export

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/summary"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/verdict"
)

func openParquet(t *testing.T, path string) *parquet.File {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("%s is not a Parquet file: %v", filepath.Base(path), err)
	}
	return f
}

func readRows[T any](t *testing.T, path string) []T {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := parquet.Read[T](bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("reading %s back: %v", filepath.Base(path), err)
	}
	return rows
}

// sameTimes lets DeepEqual compare rows whose times came back in another
// location: the instant is what was written.
func sameTimes(rows []requestRow) {
	for i := range rows {
		r := &rows[i]
		r.IntendedStartTS, r.StartTS, r.EndTS = r.IntendedStartTS.UTC(), r.StartTS.UTC(), r.EndTS.UTC()
	}
}

func TestWriteParquetRoundTrips(t *testing.T) {
	dir := t.TempDir()
	run := fixtureRun(t, dir)
	if err := WriteParquet(dir, run); err != nil {
		t.Fatal(err)
	}

	var want []requestRow
	var wantChunks []chunkRow
	for i := range run.Records {
		want = append(want, requestRowOf(&run.Records[i]))
		eachChunk(&run.Records[i], func(c chunkRow) error { wantChunks = append(wantChunks, c); return nil })
	}
	got := readRows[requestRow](t, filepath.Join(dir, requestsParquetFile))
	sameTimes(got)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("requests.parquet read back differs:\n got %+v\nwant %+v", got, want)
	}
	failed := got[4]
	if failed.TTFTMS != nil || failed.E2EMS != nil || failed.TTFBMS == nil || failed.ErrorClass != "http_5xx" {
		t.Errorf("a failed request must keep its nulls and its TTFB: %+v", failed)
	}
	if ts := got[1].StartTS; ts.UnixNano() != run.Records[1].StartUnixNS {
		t.Errorf("start_ts %v lost nanoseconds of %d", ts, run.Records[1].StartUnixNS)
	}

	chunks := readRows[chunkRow](t, filepath.Join(dir, ChunksParquetFile))
	if !reflect.DeepEqual(chunks, wantChunks) {
		t.Errorf("chunks.parquet read back differs:\n got %+v\nwant %+v", chunks, wantChunks)
	}
	total := 0
	for _, r := range run.Records {
		total += r.Chunks
	}
	if len(chunks) != total {
		t.Errorf("chunks.parquet has %d rows, the journal %d chunks", len(chunks), total)
	}
	oneEach := map[int64]bool{}
	for _, r := range run.Records {
		oneEach[r.RequestID] = r.OutputTokensSource != "" && r.OutputTokensSource != engine.TokensFromChunks && r.OutputTokens == r.Chunks
	}
	withTokens := 0
	for _, c := range chunks {
		if (c.ChunkIndex == 0) != (c.GapMS == nil) || (c.Tokens != nil) != oneEach[c.RequestID] || (c.Tokens != nil && *c.Tokens != 1) {
			t.Errorf("chunk %d of request %d: gap %v tokens %v", c.ChunkIndex, c.RequestID, c.GapMS, c.Tokens)
		}
		if c.Tokens != nil {
			withTokens++
		}
		// The journal's own gaps, bit for bit, not a re-subtraction.
		if c.RequestID == 2 && c.ChunkIndex == 1 && *c.GapMS != 8.285389 {
			t.Errorf("gap_ms %v, want the journal's 8.285389", *c.GapMS)
		}
	}

	if withTokens == 0 || withTokens == len(chunks) {
		t.Errorf("%d of %d chunks have a token count; the fixture has requests of both kinds", withTokens, len(chunks))
	}

	summary := readRows[summaryRow](t, filepath.Join(dir, SummaryParquetFile))
	if !reflect.DeepEqual(summary, summaryRows(run.Summary)) {
		t.Errorf("summary.parquet read back differs from the summary")
	}
}

func TestSummaryRowsCoverEveryBlock(t *testing.T) {
	run := fixtureRun(t, t.TempDir())
	find := func(engine, metric, stat string) *float64 {
		t.Helper()
		for _, r := range summaryRows(run.Summary) {
			if r.Engine == engine && r.Metric == metric && r.Statistic == stat {
				if r.Scenario != "ttft" || r.RunID != run.Manifest.RunID || r.Model != "m" {
					t.Errorf("row %+v lost its group", r)
				}
				return r.Value
			}
		}
		t.Fatalf("no row %s %s %s", engine, metric, stat)
		return nil
	}
	vllm := run.Summary.Groups[0]
	checks := []struct {
		engine, metric, stat string
		want                 float64
	}{
		{"vllm", "requests", statValue, 4},
		{"vllm", "failed", statValue, 1},
		{"vllm", "error_rate", statValue, 0.25},
		{"vllm", "errors_by_class.http_5xx", statValue, 1},
		{"vllm", "warmup_requests", statValue, 1},
		{"vllm", "throughput_output_tokens_per_s", statValue, vllm.OutputTokensPerS},
		{"vllm", "ttft_ms", "count", 3},
		{"vllm", "ttft_ms", "p50", vllm.Metrics["ttft_ms"].P50},
		{"vllm", "itl_ms", "p99", vllm.Metrics["itl_ms"].P99},
		{"vllm", "target.ttft_ms", "percentile", 95},
		{"vllm", "target.ttft_ms", "limit_ms", 500},
		{"vllm", "target.ttft_ms", "met", 0}, // a p95 among 25% failures
		{"tgi", "dropped_by_client", statValue, 1},
		{"ollama", "cold_start.count", statValue, 1},
		{"ollama", "cold_start.server_load_ms", "max", 2300},
		{"ollama", "reconciliation.requests", statValue, 2},
		{"ollama", "reconciliation.server_ttft_ms", "mean", 50.625},
		{"ollama", "reconciliation.decode_rate_ratio", statValue, 65.2 / 66.6},
	}
	for _, c := range checks {
		if v := find(c.engine, c.metric, c.stat); v == nil || math.Abs(*v-c.want) > 1e-12 {
			t.Errorf("%s %s %s = %v, want %v", c.engine, c.metric, c.stat, v, c.want)
		}
	}
	if v := find("vllm", "target.ttft_ms", statValue); v != nil {
		t.Errorf("a percentile among failed requests has no value, got %v", *v)
	}
	// A statistic of no samples is null, not Describe's zero.
	empty := verdict.Summary{Groups: []summary.Group{{Engine: "x", Reconciliation: &summary.Reconciliation{Requests: 1}}}}
	for _, r := range summaryRows(empty) {
		if r.Metric == "reconciliation.server_wait_ms" && (r.Statistic == "count") != (r.Value != nil) {
			t.Errorf("%s %s = %v", r.Metric, r.Statistic, r.Value)
		}
	}
}

func TestParquetFilesCarryMetadataDictionariesAndZstd(t *testing.T) {
	dir := t.TempDir()
	run := fixtureRun(t, dir)
	if err := WriteParquet(dir, run); err != nil {
		t.Fatal(err)
	}
	dict := map[string]bool{"run_id": true, "engine": true, "engine_type": true, "api": true, "model": true,
		"suite": true, "scenario": true, "phase": true, "output_tokens_source": true, "cached_tokens_source": true, "finish_reason": true,
		"error_class": true, "load_node": true, "metric": true, "statistic": true}
	for name, rows := range map[string]int64{requestsParquetFile: 9, ChunksParquetFile: 28, SummaryParquetFile: int64(len(summaryRows(run.Summary)))} {
		f := openParquet(t, filepath.Join(dir, name))
		if f.NumRows() != rows {
			t.Errorf("%s: %d rows, want %d", name, f.NumRows(), rows)
		}
		for key, want := range map[string]string{metaSchemaVersion: "1", MetaToolVersion: "v0.0.0-test", MetaRunID: "test_fixture_20260101_000000"} {
			if v, ok := f.Lookup(key); v != want {
				t.Errorf("%s: metadata %s = %q (present %v), want %q", name, key, v, ok, want)
			}
		}
		for _, rg := range f.Metadata().RowGroups {
			for _, c := range rg.Columns {
				col := c.MetaData.PathInSchema[0]
				if c.MetaData.Codec != format.Zstd {
					t.Errorf("%s.%s compressed with %v", name, col, c.MetaData.Codec)
				}
				hasDict := false
				for _, e := range c.MetaData.Encoding {
					hasDict = hasDict || e == format.RLEDictionary
				}
				if hasDict != dict[col] {
					t.Errorf("%s.%s dictionary encoded: %v, want %v", name, col, hasDict, dict[col])
				}
			}
		}
	}
}

func TestParquetAndCSVAreDeterministic(t *testing.T) {
	files := []string{requestsParquetFile, ChunksParquetFile, SummaryParquetFile, requestsCSVFile, SummaryCSVFile}
	write := func(run *Run, dir string) map[string][]byte {
		t.Helper()
		if err := WriteParquet(dir, run); err != nil {
			t.Fatal(err)
		}
		if err := WriteCSV(dir, run); err != nil {
			t.Fatal(err)
		}
		out := map[string][]byte{}
		for _, f := range files {
			b, err := os.ReadFile(filepath.Join(dir, f))
			if err != nil {
				t.Fatal(err)
			}
			out[f] = b
		}
		return out
	}
	first := write(fixtureRun(t, t.TempDir()), t.TempDir())

	// Another folder, another local time zone, and records from memory
	// instead of the journal: the same bytes.
	local := time.Local
	time.Local = time.FixedZone("UTC+5", 5*3600)
	defer func() { time.Local = local }()
	loaded := fixtureRun(t, t.TempDir())
	inMemory := &Run{Manifest: loaded.Manifest, Records: loaded.Records, Summary: loaded.Summary}
	second := write(inMemory, t.TempDir())
	for _, f := range files {
		if !bytes.Equal(first[f], second[f]) {
			t.Errorf("%s differs between two writes of the same journal", f)
		}
	}
}

func TestChunksAreRebuiltWhenOffsetsWereDropped(t *testing.T) {
	recs := tableRecords()
	r := recs[1]
	want := []float64{}
	eachChunk(&r, func(c chunkRow) error { want = append(want, c.OffsetMS); return nil })
	r.ChunkOffsetMS = nil // as load.Collector keeps records
	var got []float64
	eachChunk(&r, func(c chunkRow) error { got = append(got, c.OffsetMS); return nil })
	if len(got) != r.Chunks {
		t.Fatalf("rebuilt %d chunks, want %d", len(got), r.Chunks)
	}
	for i := range got {
		if math.Abs(got[i]-want[i]) > 1e-9 {
			t.Errorf("chunk %d at %v, journal says %v", i, got[i], want[i])
		}
	}
}

func TestWriteParquetLeavesNoHalfFileOnError(t *testing.T) {
	run := fixtureRun(t, t.TempDir())
	// A journal that opens but cannot be read fails the export midway.
	run.Dir = t.TempDir()
	if err := os.Mkdir(filepath.Join(run.Dir, JournalFile), 0o755); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if err := WriteParquet(out, run); err == nil {
		t.Fatal("an unreadable journal must fail the export")
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("left %v behind", entries)
	}
}
