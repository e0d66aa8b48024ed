package plugin

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/llmbench/kubectl-llmbench/pkg/export"
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
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
  kubectl llmbench results show test_quick_20261127_170301`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.Run() },
	}
	cmd.PersistentFlags().StringVar(&o.outputDir, "output-dir", "results", "folder holding the run folders")
	show := &cobra.Command{
		Use:   "show RUN",
		Short: "Print one run's summary table (RUN is a run id, a path, or --latest)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			latest, _ := cmd.Flags().GetBool("latest")
			dir, err := resolveRunDir(o.outputDir, args, latest)
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
	show.Flags().Bool("latest", false, "show the newest run")
	cmd.AddCommand(show)
	return cmd
}

func (o *ResultsOptions) Run() error {
	runs, err := export.ListRuns(o.outputDir)
	if err != nil {
		return err
	}
	if len(runs) == 0 {
		fmt.Fprintf(o.ErrOut, "no runs in %s; start one with: kubectl llmbench run --simulate\n", o.outputDir)
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

// resolveRunDir finds a run from an id, a path, or --latest.
func resolveRunDir(outputDir string, args []string, latest bool) (string, error) {
	switch {
	case latest && len(args) > 0:
		return "", errors.New("give either a run or --latest, not both")
	case latest:
		runs, err := export.ListRuns(outputDir)
		if err != nil {
			return "", err
		}
		if len(runs) == 0 {
			return "", fmt.Errorf("no runs in %s; pass --output-dir or a run folder", outputDir)
		}
		return runs[0].Dir, nil
	case len(args) == 0:
		return "", errors.New("name a run (see `kubectl llmbench results`), give its folder, or pass --latest")
	}
	for _, dir := range []string{args[0], filepath.Join(outputDir, args[0])} {
		if export.IsRunFolder(dir) {
			return dir, nil
		}
	}
	return "", fmt.Errorf("%q is not a run folder (nor a run in %s); see `kubectl llmbench results`", args[0], outputDir)
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "–"
	}
	return s
}
