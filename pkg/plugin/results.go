package plugin

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/llmbench/kubectl-llmbench/pkg/export"
)

// ResultsOptions is `kubectl llmbench results`.
type ResultsOptions struct {
	genericiooptions.IOStreams
	outputDir string
}

func NewCmdResults(streams genericiooptions.IOStreams) *cobra.Command {
	o := &ResultsOptions{IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "results",
		Short: "List stored runs, newest first",
		Example: `  kubectl llmbench results
  kubectl llmbench results show
  kubectl llmbench results show test_quick_20261127_170301`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.Run() },
	}
	cmd.PersistentFlags().StringVar(&o.outputDir, "output-dir", "results", "folder holding the run folders")
	show := &cobra.Command{
		Use:   "show [RUN]",
		Short: "Print one run's summary table (RUN is a run id or folder; default: the latest run)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			latest, _ := cmd.Flags().GetBool("latest")
			dir, err := pickRun(o.ErrOut, "results show", o.outputDir, args, latest)
			if err != nil {
				return err
			}
			run, err := export.LoadRun(dir)
			if err != nil {
				return err
			}
			if run.JournalWarning != nil {
				fmt.Fprintf(o.ErrOut, "warning: %v\n", run.JournalWarning)
			}
			fmt.Fprintf(o.Out, "Run %s (status %s, started %s)\n", run.Manifest.RunID, run.Manifest.Status, run.Manifest.StartedAt)
			return export.WriteTable(o.Out, run.Summary)
		},
	}
	show.Flags().Bool("latest", false, "show the newest run in --output-dir (the default when no RUN is named)")
	cmd.AddCommand(show)
	return cmd
}

func (o *ResultsOptions) Run() error {
	runs, err := listRuns(o.outputDir)
	if err != nil {
		return err
	}
	if len(runs) == 0 {
		// An empty list is an answer, not a failure.
		fmt.Fprintln(o.ErrOut, errNoRuns(o.outputDir))
		return nil
	}
	t := export.NewTable(o.Out)
	t.Header("Run", "Started", "Engines", "OK/Requests", "Status", "Winner")
	for _, r := range runs {
		started := "–"
		if !r.StartedAt.IsZero() {
			started = r.StartedAt.Local().Format("2006-01-02 15:04:05")
		}
		if err := t.Append(r.ID, started, strings.Join(r.Engines, ", "), fmt.Sprintf("%d/%d", r.Succeeded, r.Requests), r.Status, dashIfEmpty(r.Winner)); err != nil {
			return err
		}
	}
	return t.Render()
}

// pickRun is how `report` and `results show` find their run: RUN as an id
// or a folder, else the newest run in outputDir, named on errOut so that
// nobody reads a report of a run they did not mean.
func pickRun(errOut io.Writer, command, outputDir string, args []string, latest bool) (string, error) {
	dir, err := resolveRunDir(outputDir, args, latest)
	if err != nil {
		return "", err
	}
	if len(args) == 0 {
		fmt.Fprintf(errOut, "%s: using the latest run, %s (name a run to pick another)\n", command, dir)
	}
	return dir, nil
}

// resolveRunDir finds a run from an id or a path; with neither (or
// --latest), the newest run in outputDir.
func resolveRunDir(outputDir string, args []string, latest bool) (string, error) {
	switch {
	case latest && len(args) > 0:
		return "", errors.New("give either a run or --latest, not both")
	case len(args) == 0:
		return latestRunDir(outputDir)
	}
	for _, dir := range []string{args[0], filepath.Join(outputDir, args[0])} {
		if export.IsRunFolder(dir) {
			return dir, nil
		}
	}
	return "", fmt.Errorf("%q is not a run folder (nor a run in %s); see `kubectl llmbench results`", args[0], outputDir)
}

func latestRunDir(outputDir string) (string, error) {
	runs, err := listRuns(outputDir)
	if err != nil {
		return "", err
	}
	if len(runs) == 0 {
		return "", errNoRuns(outputDir)
	}
	return runs[0].Dir, nil
}

// listRuns is export.ListRuns where a missing --output-dir holds no runs:
// before the first run, "results" does not exist yet.
func listRuns(outputDir string) ([]export.RunInfo, error) {
	runs, err := export.ListRuns(outputDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return runs, err
}

func errNoRuns(outputDir string) error {
	return fmt.Errorf("no runs in %s: make one with `kubectl llmbench run --simulate`, or point --output-dir at the folder that holds them",
		strings.TrimSuffix(outputDir, string(filepath.Separator))+string(filepath.Separator))
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "–"
	}
	return s
}
