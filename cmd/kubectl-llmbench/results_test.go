package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReportResultsCleanup stores two short runs, regenerates one from its
// journal, lists them, and cleans up without touching anything else.
func TestReportResultsCleanup(t *testing.T) {
	out := t.TempDir()
	for i := 0; i < 2; i++ {
		name := []string{"first", "second"}[i]
		if r := run(t, "run", "--simulate", "--engines", "vllm,tgi", "--suite", "ttft", "--iterations", "2", "--name", name, "--output-dir", out); r.code != 0 {
			t.Fatalf("run %s: exit %d\n%s", name, r.code, r.stderr)
		}
	}
	// Decoys cleanup must never touch.
	os.MkdirAll(filepath.Join(out, "test_notes"), 0o755)
	os.MkdirAll(filepath.Join(out, "mydata"), 0o755)
	os.WriteFile(filepath.Join(out, "mydata", "manifest.json"), []byte("{}"), 0o644)
	os.WriteFile(filepath.Join(out, "README.txt"), []byte("keep me"), 0o644)

	r := run(t, "results", "--output-dir", out)
	if r.code != 0 || strings.Index(r.stdout, "test_second_") > strings.Index(r.stdout, "test_first_") || !strings.Contains(r.stdout, "vllm, tgi") {
		t.Errorf("results (newest first):\n%s%s", r.stdout, r.stderr)
	}
	for _, decoy := range []string{"test_notes", "mydata"} {
		if strings.Contains(r.stdout, decoy) {
			t.Errorf("results listed %s, which is not a run", decoy)
		}
	}

	dirs, _ := filepath.Glob(filepath.Join(out, "test_first_*"))
	first := dirs[0]
	orig, _ := os.ReadFile(filepath.Join(first, "summary.json"))
	os.Remove(filepath.Join(first, "summary.json"))
	if r := run(t, "report", first, "--json"); r.code != 0 {
		t.Fatalf("report: %s", r.stderr)
	}
	again, _ := os.ReadFile(filepath.Join(first, "summary.json"))
	if !bytes.Equal(orig, again) {
		t.Error("summary.json regenerated from the journal differs from the one the run wrote")
	}

	// A crash mid-write leaves a torn last line: reported with its number,
	// everything before it still used.
	journal, _ := os.ReadFile(filepath.Join(first, "requests.jsonl"))
	torn := fmt.Sprintf("line %d", bytes.Count(journal, []byte("\n"))+1)
	f, _ := os.OpenFile(filepath.Join(first, "requests.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"run_id":"x","ttft_ms":`)
	f.Close()
	r = run(t, "report", first, "--json")
	if r.code != 0 || !strings.Contains(r.stderr, torn) {
		t.Errorf("torn journal: exit %d, stderr %q (want a warning naming %s)", r.code, r.stderr, torn)
	}
	if again, _ = os.ReadFile(filepath.Join(first, "summary.json")); !bytes.Equal(orig, again) {
		t.Error("a torn last line changed the summary")
	}

	if r := run(t, "results", "show", "--latest", "--output-dir", out); r.code != 0 || !strings.Contains(r.stdout, "test_second_") || !strings.Contains(r.stdout, "TTFT p50") {
		t.Errorf("results show --latest:\n%s%s", r.stdout, r.stderr)
	}

	if r := run(t, "cleanup", "--output-dir", out, "--keep", "1", "--dry-run"); r.code != 0 || !strings.Contains(r.stdout, "test_first_") || strings.Contains(r.stdout, "test_second_") {
		t.Errorf("dry run:\n%s%s", r.stdout, r.stderr)
	}
	if _, err := os.Stat(first); err != nil {
		t.Fatal("--dry-run removed a run")
	}
	if r := run(t, "cleanup", "--output-dir", out, "--keep", "0"); r.code != 0 {
		t.Fatalf("cleanup: %s", r.stderr)
	}
	left, _ := os.ReadDir(out)
	var names []string
	for _, e := range left {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != "README.txt,mydata,test_notes" {
		t.Errorf("after cleanup --keep 0: %v (every run gone, nothing else touched)", names)
	}
	if r := run(t, "cleanup", "--output-dir", out); r.code != 1 || !strings.Contains(r.stderr, "--keep") {
		t.Errorf("cleanup without a rule must refuse: exit %d %s", r.code, r.stderr)
	}
}
