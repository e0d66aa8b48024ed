// Package plugin holds the kubectl llmbench commands. Each command turns
// flags into typed configuration and calls pkg/bench; nothing below this
// package knows about cobra or flags.
package plugin

import (
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	// Kubeconfigs that log in with an OIDC auth-provider; exec plugins
	// need nothing, client-go runs them.
	_ "k8s.io/client-go/plugin/pkg/client/auth"
)

// NewCmdRoot builds `kubectl llmbench` with kubectl's global flags.
func NewCmdRoot(streams genericiooptions.IOStreams) *cobra.Command {
	kube := genericclioptions.NewConfigFlags(true)
	root := &cobra.Command{
		Use:   "llmbench",
		Short: "Benchmark vLLM, TGI and Ollama serving chat users, from your kubeconfig",
		Long: `kubectl llmbench streams real chat requests to LLM inference engines (vLLM,
Hugging Face TGI, Ollama, or any OpenAI-compatible server), times every token
on a monotonic clock under sequential, closed-loop and open-loop load, and
tells you which engine serves your users fastest, and by how much.

Start without a cluster:

  kubectl llmbench run --simulate --preset quick`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl llmbench"},
	}
	kube.AddFlags(root.PersistentFlags())
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	root.AddCommand(
		NewCmdRun(streams, kube),
		NewCmdDiscover(streams, kube),
		NewCmdValidate(streams, kube),
		NewCmdRace(streams, kube),
		NewCmdDemo(streams, kube),
		NewCmdConversation(streams, kube),
		NewCmdInspect(streams, kube),
		NewCmdSim(streams),
		NewCmdInit(streams),
		NewCmdConfig(streams),
		NewCmdReport(streams),
		NewCmdResults(streams),
		NewCmdCompare(streams),
		NewCmdCleanup(streams),
		NewCmdVersion(streams),
		NewCmdCompletion(streams),
		NewCmdWorker(streams),
	)
	groupCommands(root)
	mustRegisterCompletions(root, kube)
	return root
}

// commandGroups order `kubectl llmbench --help` by what a user came to do.
var commandGroups = []struct {
	id, title string
	commands  []string
}{
	{"bench", "Benchmark and compare:", []string{"run", "report", "results", "compare", "cleanup"}},
	{"cluster", "On a cluster:", []string{"discover", "validate"}},
	{"live", "See the difference live:", []string{"race", "demo", "inspect", "conversation"}},
	{"setup", "Set up:", []string{"init", "config", "sim", "version", "completion"}},
}

// groupCommands files every command under its group; a command left out
// of commandGroups panics, so a new one cannot vanish from the help.
func groupCommands(root *cobra.Command) {
	group := map[string]string{}
	for _, g := range commandGroups {
		root.AddGroup(&cobra.Group{ID: g.id, Title: g.title})
		for _, c := range g.commands {
			group[c] = g.id
		}
	}
	root.SetHelpCommandGroupID("setup")
	for _, c := range root.Commands() {
		if c.Hidden {
			continue // the worker: started by the plugin, not listed
		}
		id, ok := group[c.Name()]
		if !ok {
			panic("command " + c.Name() + " is in no help group (root.go commandGroups)")
		}
		c.GroupID = id
	}
}
