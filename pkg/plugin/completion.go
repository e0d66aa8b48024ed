package plugin

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/verdict"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
	"github.com/llmbench/kubectl-llmbench/pkg/export"
	"github.com/llmbench/kubectl-llmbench/pkg/placement"
	"github.com/llmbench/kubectl-llmbench/templates"
)

// shells are the shells cobra writes completion scripts for.
var shells = []string{"bash", "zsh", "fish", "powershell"}

// CompletionOptions is `kubectl llmbench completion`.
type CompletionOptions struct {
	genericiooptions.IOStreams
	shell string
	root  *cobra.Command
}

// NewCmdCompletion replaces cobra's default completion command so that it
// is documented, and so the scripts complete the executable krew puts on
// PATH (kubectl-llmbench) rather than the root's Use ("llmbench"), which
// names no program.
func NewCmdCompletion(streams genericiooptions.IOStreams) *cobra.Command {
	o := &CompletionOptions{IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "completion bash|zsh|fish|powershell",
		Short: "Print a shell completion script",
		Long: `Prints the completion script of the kubectl-llmbench executable for bash, zsh,
fish or PowerShell.

"kubectl llmbench <TAB>" is completed by kubectl itself (1.26 or newer), with
kubectl's own completion loaded (kubectl completion bash|zsh|fish|powershell)
and the kubectl_complete-llmbench script from the release archive on PATH.
krew unpacks that script into $KREW_ROOT/store/llmbench/VERSION/ without
linking it; link it next to the plugin:

  ln -s "${KREW_ROOT:-$HOME/.krew}"/store/llmbench/*/kubectl_complete-llmbench "${KREW_ROOT:-$HOME/.krew}/bin/"`,
		Example: `  source <(kubectl llmbench completion bash)
  kubectl llmbench completion zsh > "${fpath[1]}/_kubectl-llmbench"
  kubectl llmbench completion fish > ~/.config/fish/completions/kubectl-llmbench.fish
  kubectl llmbench completion powershell | Out-String | Invoke-Expression`,
		Args:                  cobra.ExactArgs(1),
		ValidArgs:             shells,
		DisableFlagsInUseLine: true,
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
	return cmd
}

func (o *CompletionOptions) Complete(cmd *cobra.Command, args []string) error {
	o.shell = strings.ToLower(args[0])
	o.root = cmd.Root()
	return nil
}

func (o *CompletionOptions) Validate() error {
	if !slices.Contains(shells, o.shell) {
		return fmt.Errorf("unknown shell %q: use %s", o.shell, strings.Join(shells, ", "))
	}
	return nil
}

func (o *CompletionOptions) Run(_ context.Context) error {
	use := o.root.Use
	o.root.Use = "kubectl-llmbench"
	defer func() { o.root.Use = use }()
	return writeCompletion(o.Out, o.root, o.shell)
}

func writeCompletion(w io.Writer, root *cobra.Command, shell string) error {
	switch shell {
	case "bash":
		return root.GenBashCompletionV2(w, true)
	case "zsh":
		return root.GenZshCompletion(w)
	case "fish":
		return root.GenFishCompletion(w, true)
	default:
		return root.GenPowerShellCompletionWithDesc(w)
	}
}

// completeFunc is what cobra calls to complete a flag value or an argument.
type completeFunc = func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective)

// sameEverywhere completes the flags that mean the same in every command
// that declares them, new commands included.
func sameEverywhere() map[string]completeFunc {
	return map[string]completeFunc{
		"access":     fixedValues(accessMethods()...),
		"output-dir": directories,
	}
}

// flagCompletions lists, per command path below the root, the flags whose
// values come from a known set but whose meaning depends on the command
// (-o is a format for discover, a file for init; --format differs between
// run and compare). One table keyed by command says it all in one place.
func flagCompletions() map[string]map[string]completeFunc {
	benchFlags := map[string]completeFunc{
		"preset":  fixedValues(workload.Presets()...),
		"config":  fileExtensions("yaml", "yml"),
		"suite":   fixedValues(workload.SuiteTTFT, workload.SuiteLoad, "all"),
		"arrival": fixedValues(string(workload.ArrivalClosed), string(workload.ArrivalConstant), string(workload.ArrivalPoisson)),
	}
	tableJSONYAML := fixedValues("table", "json", "yaml")
	liveFlags := map[string]completeFunc{"scenario": scenarioIDs, "filename": fileExtensions("yaml", "yml")}
	return map[string]map[string]completeFunc{
		"run": merge(benchFlags, map[string]completeFunc{
			"format":        commaSeparated(append(export.FormatNames(), "all")...),
			"find-capacity": fixedValues(workload.LevelRate, workload.LevelConcurrency),
			"baseline":      runIDs,
		}),
		"config":       benchFlags,
		"discover":     {"output": tableJSONYAML},
		"validate":     {"output": tableJSONYAML},
		"compare":      {"format": fixedValues(export.DiffFormats...), "metric": commaSeparated(verdict.RegressionMetrics()...)},
		"report":       {"baseline": runIDs},
		"version":      {"output": fixedValues(versionFormats...)},
		"race":         liveFlags,
		"demo":         liveFlags,
		"inspect":      liveFlags,
		"conversation": liveFlags,
	}
}

