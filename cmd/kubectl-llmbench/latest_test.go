package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestReportAndShowDefaultToTheLatestRun: with no run named, report (with
// every format flag) and results show act on the newest run in
// --output-dir and say which; with none, they say how to make one.
func TestReportAndShowDefaultToTheLatestRun(t *testing.T) {
	out := t.TempDir()
	for _, dir := range []string{out, filepath.Join(out, "missing")} {
		want := "no runs in " + dir + "/: make one with `kubectl llmbench run --simulate`, or point --output-dir at the folder that holds them"
		for _, args := range [][]string{{"report", "--pdf"}, {"report", "--latest", "--json"}, {"results", "show"}} {
			if r := run(t, append(args, "--output-dir", dir)...); r.code != 1 || !strings.Contains(r.stderr, want) {
				t.Errorf("%v in %s: exit %d, want 1 with %q\n%s", args, dir, r.code, want, r.stderr)
			}
		}
		if r := run(t, "results", "--output-dir", dir); r.code != 0 || !strings.Contains(r.stderr, want) {
			t.Errorf("results in %s: exit %d, want 0 with %q\n%s", dir, r.code, want, r.stderr)
		}
	}

	for _, name := range []string{"first", "second"} {
		if r := run(t, "run", "--simulate", "--engines", "vllm", "--suite", "ttft", "--iterations", "2", "--no-report", "--name", name, "--output-dir", out); r.code != 0 {
			t.Fatalf("run %s: exit %d\n%s", name, r.code, r.stderr)
		}
	}
	first, second := only(t, out, "test_first_*"), only(t, out, "test_second_*")
	notice := "report: using the latest run, " + second + " (name a run to pick another)"
	for _, tc := range []struct{ flags, files []string }{
		{[]string{"--pdf"}, []string{"report.pdf"}},
		{[]string{"--html"}, []string{"report.html"}},
		{[]string{"--md"}, []string{"report.md"}},
		{[]string{"--parquet"}, []string{"requests.parquet", "summary.parquet"}},
		{[]string{"--csv"}, []string{"requests.csv", "summary.csv"}},
		{[]string{"--json"}, []string{"summary.json"}},
		{[]string{"--all"}, []string{"report.pdf", "report.html", "requests.parquet", "summary.json"}},
		{nil, []string{"report.pdf", "report.md", "requests.csv"}},
		{[]string{"--latest", "--pdf"}, []string{"report.pdf"}},
	} {
		for _, f := range tc.files {
			os.Remove(filepath.Join(first, f))
			os.Remove(filepath.Join(second, f))
		}
		r := run(t, append(append([]string{"report"}, tc.flags...), "--output-dir", out)...)
		if r.code != 0 || !strings.Contains(r.stderr, notice) {
			t.Errorf("report %v: exit %d, want 0 with %q\n%s", tc.flags, r.code, notice, r.stderr)
		}
		for _, f := range tc.files {
			if _, err := os.Stat(filepath.Join(second, f)); err != nil {
				t.Errorf("report %v: %v", tc.flags, err)
			}
			if _, err := os.Stat(filepath.Join(first, f)); err == nil {
				t.Errorf("report %v wrote %s into the older run", tc.flags, f)
			}
		}
	}

	// A run named is used, and nothing is said about it.
	os.Remove(filepath.Join(first, "report.html"))
	if r := run(t, "report", filepath.Base(first), "--html", "--output-dir", out); r.code != 0 || strings.Contains(r.stderr, "latest") {
		t.Errorf("report RUN_ID: exit %d\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(first, "report.html")); err != nil {
		t.Errorf("report RUN_ID: %v", err)
	}
	if r := run(t, "report", first, "--latest"); r.code != 1 || !strings.Contains(r.stderr, "either a run or --latest") {
		t.Errorf("report RUN_DIR --latest: exit %d\n%s", r.code, r.stderr)
	}
	r := run(t, "results", "show", "--output-dir", out)
	if r.code != 0 || !strings.Contains(r.stdout, "Run "+filepath.Base(second)) || !strings.Contains(r.stderr, "results show: using the latest run, "+second) {
		t.Errorf("results show: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = run(t, "results", "show", filepath.Base(first), "--output-dir", out)
	if r.code != 0 || !strings.Contains(r.stdout, "Run "+filepath.Base(first)) || strings.Contains(r.stderr, "latest") {
		t.Errorf("results show RUN: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// The default --output-dir is ./results, as the brief's `oc llmbench
	// report --pdf` expects.
	cwd := t.TempDir()
	copyTree(t, out, filepath.Join(cwd, "results"))
	cmd := exec.Command(binary, "report", "--pdf")
	cmd.Dir = cwd
	var errb bytes.Buffer
	cmd.Stderr = &errb
	err := cmd.Run()
	want := "report: using the latest run, " + filepath.Join("results", filepath.Base(second)) + " (name a run to pick another)"
	if err != nil || !strings.Contains(errb.String(), want) {
		t.Errorf("report --pdf in a folder holding results/: %v, want %q\n%s", err, want, errb.String())
	}
}

func only(t *testing.T, dir, pattern string) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, pattern))
	if len(m) != 1 {
		t.Fatalf("want one %s in %s, got %v", pattern, dir, m)
	}
	return m[0]
}
