package plugin

import (
	"fmt"
	"path/filepath"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/verdict"
	"github.com/llmbench/kubectl-llmbench/pkg/export"
)

// resolveBaseline finds the --baseline run folder; the absolute path is
// recorded in the manifest so `report` can compare again later.
func resolveBaseline(outputDir, spec string) (string, error) {
	dir, err := resolveRunDir(outputDir, []string{spec}, false)
	if err != nil {
		return "", fmt.Errorf("--baseline: %w", err)
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return dir, nil
}

// attachBaseline compares run with the baseline run in dir, for the
// reports and comparison.json.
func attachBaseline(run *export.Run, dir string) error {
	base, err := export.LoadRun(dir)
	if err != nil {
		return fmt.Errorf("--baseline %s: %w", dir, err)
	}
	d := verdict.CompareSummarizers(base.Samples(), run.Samples(), verdict.RegressionOptions{})
	run.Baseline = &d
	return nil
}