// scenarioIDs are the built-in scenarios' ids, with their titles.
func scenarioIDs(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	stories, err := workload.LoadStories(templates.Scenarios, "scenarios")
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	var out []string
	for _, s := range stories {
		out = append(out, fmt.Sprintf("%d\t%s", s.ID, s.Title))
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// argCompletions completes the positional arguments that name runs.
var argCompletions = map[string]completeFunc{
	"compare":      runIDs,
	"report":       runIDs,
	"results show": runIDs,
}

func accessMethods() []string {
	out := []string{string(placement.MethodAuto)}
	for _, m := range placement.AutoOrder {
		out = append(out, string(m))
	}
	return out
}

// mustRegisterCompletions attaches the completions above, and those of
// kubectl's --namespace and --context, to the command tree. A table entry
// naming a command or flag that does not exist panics, so every test that
// builds the root catches a renamed flag.
func mustRegisterCompletions(root *cobra.Command, kube *genericclioptions.ConfigFlags) {
	flags, everywhere := flagCompletions(), sameEverywhere()
	seen := map[string]bool{}
	var walk func(cmd *cobra.Command, path string)
	walk = func(cmd *cobra.Command, path string) {
		seen[path] = true
		for flag, fn := range flags[path] {
			if err := cmd.RegisterFlagCompletionFunc(flag, fn); err != nil {
				panic(fmt.Sprintf("completion of %q --%s: %v", path, flag, err))
			}
		}
		// LocalFlags: a persistent flag is registered once, where declared.
		for flag, fn := range everywhere {
			if cmd.LocalFlags().Lookup(flag) == nil {
				continue
			}
			if err := cmd.RegisterFlagCompletionFunc(flag, fn); err != nil {
				panic(fmt.Sprintf("completion of %q --%s: %v", path, flag, err))
			}
		}
		if fn, ok := argCompletions[path]; ok {
			cmd.ValidArgsFunction = fn
		}
		for _, c := range cmd.Commands() {
			walk(c, strings.TrimSpace(path+" "+c.Name()))
		}
	}
	walk(root, "")
	for path := range flags {
		if !seen[path] {
			panic(fmt.Sprintf("completion table names command %q, which does not exist", path))
		}
	}
	for path := range argCompletions {
		if !seen[path] {
			panic(fmt.Sprintf("completion table names command %q, which does not exist", path))
		}
	}
	for flag, fn := range map[string]completeFunc{"namespace": namespaces(kube), "context": kubeContexts(kube)} {
		if err := root.RegisterFlagCompletionFunc(flag, fn); err != nil {
			panic(fmt.Sprintf("completion of --%s: %v", flag, err))
		}
	}
}

func merge(maps ...map[string]completeFunc) map[string]completeFunc {
	out := map[string]completeFunc{}
	for _, m := range maps {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

func fixedValues(values ...string) completeFunc {
	return func(_ *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
		return values, cobra.ShellCompDirectiveNoFileComp
	}
}

// commaSeparated completes the next item of a comma-separated list flag,
// keeping what was typed before the last comma.
func commaSeparated(values ...string) completeFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		i := strings.LastIndex(toComplete, ",")
		done := strings.Split(toComplete[:max(i, 0)], ",")
		var out []string
		for _, v := range values {
			if !slices.Contains(done, v) {
				out = append(out, toComplete[:i+1]+v)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	}
}

func fileExtensions(ext ...string) completeFunc {
	return func(_ *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
		return ext, cobra.ShellCompDirectiveFilterFileExt
	}
}

func directories(_ *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
	return nil, cobra.ShellCompDirectiveFilterDirs
}

// runIDs offers the runs in --output-dir, newest first, described by status
// and engines; a folder path still completes when no run id matches.
func runIDs(cmd *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	dir := "results"
	if f := cmd.Flags().Lookup("output-dir"); f != nil {
		dir = f.Value.String()
	}
	runs, err := export.ListRuns(dir)
	if err != nil {
		return nil, cobra.ShellCompDirectiveDefault
	}
	var out []string
	for _, r := range runs {
		if strings.HasPrefix(r.ID, toComplete) {
			out = append(out, fmt.Sprintf("%s\t%s, %s", r.ID, r.Status, strings.Join(r.Engines, " ")))
		}
	}
	if len(out) == 0 {
		return nil, cobra.ShellCompDirectiveDefault
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completionTimeout bounds the API call behind -n completion: a shell
// waiting on an unreachable cluster is worse than no suggestions.
const completionTimeout = 5 * time.Second

func namespaces(kube *genericclioptions.ConfigFlags) completeFunc {
	return func(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
		rc, err := kube.ToRESTConfig()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		rc.Timeout = completionTimeout
		client, err := kubernetes.NewForConfig(rc)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx, cancel := context.WithTimeout(context.Background(), completionTimeout)
		defer cancel()
		list, err := client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []string
		for _, ns := range list.Items {
			out = append(out, ns.Name)
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

func kubeContexts(kube *genericclioptions.ConfigFlags) completeFunc {
	return func(_ *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
		cfg, err := kube.ToRawKubeConfigLoader().RawConfig()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []string
		for name := range cfg.Contexts {
			out = append(out, name)
		}
		sort.Strings(out)
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}
