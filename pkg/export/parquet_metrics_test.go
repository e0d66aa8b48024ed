package export

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/scrape"
)

// writeMetricsFixture journals two scrapes of the reference vLLM page
// (the first a scenario's start mark), a failed one, and a summary whose
// quantiles are NaN, into dir's metrics.jsonl. It returns the journal's
// line count.
func writeMetricsFixture(t *testing.T, dir string) int {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "reference", "transcripts", "vllm-metrics.prom"))
	if err != nil {
		t.Fatal(err)
	}
	samples, err := scrape.Parse(strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	nan, err := scrape.Parse(strings.NewReader("# TYPE s summary\ns{quantile=\"0.5\"} NaN\ns_sum 0\ns_count 0\n"))
	if err != nil {
		t.Fatal(err)
	}
	j, err := OpenMetricsJournal(filepath.Join(dir, MetricsJournalFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range []scrape.Scrape{
		{Engine: "vllm", UnixNS: 1_700_000_000_000_000_000, Samples: samples, Scenario: "load", Edge: scrape.EdgeStart},
		{Engine: "vllm", UnixNS: 1_700_000_001_000_000_000, Samples: samples},
		{Engine: "tgi", UnixNS: 1_700_000_001_500_000_000, Error: "http://127.0.0.1:1/metrics answered HTTP 404"},
		{Engine: "tgi", UnixNS: 1_700_000_002_000_000_000, Samples: nan},
	} {
		if err := j.Write(sc); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	return 2*len(samples) + 1 + len(nan)
}

// metrics.parquet holds every journal line: the samples with their
// labels, bucket bounds and values (NaN kept), the failed scrape as a row
// with its error and no value, the boundary marks; and the journal reads
// back into the scrapes that were written.
func TestMetricsParquetHoldsEveryScrapedSample(t *testing.T) {
	dir := t.TempDir()
	n := writeMetricsFixture(t, dir)
	if err := writeMetricsParquet(dir, dir, meta{RunID: "r1"}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, MetricsParquetFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := parquet.Read[metricRow](f, mustSize(t, f))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != n {
		t.Fatalf("%d rows, the journal %d lines", len(rows), n)
	}
	var bucket, failed, marks, nan int
	for _, r := range rows {
		switch {
		case r.Error != "":
			failed++
			if r.Value != nil || r.Metric != "" {
				t.Errorf("a failed scrape's row carries a sample: %+v", r)
			}
		case r.Metric == "vllm:time_to_first_token_seconds_bucket" && strings.Contains(r.Labels, `"le":"0.001"`):
			bucket++
			if r.LE == nil || *r.LE != 0.001 || !strings.HasPrefix(r.Labels, `{"engine":"0","le"`) {
				t.Errorf("bucket row %+v", r)
			}
		case r.Metric == "s" && r.Value != nil && math.IsNaN(*r.Value):
			nan++
		}
		if r.Edge == scrape.EdgeStart && r.Scenario == "load" {
			marks++
		}
		if r.RunID != "r1" || r.TS.UnixNano() != r.TSUnixNS {
			t.Errorf("row identity %+v", r)
		}
	}
	if bucket != 2 || failed != 1 || nan != 1 || marks != (n-4)/2 {
		t.Errorf("bucket rows %d, failed %d, NaN %d, marked %d", bucket, failed, nan, marks)
	}
	back, err := LoadMetricsJournal(dir)
	if err != nil || len(back) != 4 || back[0].Edge != scrape.EdgeStart || back[2].Error == "" || len(back[1].Samples) != (n-4)/2 {
		t.Errorf("read back %d scrapes, err %v", len(back), err)
	}
}

func mustSize(t *testing.T, f *os.File) int64 {
	t.Helper()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}
