package plugin

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/metric"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/verdict"
	"github.com/llmbench/kubectl-llmbench/pkg/export"
)

// writeRun stores a run folder named id under dir: 150 measured requests
// for vllm and tgi, tgi's TTFT scaled by slowTGI.
func writeRun(t *testing.T, dir, id string, seed uint64, slowTGI float64) string {
	t.Helper()
	run := filepath.Join(dir, id)
	if err := os.MkdirAll(run, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := export.WriteJSON(filepath.Join(run, export.ManifestFile), export.Manifest{Tool: "kubectl-llmbench", RunID: id, Status: "complete"}); err != nil {
		t.Fatal(err)
	}
	j, err := export.OpenJournal(filepath.Join(run, export.JournalFile))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 3))
	for _, name := range []string{"vllm", "tgi"} {
		for i := 0; i < 150; i++ {
			ttft := 80 * math.Exp(0.25*rng.NormFloat64())
			if name == "tgi" {
				ttft *= slowTGI
			}
			e2e := ttft + 500
			if err := j.Write(&engine.Record{RunID: id, Engine: name, Scenario: "ttft", Phase: engine.PhaseMeasure, OK: true, TTFTMS: &ttft, E2EMS: &e2e}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	return run
}

func runCompare(args ...string) (string, string, error) {
	var out, errb bytes.Buffer
	cmd := NewCmdCompare(genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errb})
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.Execute()
	return out.String(), errb.String(), err
}

func TestCompareFailsOnRegressionOverThreshold(t *testing.T) {
	dir := t.TempDir()
	writeRun(t, dir, "test_base_20260101_000000", 1, 1)
	writeRun(t, dir, "test_slow_20260102_000000", 2, 1.25)

	out, _, err := runCompare("test_base_20260101_000000", "test_slow_20260102_000000", "--output-dir", dir, "--fail-on-regression", "10%")
	var exit *ExitError
	if !errors.As(err, &exit) || exit.Code != ExitRegression || !strings.Contains(err.Error(), "worst: tgi in ttft, ttft_ms p") {
		t.Fatalf("err %v, want exit 3 naming tgi\n%s", err, out)
	}
	if !strings.Contains(out, "REGRESSION") {
		t.Errorf("the table comes first, so CI logs show why:\n%s", out)
	}
	// Under the threshold, or without one, the same comparison passes.
	for _, flags := range [][]string{{"--fail-on-regression", "60"}, nil} {
		args := append([]string{"test_base_20260101_000000", "test_slow_20260102_000000", "--output-dir", dir}, flags...)
		if _, _, err := runCompare(args...); err != nil {
			t.Errorf("%v: %v", flags, err)
		}
	}
	// A run compared with itself has nothing to report, even at 0%.
	if _, _, err := runCompare("test_base_20260101_000000", "test_base_20260101_000000", "--output-dir", dir, "--fail-on-regression", "0"); err != nil {
		t.Errorf("a run against itself: %v", err)
	}
}

func TestCompareJSONAndMetricFilter(t *testing.T) {
	dir := t.TempDir()
	a := writeRun(t, dir, "test_base_20260101_000000", 1, 1)
	b := writeRun(t, dir, "test_slow_20260102_000000", 2, 1.25)
	out, _, err := runCompare(a, b, "--format", "json", "--metric", "e2e_ms")
	if err != nil {
		t.Fatal(err)
	}
	var d verdict.RunDiff
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if d.BaseRunID != "test_base_20260101_000000" || len(d.Rows) != 4 {
		t.Fatalf("base %q, %d rows (want e2e p50 and p95 of two engines)", d.BaseRunID, len(d.Rows))
	}
	for _, r := range d.Rows {
		if r.Metric != metric.E2E {
			t.Errorf("--metric e2e_ms compared %s", r.Metric)
		}
	}
}

func TestCompareNamesTheBadArgument(t *testing.T) {
	dir := t.TempDir()
	writeRun(t, dir, "test_base_20260101_000000", 1, 1)
	notRun := filepath.Join(dir, "notes")
	os.MkdirAll(notRun, 0o755)
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"test_base_20260101_000000", "test_gone_20260101_000000"}, []string{"RUN_B (current)", `"test_gone_20260101_000000" is not a run folder`}},
		{[]string{notRun, "test_base_20260101_000000"}, []string{"RUN_A (base)", notRun}},
		{[]string{"test_base_20260101_000000", "test_base_20260101_000000", "--format", "html"}, []string{`--format "html"`, "table, json, md"}},
		{[]string{"test_base_20260101_000000", "test_base_20260101_000000", "--metric", "ttft"}, []string{`--metric "ttft"`, "ttft_ms"}},
		{[]string{"test_base_20260101_000000", "test_base_20260101_000000", "--fail-on-regression", "ten"}, []string{`--fail-on-regression "ten"`, "10%"}},
		{[]string{"test_base_20260101_000000", "test_base_20260101_000000", "--fail-on-regression", "-5%"}, []string{"≥ 0"}},
		{[]string{"test_base_20260101_000000"}, []string{"2 arg(s)"}},
	} {
		_, _, err := runCompare(append(c.args, "--output-dir", dir)...)
		for _, w := range c.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%v: error %v, want it to say %q", c.args, err, w)
			}
		}
	}
}

func TestParsePercent(t *testing.T) {
	for in, want := range map[string]float64{"10%": 10, "10": 10, " 2.5 % ": 2.5, "0": 0} {
		if got, err := parsePercent(in); err != nil || got != want {
			t.Errorf("parsePercent(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "%", "x%", "NaN", "Inf", "-1"} {
		if _, err := parsePercent(bad); err == nil {
			t.Errorf("parsePercent(%q) accepted", bad)
		}
	}
}
