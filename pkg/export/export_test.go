package export

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/metric"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/verdict"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

func TestJournalAppendsEachRecordAndSurvivesATornLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), JournalFile)
	j, err := OpenJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	ttft := 12.5
	for i := int64(1); i <= 3; i++ {
		if err := j.Write(&engine.Record{RequestID: i, Engine: "vllm", TTFTMS: &ttft, OK: true}); err != nil {
			t.Fatal(err)
		}
		// Appended before Write returns: a crash now loses nothing.
		b, _ := os.ReadFile(path)
		if n := bytes.Count(b, []byte("\n")); int64(n) != i {
			t.Fatalf("after %d writes the file has %d lines", i, n)
		}
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"run_id":"x","request_id":4,"tt`) // a crash mid-line
	f.Close()
	r, _ := os.Open(path)
	defer r.Close()
	recs, err := readJournal(r)
	if len(recs) != 3 || recs[2].RequestID != 3 || *recs[0].TTFTMS != 12.5 {
		t.Errorf("read back %+v", recs)
	}
	if err == nil || !strings.Contains(err.Error(), "line 4") {
		t.Errorf("torn line must be reported with its number, got %v", err)
	}
}

func TestWriteJSONIsAtomic(t *testing.T) {
	path := filepath.Join(t.TempDir(), "summary.json")
	if err := WriteJSON(path, map[string]int{"a": 1}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if string(b) != "{\n  \"a\": 1\n}\n" {
		t.Errorf("wrote %q", b)
	}
	if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
		t.Error("temporary file left behind")
	}
}

func TestTableNamesWinnerMarginAndProblems(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	recs := []engine.Record{
		{Engine: "vllm", Scenario: "s", Phase: engine.PhaseMeasure, OK: true, TTFTMS: f(20), E2EMS: f(200), TPOTMS: f(5), OutputTokens: 8, StartUnixNS: 0, EndUnixNS: 1e9},
		{Engine: "tgi", Scenario: "s", Phase: engine.PhaseMeasure, OK: true, TTFTMS: f(40), E2EMS: f(400), TPOTMS: f(6), OutputTokens: 7, OutputMismatch: true, StartUnixNS: 0, EndUnixNS: 1e9},
		{Engine: "tgi", Scenario: "s", Phase: engine.PhaseMeasure, ErrorClass: engine.ErrHTTP429, Error: "HTTP 429: overloaded: Model is overloaded", StartUnixNS: 0, EndUnixNS: 1e9},
		{Engine: "ollama", Scenario: "s", Phase: engine.PhaseMeasure, OK: true, TTFTMS: f(40), E2EMS: f(400), TPOTMS: f(6), OutputTokens: 7, StartUnixNS: 0, EndUnixNS: 1e9},
	}
	s := verdict.Summarize("r", recs, map[string]*workload.Goal{"s": {Metric: "ttft", Percentile: 95, LimitMS: 30}})
	var buf bytes.Buffer
	if err := WriteTable(&buf, s); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"e2e_ms p50", "ttft_ms p50", "50.0% lower", "met (ttft p95 ≤ 30 ms)", "MISS (ttft p95 ≤ 30 ms)",
		"tgi: 1 failed (http_429×1)", "e.g. http_429: HTTP 429: overloaded: Model is overloaded",
		"tgi: not ranked among the fastest: 50% of its requests failed", "tgi: 1 returned a different number of tokens than requested", "1/2"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestLoadRunRebuildsTheSummaryFromTheJournal(t *testing.T) {
	dir := t.TempDir()
	goal := &workload.Goal{Metric: "ttft", Percentile: 95, LimitMS: 50}
	man := Manifest{RunID: "test_x_20260101_000000", Status: "complete", Scenarios: []workload.Scenario{{Name: "s", Target: goal}}}
	if err := WriteJSON(filepath.Join(dir, ManifestFile), man); err != nil {
		t.Fatal(err)
	}
	j, _ := OpenJournal(filepath.Join(dir, JournalFile))
	for i, v := range []float64{10, 20, 30} {
		v := v
		j.Write(&engine.Record{RunID: man.RunID, Engine: "vllm", Scenario: "s", Phase: engine.PhaseMeasure, OK: true, RequestID: int64(i), TTFTMS: &v, E2EMS: &v, StartUnixNS: 1, EndUnixNS: 2})
	}
	j.Close()
	run, err := LoadRun(dir)
	if err != nil || run.JournalWarning != nil {
		t.Fatal(err, run.JournalWarning)
	}
	g := run.Summary.Groups[0]
	if g.Requests != 3 || g.Metrics[metric.TTFT].P50 != 20 || g.Target == nil || !g.Target.Met {
		t.Errorf("rebuilt summary %+v", g)
	}
	if _, err := LoadRun(t.TempDir()); err == nil || !strings.Contains(err.Error(), "not a run folder") {
		t.Errorf("empty folder: %v", err)
	}
}

func TestIsRunFolderMatchesOnlyRunsOfThisTool(t *testing.T) {
	root := t.TempDir()
	mk := func(name string, manifest string, journal bool) string {
		dir := filepath.Join(root, name)
		os.MkdirAll(dir, 0o755)
		if manifest != "" {
			os.WriteFile(filepath.Join(dir, ManifestFile), []byte(manifest), 0o644)
		}
		if journal {
			os.WriteFile(filepath.Join(dir, JournalFile), nil, 0o644)
		}
		return dir
	}
	id := "test_x_20260101_000000"
	cases := map[string]bool{
		mk(id, `{"tool":"kubectl-llmbench","run_id":"`+id+`"}`, true):                                                        true,
		mk("test_mydata_20200101_000000", `{"name":"x"}`, true):                                                              false,
		mk("test_other_20200101_000000", `{"tool":"kubectl-llmbench","run_id":"test_x_20260101_000000"}`, true):              false,
		mk("test_nojournal_20200101_000000", `{"tool":"kubectl-llmbench","run_id":"test_nojournal_20200101_000000"}`, false): false,
		mk("notes", `{"tool":"kubectl-llmbench","run_id":"notes"}`, true):                                                    false,
	}
	for dir, want := range cases {
		if got := IsRunFolder(dir); got != want {
			t.Errorf("IsRunFolder(%s) = %v, want %v", filepath.Base(dir), got, want)
		}
	}
}

func TestReadJournalNamesTheFirstOfSeveralBadLines(t *testing.T) {
	in := "{\"request_id\":1}\ngarbage\n{\"request_id\":2}\n{\"request_id\":3,\"tt"
	recs, err := readJournal(strings.NewReader(in))
	if len(recs) != 2 || err == nil || !strings.Contains(err.Error(), "2 journal lines") || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("%d records, error %v", len(recs), err)
	}
}
