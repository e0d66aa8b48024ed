package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/load"
)

// RaceOptions is `kubectl llmbench race`.
type RaceOptions struct {
	liveOptions
	prompt   string
	scenario int
	rounds   int
}

func NewCmdRace(streams genericiooptions.IOStreams, kube *genericclioptions.ConfigFlags) *cobra.Command {
	o := &RaceOptions{liveOptions: liveOptions{IOStreams: streams, kube: kube}}
	cmd := &cobra.Command{
		Use:   "race [PROMPT]",
		Short: "Send one prompt to every engine at once and watch the answers stream side by side",
		Long: `Sends the same prompt to every engine at the same instant and shows the
answers as they stream: one column per engine (stacked on a narrow
terminal), a running clock, each engine's time to first token and tokens/s,
and a finish line saying who answered first and by how much.

Without a terminal (a pipe, a CI log) it prints plain lines instead; NO_COLOR
turns colour off. Each answer is timed exactly as a benchmark request is, but
one race is an anecdote: use run for numbers you can defend.`,
		Example: `  kubectl llmbench race --simulate "How do I fix a crashing pod?"
  kubectl llmbench race -n llm-serving --rounds 5
  kubectl llmbench race --target vllm=http://127.0.0.1:8000 --target ollama=http://127.0.0.1:11434 --scenario 2`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	o.addFlags(cmd, "race")
	cmd.Flags().IntVar(&o.rounds, "rounds", 1, "race this many times and tally who gave the first word first")
	cmd.Flags().IntVar(&o.scenario, "scenario", 1, "without PROMPT, race the first question of this built-in scenario (kubectl llmbench demo --list)")
	return cmd
}

func (o *RaceOptions) Complete(args []string) error {
	if len(args) == 1 {
		o.prompt = args[0]
	}
	return o.liveOptions.complete()
}

func (o *RaceOptions) Validate() error {
	if o.rounds < 1 || o.rounds > 100 {
		return fmt.Errorf("--rounds %d: race between 1 and 100 times", o.rounds)
	}
	if strings.TrimSpace(o.prompt) == "" && len(o.prompt) > 0 {
		return errors.New("PROMPT is empty: give a question, or leave it out to use --scenario")
	}
	return o.validate("race")
}

// request is the prompt as a chat request: the scenario's system prompt
// and first turn, or the given prompt alone.
func (o *RaceOptions) request() (engine.Request, error) {
	s, err := o.story(o.scenario)
	if err != nil {
		return engine.Request{}, err
	}
	if o.prompt == "" {
		o.prompt = strings.TrimSpace(s.Turns[0])
		return s.FirstRequest(), nil
	}
	return engine.Request{Messages: []engine.Message{{Role: "user", Content: o.prompt}}, MaxTokens: s.MaxTokens}, nil
}

func (o *RaceOptions) Run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	req, err := o.request()
	if err != nil {
		return err
	}
	clients, done, err := o.open(ctx)
	if err != nil {
		return err
	}
	defer done()
	var targets []engine.Target
	for _, c := range clients {
		targets = append(targets, c.Target)
	}
	state := newRaceState(o.prompt, targets, o.rounds)
	for range o.rounds {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		state.startRound()
		events := make(chan load.RaceEvent, 4096)
		rctx, cancel := context.WithCancel(ctx)
		reqs := make([]engine.Request, len(clients))
		for i := range reqs {
			reqs[i] = req
		}
		go load.Race(rctx, clients, reqs, events)
		if o.tty() {
			err = raceLive(rctx, cancel, o.Out, state, events)
		} else {
			racePlain(o.Out, state, events)
		}
		cancel()
		if err != nil {
			return err
		}
	}
	return nil
}

// racePlain writes one line per moment that matters, then each answer
// and the finish line: readable in a CI log.
func racePlain(w io.Writer, s *raceState, events <-chan load.RaceEvent) {
	if s.rounds > 1 {
		fmt.Fprintf(w, "Round %d of %d\n", s.round, s.rounds)
	}
	fmt.Fprintf(w, "Race: %q\n", safeText(s.prompt))
	for ev := range events {
		first := ev.Done == nil && s.lanes[ev.Lane].chunks == 0
		s.apply(ev)
		l := s.lanes[ev.Lane]
		switch {
		case first:
			fmt.Fprintf(w, "[%8s] %s: first token\n", fmtDur(ev.At), engineTitle(l.name))
		case ev.Done != nil:
			fmt.Fprintf(w, "[%8s] %s: %s\n", fmtDur(ev.At), engineTitle(l.name), l.status(ev.At))
		}
	}
	for _, l := range s.lanes {
		fmt.Fprintf(w, "\n--- %s ---\n%s\n", engineTitle(l.name), ansi.Wordwrap(strings.TrimSpace(safeText(l.text.String())), 100, " -"))
	}
	fmt.Fprintln(w)
	for _, line := range s.finishLines() {
		fmt.Fprintln(w, line)
	}
}

// raceModel is the bubbletea program of one round: it applies events,
// ticks the clock, and quits when every engine is done (or on q/Ctrl-C).
type raceModel struct {
	state    *raceState
	events   <-chan load.RaceEvent
	start    time.Time
	width    int
	renderer *lipgloss.Renderer
	cancel   context.CancelFunc
	quit     bool
}

type raceEventMsg struct {
	ev load.RaceEvent
	ok bool
}

type raceTickMsg struct{}

func (m *raceModel) next() tea.Cmd {
	return func() tea.Msg {
		ev, ok := <-m.events
		return raceEventMsg{ev, ok}
	}
}

func raceTick() tea.Cmd {
	return tea.Tick(100*time.Millisecond, func(time.Time) tea.Msg { return raceTickMsg{} })
}

func (m *raceModel) Init() tea.Cmd { return tea.Batch(m.next(), raceTick()) }

func (m *raceModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case raceEventMsg:
		if !msg.ok {
			return m, tea.Quit
		}
		m.state.apply(msg.ev)
		return m, m.next()
	case raceTickMsg:
		if !m.state.finished() {
			m.state.now = max(m.state.now, time.Since(m.start))
		}
		return m, raceTick()
	case tea.WindowSizeMsg:
		m.width = msg.Width
	case tea.KeyMsg:
		if s := msg.String(); s == "q" || s == "ctrl+c" || s == "esc" {
			m.quit = true
			m.cancel()
			// The engines' streams end at once; the remaining events
			// drain so the race's goroutines finish.
			go func() {
				for range m.events {
				}
			}()
			return m, tea.Quit
		}
	}
	return m, nil
}

func (m *raceModel) View() string { return renderRace(m.state, m.width, m.renderer) }

func raceLive(ctx context.Context, cancel context.CancelFunc, out io.Writer, s *raceState, events <-chan load.RaceEvent) error {
	m := &raceModel{state: s, events: events, start: time.Now(), width: 80, renderer: renderer(out), cancel: cancel}
	p := tea.NewProgram(m, tea.WithOutput(out), tea.WithContext(ctx))
	if _, err := p.Run(); err != nil && !errors.Is(err, tea.ErrProgramKilled) {
		return fmt.Errorf("drawing the race: %w", err)
	}
	if m.quit {
		return errors.New("race stopped")
	}
	return nil
}
