package plugin

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/mattn/go-isatty"
	"github.com/muesli/termenv"
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
	"github.com/llmbench/kubectl-llmbench/templates"
)

// liveOptions is what race, demo, inspect and conversation share: the
// engines (simulators, targets or discovery), an optional config file,
// and how the terminal is used. They send a handful of requests and show
// them; they write no run folder.
type liveOptions struct {
	genericiooptions.IOStreams
	kube *genericclioptions.ConfigFlags
	engineSel
	file      string
	maxTokens int
	timeout   time.Duration
	plain     bool
	noWarmup  bool

	cfg     workload.Config
	stories []workload.Story
}

func (o *liveOptions) addFlags(cmd *cobra.Command, verb string) {
	fs := cmd.Flags()
	o.engineSel.addFlags(fs, verb)
	fs.StringVarP(&o.file, "filename", "f", "", "config file (YAML): services.manual_urls, services.namespace, economics")
	fs.IntVar(&o.maxTokens, "max-tokens", 0, "output tokens per answer (default: the scenario's own)")
	fs.DurationVar(&o.timeout, "timeout", 2*time.Minute, "give up on an answer after this long")
	fs.BoolVar(&o.plain, "plain", false, "plain line output even on a terminal (it is the default when stdout is not one)")
	fs.BoolVar(&o.noWarmup, "no-warmup", false, "skip the untimed warm-up request each engine gets first (see a model load as a user would)")
}

func (o *liveOptions) complete() error {
	o.cfg = workload.Default()
	if o.file != "" {
		if err := o.cfg.LoadFile(o.file); err != nil {
			return fmt.Errorf("-f: %w", err)
		}
	}
	if err := o.cfg.Economics.Validate(); err != nil {
		return err
	}
	if err := o.cfg.HumanImpact.Validate(); err != nil {
		return err
	}
	if o.maxTokens < 0 {
		return fmt.Errorf("--max-tokens %d: give a positive number of tokens", o.maxTokens)
	}
	if o.timeout <= 0 {
		return fmt.Errorf("--timeout %s: give a positive duration such as 2m", o.timeout)
	}
	var err error
	if o.stories, err = workload.LoadStories(templates.Scenarios, "scenarios"); err != nil {
		return fmt.Errorf("built-in scenarios: %w", err)
	}
	return o.engineSel.complete(o.cfg, o.kube, o.ErrOut)
}

// open starts the simulators or reaches the cluster's engines, checks
// each answers, and returns one client per engine; done releases them.
func (o *liveOptions) open(ctx context.Context) ([]*engine.Client, func(), error) {
	log := slog.New(slog.NewTextHandler(o.ErrOut, &slog.HandlerOptions{Level: slog.LevelWarn}))
	_, done, err := o.reach(ctx, o.kube, o.cfg.Services.Namespace, 42, o.ErrOut, log)
	if err != nil {
		return nil, nil, err
	}
	hc := engine.NewHTTPClient(engine.HTTPOptions{InsecureSkipVerify: o.insecure})
	var clients []*engine.Client
	for _, t := range o.resolved {
		c := hc
		if t.HTTP != nil {
			c = t.HTTP
		}
		info, err := engine.Probe(ctx, c, t)
		if err == nil {
			t.Model, err = engine.ResolveModel(t, info)
		}
		if err != nil {
			fmt.Fprintf(o.ErrOut, "engine %s skipped: %v\n", t.Name, err)
			continue
		}
		client := &engine.Client{HTTP: c, Target: t, Timeout: o.timeout, Clock: engine.NewClock()}
		if !o.noWarmup {
			// A model load (Ollama loads on first use) is not the engine's
			// speed: one short untimed request pays it.
			var rec engine.Record
			client.Do(ctx, engine.Request{Messages: []engine.Message{{Role: "user", Content: "Hello"}}, MaxTokens: 1}, time.Now(), &rec)
			if !rec.OK {
				fmt.Fprintf(o.ErrOut, "engine %s: the warm-up request failed (%s: %s); going on\n", t.Name, rec.ErrorClass, rec.Error)
			}
		}
		clients = append(clients, client)
	}
	if len(clients) == 0 {
		done()
		return nil, nil, fmt.Errorf("no engine answered its probe; check the URLs above (or try --simulate)")
	}
	return clients, done, nil
}

// tty reports whether the live view may redraw the terminal.
func (o *liveOptions) tty() bool {
	if o.plain {
		return false
	}
	f, ok := o.Out.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// renderer draws for w: colour when w is a terminal that has it, none
// with NO_COLOR or in a pipe (termenv reads both).
func renderer(w io.Writer) *lipgloss.Renderer {
	r := lipgloss.NewRenderer(w)
	if os.Getenv("NO_COLOR") != "" {
		r.SetColorProfile(termenv.Ascii)
	}
	return r
}

// begin is the start of demo, inspect and conversation: the scenario,
// then the engines, reached and warmed up; done releases them.
func (o *liveOptions) begin(ctx context.Context, scenario int) (context.Context, workload.Story, []*engine.Client, func(), error) {
	if ctx == nil {
		ctx = context.Background()
	}
	story, err := o.story(scenario)
	if err != nil {
		return ctx, story, nil, nil, err
	}
	clients, done, err := o.open(ctx)
	return ctx, story, clients, done, err
}

func (o *liveOptions) story(n int) (workload.Story, error) {
	s, err := workload.FindStory(o.stories, n)
	if err != nil {
		return s, fmt.Errorf("--scenario: %w", err)
	}
	if o.maxTokens > 0 {
		s.MaxTokens = o.maxTokens
	}
	return s, nil
}
