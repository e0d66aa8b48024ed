package plugin

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// version, commit and date are stamped at release time (hack/dist.sh):
//
//	-ldflags "-X github.com/llmbench/kubectl-llmbench/pkg/plugin.version=v1.2.3
//	          -X github.com/llmbench/kubectl-llmbench/pkg/plugin.commit=<sha>
//	          -X github.com/llmbench/kubectl-llmbench/pkg/plugin.date=<RFC 3339>"
//
// Left empty, `go install …@v1.2.3` still knows its module version, and a
// build inside a git checkout knows its commit and commit time.
var version, commit, date string

// BuildInfo is what `kubectl llmbench version` prints.
type BuildInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Date      string `json:"date"`
	GoVersion string `json:"go_version"`
	Platform  string `json:"platform"`
}

// Version is the tool version written into every manifest.
func Version() string { return GetBuildInfo().Version }

// GetBuildInfo reads the stamped values, falling back to what the Go
// toolchain embedded in the binary.
func GetBuildInfo() BuildInfo {
	bi, _ := debug.ReadBuildInfo()
	return buildInfo(version, commit, date, bi)
}

func buildInfo(version, commit, date string, bi *debug.BuildInfo) BuildInfo {
	if bi != nil {
		// "(devel)" is what a build of the main module from a checkout says.
		if version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			version = bi.Main.Version
		}
		setting := map[string]string{}
		for _, s := range bi.Settings {
			setting[s.Key] = s.Value
		}
		if commit == "" && setting["vcs.revision"] != "" {
			commit = setting["vcs.revision"]
			if setting["vcs.modified"] == "true" {
				commit += "-dirty"
			}
		}
		if date == "" {
			date = setting["vcs.time"]
		}
	}
	return BuildInfo{
		Version:   orDefault(version, "dev"),
		Commit:    orDefault(commit, "unknown"),
		Date:      orDefault(date, "unknown"),
		GoVersion: runtime.Version(),
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// versionFormats are the values of version's --output besides the default line.
var versionFormats = []string{"json", "yaml"}

// VersionOptions is `kubectl llmbench version`.
type VersionOptions struct {
	genericiooptions.IOStreams
	output string
}

func NewCmdVersion(streams genericiooptions.IOStreams) *cobra.Command {
	o := &VersionOptions{IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the plugin version, commit and build date",
		Example: `  kubectl llmbench version
  kubectl llmbench version -o json`,
		Args: cobra.NoArgs,
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
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "output format: "+strings.Join(versionFormats, " or ")+" (default: one line)")
	return cmd
}

func (o *VersionOptions) Complete(_ *cobra.Command, _ []string) error {
	o.output = strings.ToLower(strings.TrimSpace(o.output))
	return nil
}

func (o *VersionOptions) Validate() error {
	if o.output == "" || slices.Contains(versionFormats, o.output) {
		return nil
	}
	return fmt.Errorf("--output %q: use %s, or leave it out for one line", o.output, strings.Join(versionFormats, " or "))
}

func (o *VersionOptions) Run(_ context.Context) error {
	return writeVersion(o.Out, GetBuildInfo(), o.output)
}

func writeVersion(w io.Writer, info BuildInfo, format string) error {
	if ok, err := writeStructured(w, info, format); ok {
		return err
	}
	_, err := fmt.Fprintf(w, "kubectl-llmbench %s (commit %s, built %s, %s, %s)\n", info.Version, info.Commit, info.Date, info.GoVersion, info.Platform)
	return err
}
