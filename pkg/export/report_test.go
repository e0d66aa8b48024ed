package export

import (
	"os"
	"testing"
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
