package export

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"time"
)

func readCSV(t *testing.T, b []byte) [][]string {
	t.Helper()
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatalf("not RFC 4180 CSV: %v", err)
	}
	return rows
}

func parquetColumns(t *testing.T, path string) []string {
	t.Helper()
	var names []string
	for _, f := range openParquet(t, path).Schema().Fields() {
		names = append(names, f.Name())
	}
	return names
}

func TestCSVHasTheParquetColumnsAndValues(t *testing.T) {
	dir := t.TempDir()
	run := fixtureRun(t, dir)
	if err := WriteParquet(dir, run); err != nil {
		t.Fatal(err)
	}
	if err := WriteCSV(dir, run); err != nil {
		t.Fatal(err)
	}
	var chunks bytes.Buffer
	if err := writeChunksCSV(&chunks, recordsOf(run.Records)); err != nil {
		t.Fatal(err)
	}
	read := func(name string) [][]string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return readCSV(t, b)
	}
	files := []struct {
		csv     [][]string
		parquet string
		rows    int
	}{
		{read(requestsCSVFile), requestsParquetFile, len(run.Records)},
		{readCSV(t, chunks.Bytes()), ChunksParquetFile, 28},
		{read(SummaryCSVFile), SummaryParquetFile, len(summaryRows(run.Summary))},
	}
	for _, f := range files {
		if want := parquetColumns(t, filepath.Join(dir, f.parquet)); !reflect.DeepEqual(f.csv[0], want) {
			t.Errorf("CSV header of %s differs:\n got %v\nwant %v", f.parquet, f.csv[0], want)
		}
		if len(f.csv)-1 != f.rows {
			t.Errorf("CSV of %s has %d rows, want %d", f.parquet, len(f.csv)-1, f.rows)
		}
	}

	reqs := files[0].csv
	col := map[string]int{}
	for i, name := range reqs[0] {
		col[name] = i
	}
	warm, failed := reqs[1], reqs[5]
	ts, err := time.Parse(time.RFC3339Nano, warm[col["start_ts"]])
	if err != nil || ts.UnixNano() != run.Records[0].StartUnixNS || warm[col["start_ts"]] != "2026-11-27T17:44:30.833852258Z" {
		t.Errorf("start_ts %q (%v) is not RFC 3339 UTC with nanoseconds of %d", warm[col["start_ts"]], err, run.Records[0].StartUnixNS)
	}
	if v, err := strconv.ParseFloat(reqs[2][col["ttft_ms"]], 64); err != nil || v != *run.Records[1].TTFTMS {
		t.Errorf("ttft_ms %q does not parse back to %v", reqs[2][col["ttft_ms"]], *run.Records[1].TTFTMS)
	}
	if failed[col["ttft_ms"]] != "" || failed[col["e2e_ms"]] != "" || failed[col["ok"]] != "false" {
		t.Errorf("a null must be an empty field: ttft_ms %q e2e_ms %q ok %q", failed[col["ttft_ms"]], failed[col["e2e_ms"]], failed[col["ok"]])
	}
	if failed[col["error"]] != run.Records[4].Error || failed[col["http_status"]] != "503" {
		t.Errorf("error %q did not survive quoting", failed[col["error"]])
	}
	if got := files[1].csv[1][6]; got != "" {
		t.Errorf("the first chunk's gap_ms must be empty, got %q", got)
	}
}

func TestCSVOfNoRecordsIsAHeader(t *testing.T) {
	var b bytes.Buffer
	if err := writeRequestsCSV(&b, recordsOf(nil)); err != nil {
		t.Fatal(err)
	}
	rows := readCSV(t, b.Bytes())
	if len(rows) != 1 || rows[0][0] != "run_id" {
		t.Errorf("got %v", rows)
	}
}
