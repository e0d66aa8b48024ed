package export

import (
	"os"
	"strings"
	"testing"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

// TestReportsForLooking writes report.md, charts/ and report.html for a
// person to look at: of a real run folder with
//
//	LLMBENCH_RUN_DIR=results/RUN go test ./pkg/export -run ReportsForLooking
//
// or of the golden fixture with LLMBENCH_FIXTURE_DIR=/tmp/fixture.
func TestReportsForLooking(t *testing.T) {
	var run *Run
	dir := os.Getenv("LLMBENCH_RUN_DIR")
	switch {
	case dir != "":
		var err error
		if run, err = LoadRun(dir); err != nil {
			t.Fatal(err)
		}
	case os.Getenv("LLMBENCH_FIXTURE_DIR") != "":
		dir, run = os.Getenv("LLMBENCH_FIXTURE_DIR"), reportFixture()
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	default:
		t.Skip("set LLMBENCH_RUN_DIR to a run folder or LLMBENCH_FIXTURE_DIR to an output folder")
	}
	if err := writeReports(dir, run); err != nil {
		t.Fatal(err)
	}
}

// With prompts generated to token lengths or drawn from a dataset, the
// methodology says so and does not list the configured prompts as sent.
func TestMethodSaysWhichPromptsWereSent(t *testing.T) {
	run := reportFixture()
	if v := buildMethod(run); !strings.Contains(strings.Join(v.Workload, "\n"), "System prompt: You are terse.") || len(v.Prompts) == 0 {
		t.Fatalf("configured prompts: %q %q", v.Workload, v.Prompts)
	}
	run.Manifest.Config.Workload.InputTokens = "uniform:100-200"
	v := buildMethod(run)
	text := strings.Join(v.Workload, "\n")
	if !strings.Contains(text, "generated to the token lengths") || strings.Contains(text, "System prompt:") || len(v.Prompts) != 0 || len(v.Scenarios.Rows) == 0 {
		t.Errorf("shaped: %q, prompts %q", v.Workload, v.Prompts)
	}
	run.Manifest.Config.Workload.InputTokens = ""
	run.Manifest.Dataset = &workload.Dataset{Path: "sg.json", Format: "sharegpt", Read: 10, Kept: 8, Skipped: map[string]int{"no user turn": 2}}
	text = strings.Join(buildMethod(run).Workload, "\n")
	if !strings.Contains(text, "Dataset: sg.json (sharegpt), 8 of 10 conversations kept (left out: 2 no user turn)") || !strings.Contains(text, "drawn from the dataset") {
		t.Errorf("dataset: %q", text)
	}
}
