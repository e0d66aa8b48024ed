package plugin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/llmbench/kubectl-llmbench/pkg/cluster"
	"github.com/llmbench/kubectl-llmbench/pkg/run"
)

// WorkerOptions is `kubectl-llmbench worker`: one load worker of a run
// --in-cluster, inside a Job Pod. Hidden: the plugin starts it.
type WorkerOptions struct {
	genericiooptions.IOStreams
	planPath, outputDir, listen string
	index                       int
	node, pod                   string

	plan run.Plan
}

func NewCmdWorker(streams genericiooptions.IOStreams) *cobra.Command {
	o := &WorkerOptions{IOStreams: streams}
	cmd := &cobra.Command{
		Use:    "worker",
		Short:  "Run one load worker of run --in-cluster (started by the plugin in a Job Pod)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Complete(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.planPath, "plan", "/etc/llmbench/plan.json", "the run's plan, as the plugin wrote it into the Job's ConfigMap")
	fs.StringVar(&o.outputDir, "output-dir", "/var/lib/llmbench", "folder for the worker's journal")
	fs.StringVar(&o.listen, "listen", ":9090", "address of the worker's API (status, journal, start)")
	fs.IntVar(&o.index, "index", -1, "the worker's index (default $JOB_COMPLETION_INDEX)")
	fs.StringVar(&o.node, "node", os.Getenv("NODE_NAME"), "the node it runs on (default $NODE_NAME)")
	fs.StringVar(&o.pod, "pod", os.Getenv("POD_NAME"), "its Pod (default $POD_NAME)")
	return cmd
}

func (o *WorkerOptions) Complete() error {
	if o.index < 0 {
		v := os.Getenv("JOB_COMPLETION_INDEX")
		i, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("--index not given and $JOB_COMPLETION_INDEX is %q: the worker runs in an Indexed Job's Pod", v)
		}
		o.index = i
	}
	b, err := os.ReadFile(o.planPath)
	if err != nil {
		return fmt.Errorf("--plan: %w", err)
	}
	o.plan, err = run.DecodePlan(b)
	return err
}

func (o *WorkerOptions) Run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	// SIGTERM is the Pod being deleted (the plugin's Ctrl-C, a drain):
	// stop sending and close the journal.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(o.ErrOut, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if key := os.Getenv(run.APIKeyEnv); key != "" {
		if o.plan.APIKeyTarget != "" {
			key = o.plan.APIKeyTarget + "=" + key
		}
		if err := applyAPIKeys(o.plan.Targets, key, o.ErrOut); err != nil {
			return err
		}
	}
	token := os.Getenv(cluster.ControlTokenEnv)
	if token == "" {
		return fmt.Errorf("$%s is not set: the worker answers only the plugin that started it, which gives it a token through the Job's Secret", cluster.ControlTokenEnv)
	}
	w, err := run.NewWorker(run.WorkerOptions{Plan: o.plan, Index: o.index, Node: o.node, Pod: o.pod, Dir: o.outputDir, Token: token, Log: log})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("--listen %s: %w", o.listen, err)
	}
	srv := &http.Server{Handler: w.Handler(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("load worker listening", "index", o.index, "of", o.plan.Workers, "addr", ln.Addr().String(), "node", o.node)
	runErr := w.Run(ctx)
	// The last answers (a /release, a final journal read) are let out.
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(sctx)
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Warn("worker API", "error", err)
	}
	return runErr
}
