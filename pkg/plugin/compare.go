package plugin

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/verdict"
	"github.com/llmbench/kubectl-llmbench/pkg/export"
)

// CompareOptions is `kubectl llmbench compare`.
type CompareOptions struct {
	genericiooptions.IOStreams
	outputDir        string
	format           string
	failOnRegression string
	metrics          []string

	baseDir, currentDir string
	// threshold is --fail-on-regression in percent; NaN when not given.
	threshold float64
}

func NewCmdCompare(streams genericiooptions.IOStreams) *cobra.Command {
	o := &CompareOptions{IOStreams: streams, threshold: math.NaN()}
	cmd := &cobra.Command{
		Use:   "compare RUN_A RUN_B",
		Short: "Compare two runs: what got significantly slower or faster from RUN_A (base) to RUN_B",
		Long: `Compare two stored runs per engine × scenario: TTFT, TPOT and E2E at p50 and
p95, per-request output tokens/s and the error rate, each with the change, its
95% confidence interval and whether it is more than noise (medians and error
rates: Mann-Whitney U, Holm-adjusted; p95: the interval excludes zero).

RUN_A is the base, RUN_B the current run; each is a run id in --output-dir or
a run folder. With --fail-on-regression the command exits 3 when a
significant regression is worse than the threshold, for CI pipelines (1
means the comparison itself failed: a missing run, a bad flag).`,
		Example: `  kubectl llmbench compare test_nightly_20261126_020000 test_nightly_20261127_020000
  kubectl llmbench compare results/test_a_20261127_170301 results/test_b_20261127_180301 --format md
  kubectl llmbench compare test_nightly_20261126_020000 test_nightly_20261127_020000 --fail-on-regression 10% --metric ttft_ms,e2e_ms`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(cmd, args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.outputDir, "output-dir", "results", "folder holding the run folders")
	fs.StringVar(&o.format, "format", "table", "output format: "+strings.Join(export.DiffFormats, ", "))
	fs.StringVar(&o.failOnRegression, "fail-on-regression", "", "exit 3 when a significant regression is worse than this percentage, e.g. 10% (0: any significant regression)")
	fs.StringSliceVar(&o.metrics, "metric", nil, "only compare these metrics: "+strings.Join(verdict.RegressionMetrics(), ", "))
	return cmd
}

func (o *CompareOptions) Complete(_ *cobra.Command, args []string) error {
	for i, dst := range []*string{&o.baseDir, &o.currentDir} {
		dir, err := resolveRunDir(o.outputDir, args[i:i+1], false)
		if err != nil {
			return fmt.Errorf("%s: %w", []string{"RUN_A (base)", "RUN_B (current)"}[i], err)
		}
		*dst = dir
	}
	if o.failOnRegression != "" {
		t, err := parsePercent(o.failOnRegression)
		if err != nil {
			return fmt.Errorf("--fail-on-regression %q: %w", o.failOnRegression, err)
		}
		o.threshold = t
	}
	return nil
}

func (o *CompareOptions) Validate() error {
	if !slices.Contains(export.DiffFormats, o.format) {
		return fmt.Errorf("--format %q: use %s", o.format, strings.Join(export.DiffFormats, ", "))
	}
	known := verdict.RegressionMetrics()
	for _, m := range o.metrics {
		if !slices.Contains(known, m) {
			return fmt.Errorf("--metric %q: use %s", m, strings.Join(known, ", "))
		}
	}
	return nil
}

// Run writes the comparison, then fails when a regression crosses
// --fail-on-regression; the table comes first so CI logs show why.
func (o *CompareOptions) Run(_ context.Context) error {
	var runs [2]*export.Run
	for i, dir := range []string{o.baseDir, o.currentDir} {
		run, err := export.LoadRun(dir)
		if err != nil {
			return fmt.Errorf("%s: %w", []string{"RUN_A (base)", "RUN_B (current)"}[i], err)
		}
		if run.JournalWarning != nil {
			fmt.Fprintf(o.ErrOut, "warning: %v; every other record is used\n", run.JournalWarning)
		}
		runs[i] = run
	}
	d := verdict.CompareSummarizers(runs[0].Samples(), runs[1].Samples(), verdict.RegressionOptions{Metrics: o.metrics})
	if err := export.WriteDiff(o.Out, d, o.format); err != nil {
		return err
	}
	if len(d.Rows) == 0 {
		return fmt.Errorf("%s and %s share no engine × scenario with measured requests: nothing was compared", runs[0].Manifest.RunID, runs[1].Manifest.RunID)
	}
	if math.IsNaN(o.threshold) {
		return nil
	}
	regs := d.Regressions(o.threshold)
	if len(regs) == 0 {
		return nil
	}
	return &ExitError{Code: ExitRegression, Err: fmt.Errorf("%d significant regression(s) worse than %g%%; worst: %s",
		len(regs), o.threshold, export.RegressionText(regs[0]))}
}

// parsePercent reads "10%" or "10" as 10.
func parsePercent(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "%")), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, errors.New("use a percentage such as 10% or 10")
	}
	if v < 0 {
		return 0, errors.New("use a percentage ≥ 0")
	}
	return v, nil
}
