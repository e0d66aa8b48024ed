package plugin

import (
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// ConfigOptions is `kubectl llmbench config`.
type ConfigOptions struct {
	genericiooptions.IOStreams
	flags benchFlags
}

func NewCmdConfig(streams genericiooptions.IOStreams) *cobra.Command {
	o := &ConfigOptions{IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Print the effective configuration (defaults < preset < -f file < flags)",
		Example: `  kubectl llmbench config --preset standard
  kubectl llmbench config -f llmbench.yaml --max-tokens 256`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := o.flags.config(cmd)
			if err != nil {
				return err
			}
			if _, err := cfg.Scenarios(o.flags.suite); err != nil {
				return fmt.Errorf("invalid configuration:\n%w", indent(err))
			}
			b, err := cfg.YAML()
			if err != nil {
				return err
			}
			_, err = o.Out.Write(b)
			return err
		},
	}
	o.flags.add(cmd)
	return cmd
}
