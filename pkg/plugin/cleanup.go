package plugin

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/llmbench/kubectl-llmbench/pkg/export"
)

// CleanupOptions is `kubectl llmbench cleanup`.
type CleanupOptions struct {
	genericiooptions.IOStreams
	outputDir string
	keep      int
	olderThan time.Duration
	dryRun    bool
	now       func() time.Time
}

func NewCmdCleanup(streams genericiooptions.IOStreams) *cobra.Command {
	o := &CleanupOptions{IOStreams: streams, now: time.Now}
	cmd := &cobra.Command{
		Use:   "cleanup",
		Short: "Remove old run folders (only folders that `run` created)",
		Example: `  kubectl llmbench cleanup --keep 10 --dry-run
  kubectl llmbench cleanup --older-than 720h`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(cmd); err != nil {
				return err
			}
			return o.Run()
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.outputDir, "output-dir", "results", "folder holding the run folders")
	fs.IntVar(&o.keep, "keep", -1, "keep the newest N runs")
	fs.DurationVar(&o.olderThan, "older-than", 0, "only remove runs started longer ago than this, e.g. 720h")
	fs.BoolVar(&o.dryRun, "dry-run", false, "list what would be removed without removing it")
	return cmd
}

func (o *CleanupOptions) Validate(cmd *cobra.Command) error {
	if !cmd.Flags().Changed("keep") && o.olderThan == 0 {
		return errors.New("say what to remove: --keep N and/or --older-than DURATION (add --dry-run to preview)")
	}
	if cmd.Flags().Changed("keep") && o.keep < 0 {
		return fmt.Errorf("--keep %d: use a whole number ≥ 0", o.keep)
	}
	if o.olderThan < 0 {
		return fmt.Errorf("--older-than %s: use a positive duration", o.olderThan)
	}
	return nil
}

// Run removes runs beyond the newest --keep that are also older than
// --older-than (each condition applies only when given). ListRuns only
// returns folders with the run-folder name and a manifest, so nothing else
// is ever touched.
func (o *CleanupOptions) Run() error {
	runs, err := export.ListRuns(o.outputDir)
	if err != nil {
		return err
	}
	removed := 0
	for i, r := range runs {
		if o.keep >= 0 && i < o.keep {
			continue
		}
		if r.Status == "running" {
			// Possibly still being written by another run; never touch it.
			fmt.Fprintf(o.ErrOut, "skipping %s: its manifest says it is still running\n", r.Dir)
			continue
		}
		if o.olderThan > 0 && (r.StartedAt.IsZero() || o.now().Sub(r.StartedAt) < o.olderThan) {
			continue
		}
		if o.dryRun {
			fmt.Fprintf(o.Out, "would remove %s\n", r.Dir)
			removed++
			continue
		}
		if err := os.RemoveAll(r.Dir); err != nil {
			return fmt.Errorf("removing %s: %w", r.Dir, err)
		}
		fmt.Fprintf(o.Out, "removed %s\n", r.Dir)
		removed++
	}
	verb := "removed"
	if o.dryRun {
		verb = "would remove"
	}
	fmt.Fprintf(o.ErrOut, "%s %d of %d run(s) in %s\n", verb, removed, len(runs), o.outputDir)
	return nil
}
