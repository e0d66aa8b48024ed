package plugin

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/load"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/stats"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
	"github.com/llmbench/kubectl-llmbench/pkg/export"
)

// ConversationOptions is `kubectl llmbench conversation`.
type ConversationOptions struct {
	liveOptions
	scenario int
	turns    int
	verbose  bool
}

func NewCmdConversation(streams genericiooptions.IOStreams, kube *genericclioptions.ConfigFlags) *cobra.Command {
	o := &ConversationOptions{liveOptions: liveOptions{IOStreams: streams, kube: kube}}
	cmd := &cobra.Command{
		Use:   "conversation",
		Short: "Hold a multi-turn conversation with every engine: latency as the context grows, and whether it remembers",
		Long: `Holds a conversation of --turns turns with each engine, one engine after
another, feeding each engine its own answers back as context. Per turn it shows
the context sent (messages and prompt tokens) and the time to the first word,
so you see how each engine's latency grows with the context. A fact is planted
in the first turn and asked for in the last: "recalled" means the answer
contained every expected piece of it.

The simulators do not understand language, so they never recall; against real
engines this is a simple memory check, not a quality benchmark.`,
		Example: `  kubectl llmbench conversation --simulate --scenario 1 --turns 4
  kubectl llmbench conversation -n llm-serving --scenario 4 --turns 8 -v`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.liveOptions.complete(); err != nil {
				return err
			}
			if o.turns < 2 || o.turns > 50 {
				return fmt.Errorf("--turns %d: give between 2 and 50 turns (the first plants a fact, the last asks for it)", o.turns)
			}
			if err := o.validate("talk to"); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	o.addFlags(cmd, "talk to")
	cmd.Flags().IntVar(&o.scenario, "scenario", 1, "which built-in scenario (kubectl llmbench demo --list)")
	cmd.Flags().IntVar(&o.turns, "turns", 4, "turns per conversation, the recall question included")
	cmd.Flags().BoolVarP(&o.verbose, "verbose", "v", false, "print every answer, not only the last")
	return cmd
}

func (o *ConversationOptions) Run(ctx context.Context) error {
	ctx, story, clients, done, err := o.begin(ctx, o.scenario)
	if err != nil {
		return err
	}
	defer done()
	turns := load.Conversation(story, o.turns, true)
	fmt.Fprintf(o.Out, "Scenario %d · %s · %d turns\n%s\nPlanted in turn 1: %s\nAsked in turn %d: %s\n",
		story.ID, story.Title, len(turns), story.Persona, story.Fact, len(turns), story.Recall)
	talks := make([]engineTalk, len(clients))
	for i, c := range clients {
		talks[i].target = c.Target
		fmt.Fprintf(o.Out, "\n━━ %s · model %s ━━\n", engineTitle(c.Target.Name), safeText(c.Target.Model))
		for n, user := range turns {
			x := load.Say(ctx, c, story, talks[i].exchanges, user, nil)
			talks[i].exchanges = append(talks[i].exchanges, x)
			if o.verbose || n == len(turns)-1 {
				writeExchange(o.Out, story.Speaker(), c.Target.Name, x)
			} else {
				fmt.Fprintf(o.Out, "turn %d: %s\n", n+1, turnFigures(x))
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
	}
	if err := writeGrowth(o.Out, talks); err != nil {
		return err
	}
	writeRetention(o.Out, story, talks)
	return writeTalkTables(o.Out, talks, o.cfg)
}

func turnFigures(x load.Exchange) string {
	r := x.Record
	if !r.OK {
		return fmt.Sprintf("failed (%s)", r.ErrorClass)
	}
	return fmt.Sprintf("%d messages, %d prompt tokens → first word %s, whole answer %s", x.Context, r.PromptTokens, export.MSText(*r.TTFTMS), export.MSText(*r.E2EMS))
}

// writeGrowth shows each engine's time to first word turn by turn against
// the context it was sent, and the slope: ms per 1,000 prompt tokens.
func writeGrowth(w io.Writer, talks []engineTalk) error {
	header := []string{"Turn"}
	for _, e := range talks {
		header = append(header, engineTitle(e.target.Name)+": prompt tokens → first word")
	}
	var rows [][]string
	for n := range talks[0].exchanges {
		row := []string{fmt.Sprint(n + 1)}
		for _, e := range talks {
			cell := "-"
			if n < len(e.exchanges) {
				if r := e.exchanges[n].Record; r.OK {
					cell = fmt.Sprintf("%d → %s", r.PromptTokens, export.MSText(*r.TTFTMS))
					if r.ColdStart {
						cell += " (model load)"
					}
				} else {
					cell = "failed (" + r.ErrorClass + ")"
				}
			}
			row = append(row, cell)
		}
		rows = append(rows, row)
	}
	slopes := []string{"ms per 1k prompt tokens"}
	for _, e := range talks {
		slopes = append(slopes, slopeCell(e))
	}
	rows = append(rows, slopes)
	fmt.Fprintln(w, "\nContext growth (time to first word as the conversation grows)")
	return export.RenderRows(w, header, rows)
}

// slopeCell is the least-squares slope of TTFT over prompt tokens.
func slopeCell(e engineTalk) string {
	var xs, ys []float64
	for _, x := range e.exchanges {
		if r := x.Record; r.OK && r.PromptTokens > 0 && !r.ColdStart {
			xs = append(xs, float64(r.PromptTokens))
			ys = append(ys, *r.TTFTMS)
		}
	}
	slope, ok := stats.Slope(xs, ys)
	if !ok {
		return "-"
	}
	return fmt.Sprintf("%+.1f", slope*1000)
}

func writeRetention(w io.Writer, s workload.Story, talks []engineTalk) {
	fmt.Fprintf(w, "\nContext retention (the last answer must contain %s)\n", strings.Join(quoteAll(s.Expect), " and "))
	for _, e := range talks {
		verdict := "failed: no answer to the last turn"
		if n := len(e.exchanges); n > 0 && e.exchanges[n-1].Record.OK {
			verdict = "not recalled"
			if s.Recalled(e.exchanges[n-1].Answer) {
				verdict = "recalled"
			}
		}
		fmt.Fprintf(w, "  %-8s %s\n", engineTitle(e.target.Name), verdict)
	}
}

func quoteAll(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = fmt.Sprintf("%q", x)
	}
	return out
}
