package plugin

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/charmbracelet/x/ansi"
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/load"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
	"github.com/llmbench/kubectl-llmbench/pkg/export"
)

// DemoOptions is `kubectl llmbench demo`.
type DemoOptions struct {
	liveOptions
	scenario int
	list     bool
	live     bool
}

func NewCmdDemo(streams genericiooptions.IOStreams, kube *genericclioptions.ConfigFlags) *cobra.Command {
	o := &DemoOptions{liveOptions: liveOptions{IOStreams: streams, kube: kube}}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Play a realistic conversation against every engine: transcripts, timings, cost and what the wait means for people",
		Long: `Plays one of five built-in scenarios (customer support, code review,
creative writing, technical documentation, business analysis), each a persona
with a system prompt and several turns, against every engine. Each engine
hears its own earlier answers as context. Prints each engine's transcript with
its timings, then the timings side by side, the cost at the measured
throughput (economics in a -f config) and a human-impact estimate
(human_impact in a -f config).

--live races every turn across the engines in the terminal instead.`,
		Example: `  kubectl llmbench demo --list
  kubectl llmbench demo --simulate --scenario 2
  kubectl llmbench demo -n llm-serving --scenario 1 --live`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.liveOptions.complete(); err != nil {
				return err
			}
			if o.list {
				return o.printList(o.Out)
			}
			if err := o.validate("run the demo against"); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	o.addFlags(cmd, "talk to")
	cmd.Flags().IntVar(&o.scenario, "scenario", 1, "which built-in scenario (see --list)")
	cmd.Flags().BoolVar(&o.list, "list", false, "list the built-in scenarios and exit")
	cmd.Flags().BoolVar(&o.live, "live", false, "race each turn across the engines, live in the terminal")
	return cmd
}

func (o *DemoOptions) printList(w io.Writer) error {
	var rows [][]string
	for _, s := range o.stories {
		rows = append(rows, []string{fmt.Sprint(s.ID), s.Title, s.Persona, fmt.Sprint(len(s.Turns)), ansi.Truncate(strings.Join(strings.Fields(s.Turns[0]), " "), 60, "…")})
	}
	if err := export.RenderRows(w, []string{"#", "Scenario", "Persona", "Turns", "Opens with"}, rows); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, "\nkubectl llmbench demo --simulate --scenario N   (or race, inspect, conversation --scenario N)")
	return err
}

func (o *DemoOptions) Run(ctx context.Context) error {
	ctx, story, clients, done, err := o.begin(ctx, o.scenario)
	if err != nil {
		return err
	}
	defer done()
	fmt.Fprintf(o.Out, "Scenario %d · %s\n%s\nSystem prompt: %s\n", story.ID, story.Title, story.Persona, oneLine(story.System))
	turns := load.Conversation(story, 0, false)
	talks := make([]engineTalk, len(clients))
	for i, c := range clients {
		talks[i].target = c.Target
	}
	if o.live && o.tty() {
		if err := o.raceTurns(ctx, clients, story, turns, talks); err != nil {
			return err
		}
	} else {
		if o.live {
			fmt.Fprintln(o.ErrOut, "note: --live needs a terminal; printing the transcripts instead")
		}
		for i, c := range clients {
			fmt.Fprintf(o.Out, "\n━━ %s · model %s ━━\n", engineTitle(c.Target.Name), safeText(c.Target.Model))
			for _, user := range turns {
				x := load.Say(ctx, c, story, talks[i].exchanges, user, nil)
				talks[i].exchanges = append(talks[i].exchanges, x)
				writeExchange(o.Out, story.Speaker(), c.Target.Name, x)
				if ctx.Err() != nil {
					return ctx.Err()
				}
			}
		}
	}
	return writeTalkTables(o.Out, talks, o.cfg)
}

// raceTurns races each turn across the engines, each with its own
// history, in the live view.
func (o *DemoOptions) raceTurns(ctx context.Context, clients []*engine.Client, story workload.Story, turns []string, talks []engineTalk) error {
	var targets []engine.Target
	for _, c := range clients {
		targets = append(targets, c.Target)
	}
	for n, user := range turns {
		reqs := make([]engine.Request, len(clients))
		for i := range clients {
			reqs[i] = story.Request(load.History(talks[i].exchanges), user)
		}
		state := newRaceState(user, targets, 1)
		state.title = fmt.Sprintf("%s · turn %d of %d · %s asks", story.Title, n+1, len(turns), story.Speaker())
		state.startRound()
		events := make(chan load.RaceEvent, 4096)
		rctx, cancel := context.WithCancel(ctx)
		go load.Race(rctx, clients, reqs, events)
		err := raceLive(rctx, cancel, o.Out, state, events)
		cancel()
		if err != nil {
			return err
		}
		for i, l := range state.lanes {
			talks[i].exchanges = append(talks[i].exchanges, load.Exchange{User: user, Answer: l.text.String(), Record: l.rec, Context: len(reqs[i].Messages)})
		}
	}
	return nil
}

// writeExchange prints one turn of a transcript; the answer is model
// output, stripped of control codes.
func writeExchange(w io.Writer, speaker, engine string, x load.Exchange) {
	fmt.Fprintf(w, "\n%s › %s\n", speaker, ansi.Wordwrap(strings.TrimSpace(x.User), 100, " -"))
	r := x.Record
	if !r.OK {
		fmt.Fprintf(w, "%s › (failed: %s: %s)\n", engineTitle(engine), r.ErrorClass, safeText(r.Error))
		return
	}
	tps := ""
	if r.OutputTokensPerS != nil {
		tps = fmt.Sprintf(" · %.0f tok/s", *r.OutputTokensPerS)
	}
	fmt.Fprintf(w, "%s › %s\n   [first word %s · whole answer %s · %d tokens in, %d out%s]\n", engineTitle(engine),
		ansi.Wordwrap(strings.TrimSpace(safeText(x.Answer)), 100, " -"), export.MSText(*r.TTFTMS), export.MSText(*r.E2EMS), r.PromptTokens, r.OutputTokens, tps)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
