package plugin

import (
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/llmbench/kubectl-llmbench/pkg/export"
)

// ReportOptions is `kubectl llmbench report`.
type ReportOptions struct {
	genericiooptions.IOStreams
	outputDir string
	latest    bool
	formats   map[string]*bool
	all       bool
	baseline  string

	dir      string
	selected []export.Format
}

func NewCmdReport(streams genericiooptions.IOStreams) *cobra.Command {
	o := &ReportOptions{IOStreams: streams, formats: map[string]*bool{}}
	cmd := &cobra.Command{
		Use:   "report [RUN_DIR | RUN_ID]",
		Short: "Regenerate a run's exports and reports from its journal alone (default: the latest run)",
		Example: `  kubectl llmbench report --pdf
  kubectl llmbench report results/test_quick_20261127_170301 --all
  kubectl llmbench report test_quick_20261127_170301 --html --md`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(args); err != nil {
				return err
			}
			return o.Run()
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.outputDir, "output-dir", "results", "folder holding the run folders")
	fs.BoolVar(&o.latest, "latest", false, "use the newest run in --output-dir (the default when no run is named)")
	fs.BoolVar(&o.all, "all", false, "write every format (the default when none is named)")
	fs.StringVar(&o.baseline, "baseline", "", "compare with an earlier run (id or folder); default: the run's own --baseline, if it had one")
	for _, f := range export.Formats {
		o.formats[f.Name] = fs.Bool(f.Name, false, "write "+f.Help)
	}
	return cmd
}

func (o *ReportOptions) Complete(args []string) error {
	dir, err := pickRun(o.ErrOut, "report", o.outputDir, args, o.latest)
	if err != nil {
		return err
	}
	o.dir = dir
	var names []string
	for _, f := range export.Formats {
		if *o.formats[f.Name] {
			names = append(names, f.Name)
		}
	}
	if o.all || len(names) == 0 {
		names = []string{"all"}
	}
	o.selected, err = export.SelectFormats(names)
	return err
}

func (o *ReportOptions) Run() error {
	run, err := export.LoadRun(o.dir)
	if err != nil {
		return err
	}
	if run.JournalWarning != nil {
		fmt.Fprintf(o.ErrOut, "warning: %v; every other record is used\n", run.JournalWarning)
	}
	switch {
	case o.baseline != "":
		dir, err := resolveBaseline(o.outputDir, o.baseline)
		if err != nil {
			return err
		}
		if err := attachBaseline(run, dir); err != nil {
			return err
		}
	case run.Manifest.Baseline != "":
		if err := attachBaseline(run, run.Manifest.Baseline); err != nil {
			fmt.Fprintf(o.ErrOut, "warning: the run's baseline cannot be compared again (%v); pass --baseline RUN\n", err)
		}
	}
	if run.Baseline != nil {
		fmt.Fprintf(o.Out, "compared with %s: %s\n", run.Baseline.BaseRunID, export.DiffVerdict(*run.Baseline))
	}
	if err := export.WriteFormats(o.dir, run, o.selected); err != nil {
		return err
	}
	for _, f := range o.selected {
		fmt.Fprintf(o.Out, "wrote %s in %s\n", f.Help, o.dir)
	}
	return nil
}
