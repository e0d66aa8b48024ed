package plugin

import (
	"bytes"
	_ "embed"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/llmbench/kubectl-llmbench/pkg/export"
)

//go:embed example-config.yaml
var exampleConfig []byte

// InitOptions is `kubectl llmbench init`.
type InitOptions struct {
	genericiooptions.IOStreams
	output string
	force  bool
}

func NewCmdInit(streams genericiooptions.IOStreams) *cobra.Command {
	o := &InitOptions{IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a commented example configuration",
		Example: `  kubectl llmbench init -o llmbench.yaml && kubectl llmbench run -f llmbench.yaml --dry-run
  kubectl llmbench init > llmbench.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.Run()
		},
	}
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "file to write (default: print to stdout)")
	cmd.Flags().BoolVar(&o.force, "force", false, "overwrite an existing file")
	return cmd
}

func (o *InitOptions) Run() error {
	if o.output == "" {
		_, err := o.Out.Write(exampleConfig)
		return err
	}
	// The file's own comments say how to check it: with its real name,
	// they can be pasted as they stand.
	config := bytes.ReplaceAll(exampleConfig, []byte("-f llmbench.yaml"), []byte("-f "+export.ShellQuote(o.output)))
	flags := os.O_CREATE | os.O_WRONLY | os.O_EXCL
	if o.force {
		flags = os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	}
	f, err := os.OpenFile(o.output, flags, 0o644)
	if err != nil {
		if os.IsExist(err) {
			return fmt.Errorf("%s already exists; pass --force to overwrite it", o.output)
		}
		return fmt.Errorf("writing %s: %w", o.output, err)
	}
	if _, err := f.Write(config); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", o.output, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(o.ErrOut, "wrote %s; check it with: kubectl llmbench run -f %s --dry-run\n", o.output, export.ShellQuote(o.output))
	return nil
}
