package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestCompareFailsOnInjectedRegression stores a simulated run, derives a
// second one whose tgi answers 30% slower, and checks that compare gates
// on it as a CI pipeline would.
func TestCompareFailsOnInjectedRegression(t *testing.T) {
	out := t.TempDir()
	if r := run(t, "run", "--simulate", "--engines", "vllm,tgi", "--suite", "ttft", "--iterations", "30", "--max-tokens", "4",
		"--name", "base", "--no-report", "--output-dir", out); r.code != 0 {
		t.Fatalf("run: exit %d\n%s", r.code, r.stderr)
	}
	base := filepath.Base(runFolder(t, out))
	// `run --simulate` has no time scale, so the regression is written into
	// a copy of the journal, as if a second run had measured it.
	slower := "test_slower_20260101_000000"
	slowDown(t, filepath.Join(out, base), filepath.Join(out, slower), "tgi", 1.3)

	r := run(t, "compare", base, slower, "--output-dir", out, "--fail-on-regression", "10%")
	if r.code != 3 {
		t.Fatalf("exit %d, want 3 for a 30%% regression over a 10%% threshold\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "worst: tgi in ttft,") || !strings.Contains(r.stderr, "30.0% worse") || !strings.Contains(r.stdout, "REGRESSION") {
		t.Errorf("the failure must name tgi and the table mark it:\n%s\n%s", r.stdout, r.stderr)
	}
	for _, line := range strings.Split(r.stdout, "\n") {
		if strings.Contains(line, "vllm") && strings.Contains(line, "REGRESSION") {
			t.Errorf("unchanged vllm marked as regressed: %s", line)
		}
	}

	// The same run twice, and a regression under the threshold, pass.
	if r := run(t, "compare", base, base, "--output-dir", out, "--fail-on-regression", "10%"); r.code != 0 || !strings.Contains(r.stdout, "No significant change") {
		t.Errorf("compare A A: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, "compare", base, slower, "--output-dir", out, "--fail-on-regression", "50%", "--format", "md"); r.code != 0 || !strings.Contains(r.stdout, "**REGRESSION") {
		t.Errorf("under the threshold: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = run(t, "compare", filepath.Join(out, base), filepath.Join(out, slower), "--format", "json")
	var d struct {
		Rows []struct {
			Engine     string   `json:"engine"`
			Metric     string   `json:"metric"`
			Statistic  string   `json:"statistic"`
			WorsePct   *float64 `json:"worse_pct"`
			Regression bool     `json:"regression"`
		} `json:"rows"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &d); err != nil || r.code != 0 {
		t.Fatalf("--format json: exit %d, %v\n%s", r.code, err, r.stdout)
	}
	found := false
	for _, row := range d.Rows {
		if row.Engine == "tgi" && row.Metric == "ttft_ms" && row.Statistic == "p50" {
			found = row.Regression && row.WorsePct != nil && *row.WorsePct > 25 && *row.WorsePct < 35
		}
	}
	if !found {
		t.Errorf("tgi ttft_ms p50 is not a ~30%% regression in the JSON:\n%s", r.stdout)
	}

	if r := run(t, "compare", base, "test_missing_20260101_000000", "--output-dir", out); r.code != 1 || !strings.Contains(r.stderr, "RUN_B (current)") || !strings.Contains(r.stderr, "test_missing_20260101_000000") {
		t.Errorf("a missing run must be named: exit %d\n%s", r.code, r.stderr)
	}
}

// slowDown copies run folder src to dst (a run id of its own) with the
// TTFT and E2E of engine's measured requests multiplied by factor.
func slowDown(t *testing.T, src, dst, engine string, factor float64) {
	t.Helper()
	if err := os.Mkdir(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	id := filepath.Base(dst)
	var man map[string]any
	readJSON(t, filepath.Join(src, "manifest.json"), &man)
	man["run_id"] = id
	b, _ := json.Marshal(man)
	if err := os.WriteFile(filepath.Join(dst, "manifest.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(filepath.Join(src, "requests.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var journal bytes.Buffer
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		// json.Number keeps the nanosecond stamps exact.
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.UseNumber()
		var rec map[string]any
		if err := dec.Decode(&rec); err != nil {
			t.Fatal(err)
		}
		rec["run_id"] = id
		if rec["engine"] == engine && rec["phase"] == "measure" {
			for key, f := range map[string]float64{"ttft_ms": factor, "e2e_ms": factor, "output_tokens_per_s": 1 / factor} {
				if n, ok := rec[key].(json.Number); ok {
					v, _ := n.Float64()
					rec[key] = json.Number(strconv.FormatFloat(v*f, 'g', -1, 64))
				}
			}
		}
		line, _ := json.Marshal(rec)
		journal.Write(append(line, '\n'))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dst, "requests.jsonl"), journal.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// run --baseline puts the comparison into the reports and
// comparison.json; report compares again with the recorded baseline.
func TestRunAndReportWithBaseline(t *testing.T) {
	out := t.TempDir()
	args := []string{"run", "--simulate", "--engines", "vllm,tgi", "--suite", "ttft", "--iterations", "30", "--max-tokens", "4", "--output-dir", out}
	if r := run(t, append(args, "--name", "base", "--no-report")...); r.code != 0 {
		t.Fatalf("base run: exit %d\n%s", r.code, r.stderr)
	}
	base := filepath.Base(runFolder(t, out))
	if r := run(t, "run", "--simulate", "--baseline", "nope", "--output-dir", out); r.code != 1 || !strings.Contains(r.stderr, "--baseline") {
		t.Fatalf("a missing baseline must fail before measuring, naming the flag: exit %d\n%s", r.code, r.stderr)
	}
	r := run(t, append(args, "--name", "next", "--format", "json,md", "--baseline", base)...)
	if r.code != 0 || !strings.Contains(r.stdout, "Compared with "+base) {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	dirs, _ := filepath.Glob(filepath.Join(out, "test_next_*"))
	if len(dirs) != 1 {
		t.Fatalf("runs: %v", dirs)
	}
	for _, f := range []string{"comparison.json", "report.md"} {
		b, err := os.ReadFile(filepath.Join(dirs[0], f))
		if err != nil || !bytes.Contains(b, []byte(base)) {
			t.Errorf("%s lacks the baseline %s (%v)", f, base, err)
		}
	}
	os.Remove(filepath.Join(dirs[0], "report.md"))
	if r := run(t, "report", dirs[0], "--md"); r.code != 0 || !strings.Contains(r.stdout, "compared with "+base) {
		t.Fatalf("report: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(dirs[0], "report.md")); !bytes.Contains(b, []byte("## Comparison of")) {
		t.Error("the regenerated report lacks the comparison")
	}
}
