package plugin

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/llmbench/kubectl-llmbench/pkg/cluster"
	"github.com/llmbench/kubectl-llmbench/pkg/export"
	"github.com/llmbench/kubectl-llmbench/pkg/placement"
)

// complete runs cobra's hidden __complete command, as the shell scripts
// and kubectl_complete-llmbench do, and returns the values offered
// (descriptions dropped) and the directive line.
func complete(t *testing.T, args ...string) ([]string, string) {
	t.Helper()
	out, _, err := runRoot(append([]string{cobra.ShellCompRequestCmd}, args...)...)
	if err != nil {
		t.Fatalf("__complete %q: %v", args, err)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	var values []string
	for _, l := range lines[:len(lines)-1] {
		values = append(values, strings.SplitN(l, "\t", 2)[0])
	}
	return values, lines[len(lines)-1]
}

func TestCompletionOffersFlagValues(t *testing.T) {
	t.Parallel()
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"run", "--preset", ""}, []string{"quick", "standard", "stress"}},
		{[]string{"config", "--suite", ""}, []string{"ttft", "load", "all"}},
		{[]string{"run", "--arrival", ""}, []string{"closed", "constant", "poisson"}},
		{[]string{"run", "--access", ""}, []string{"auto", "route", "ingress", "nodeport", "port-forward", "proxy"}},
		{[]string{"discover", "--access", ""}, []string{"auto", "route", "ingress", "nodeport", "port-forward", "proxy"}},
		// --find-capacity has a default value, so only --find-capacity=VALUE sets one.
		{[]string{"run", "--find-capacity="}, []string{"rate", "concurrency"}},
		{[]string{"discover", "-o", ""}, []string{"table", "json", "yaml"}},
		{[]string{"validate", "--output", ""}, []string{"table", "json", "yaml"}},
		{[]string{"version", "-o", ""}, []string{"json", "yaml"}},
		{[]string{"compare", "--format", ""}, export.DiffFormats},
		{[]string{"completion", ""}, []string{"bash", "zsh", "fish", "powershell"}},
		{[]string{"ver"}, []string{"version"}},
	}
	for _, tc := range cases {
		got, directive := complete(t, tc.args...)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%q: offered %q, want %q", tc.args, got, tc.want)
		}
		if !strings.HasPrefix(directive, ":") {
			t.Errorf("%q: last line %q, want cobra's directive", tc.args, directive)
		}
	}
}

// --access means the same wherever it is declared, so every command that
// has it completes it, commands added later included.
func TestCompletionOfAccessEverywhere(t *testing.T) {
	t.Parallel()
	root := NewCmdRoot(genericiooptions.IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard})
	n := 0
	for _, cmd := range root.Commands() {
		if cmd.LocalFlags().Lookup("access") == nil {
			continue
		}
		n++
		if got, _ := complete(t, cmd.Name(), "--access", ""); !slices.Equal(got, accessMethods()) {
			t.Errorf("%s --access: offered %q, want %q", cmd.Name(), got, accessMethods())
		}
	}
	if n < 2 {
		t.Errorf("%d commands have --access, want run and discover at least", n)
	}
}

// What completion offers, the commands accept.
func TestCompletedValuesAreAccepted(t *testing.T) {
	t.Parallel()
	for _, m := range accessMethods() {
		if _, err := placement.ParseMethod(m); err != nil {
			t.Errorf("--access %s: %v", m, err)
		}
	}
	formats, _ := complete(t, "run", "--format", "")
	if _, err := export.SelectFormats(formats); err != nil {
		t.Errorf("run --format %v: %v", formats, err)
	}
	for _, out := range []string{"table", "json", "yaml"} {
		if err := (&ValidateOptions{output: out, gpuResource: cluster.DefaultGPUResource}).Validate(); err != nil {
			t.Errorf("validate -o %s: %v", out, err)
		}
	}
	for _, out := range versionFormats {
		if err := (&VersionOptions{output: out}).Validate(); err != nil {
			t.Errorf("version -o %s: %v", out, err)
		}
	}
	presets, _ := complete(t, "config", "--preset", "")
	suites, _ := complete(t, "config", "--suite", "")
	for _, p := range presets {
		for _, s := range suites {
			if _, _, err := runRoot("config", "--preset", p, "--suite", s); err != nil {
				t.Errorf("config --preset %s --suite %s: %v", p, s, err)
			}
		}
	}
}

func TestCompletionOfListFlagsKeepsWhatWasTyped(t *testing.T) {
	t.Parallel()
	got, directive := complete(t, "run", "--format", "json,p")
	if !slices.Contains(got, "json,parquet") || slices.Contains(got, "json,json") {
		t.Errorf("offered %q, want json,parquet and not json twice", got)
	}
	if !strings.Contains(directive, ":6") { // NoSpace | NoFileComp
		t.Errorf("directive %q, want no space after a list item", directive)
	}
}

func TestCompletionOffersRunIDs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeRun(t, dir, "test_base_20260101_000000", 1, 1)
	writeRun(t, dir, "test_slow_20260102_000000", 2, 1.25)
	for _, args := range [][]string{
		{"compare", "--output-dir", dir, ""},
		{"report", "--output-dir", dir, ""},
		{"results", "--output-dir", dir, "show", ""},
		{"run", "--output-dir", dir, "--baseline", ""},
	} {
		got, _ := complete(t, args...)
		slices.Sort(got)
		if want := []string{"test_base_20260101_000000", "test_slow_20260102_000000"}; !slices.Equal(got, want) {
			t.Errorf("%q: offered %q, want %q", args, got, want)
		}
	}
	if got, _ := complete(t, "compare", "--output-dir", dir, "test_s"); !slices.Equal(got, []string{"test_slow_20260102_000000"}) {
		t.Errorf("prefix test_s: offered %q", got)
	}
	// --output-dir itself completes folders, also where it is inherited.
	for _, args := range [][]string{{"run", "--output-dir", ""}, {"results", "show", "--output-dir", ""}} {
		if _, directive := complete(t, args...); directive != fmt.Sprintf(":%d", cobra.ShellCompDirectiveFilterDirs) {
			t.Errorf("%q: directive %s, want folders only", args, directive)
		}
	}
}

func TestCompletionScripts(t *testing.T) {
	t.Parallel()
	for _, shell := range shells {
		out, _, err := runRoot("completion", shell)
		if err != nil {
			t.Fatalf("completion %s: %v", shell, err)
		}
		// The scripts complete the executable on PATH; "llmbench" alone
		// names no program.
		if !strings.Contains(out, "kubectl-llmbench") || !strings.Contains(out, cobra.ShellCompRequestCmd) {
			t.Errorf("completion %s does not complete kubectl-llmbench through %s:\n%.400s", shell, cobra.ShellCompRequestCmd, out)
		}
	}
	if _, _, err := runRoot("completion", "tcsh"); err == nil || !strings.Contains(err.Error(), "bash, zsh, fish, powershell") {
		t.Errorf("completion tcsh: error %v, want the shells listed", err)
	}
}
