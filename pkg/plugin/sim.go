package plugin

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/sim"
)

// SimOptions is `kubectl llmbench sim`.
type SimOptions struct {
	genericiooptions.IOStreams
	host       string
	vllmPort   int
	tgiPort    int
	ollamaPort int
	seed       int64
	timeScale  float64
}

func NewCmdSim(streams genericiooptions.IOStreams) *cobra.Command {
	o := &SimOptions{IOStreams: streams}
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Serve simulated vLLM, TGI and Ollama engines on loopback ports",
		Long: `Serve the vLLM, TGI and Ollama wire protocols (streaming, errors, model
listing, health) from built-in simulators with a continuous-batching latency
model: prefill grows with the prompt, each token slows as more sequences run,
and requests queue beyond the engine's batch. Runs until Ctrl-C.`,
		Example: `  kubectl llmbench sim --vllm-port 8000 --tgi-port 8080 --ollama-port 11434
  kubectl llmbench run --target vllm=http://127.0.0.1:8000 --target tgi=http://127.0.0.1:8080 --target ollama=http://127.0.0.1:11434`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.host, "host", "127.0.0.1", "address to listen on (loopback by default)")
	fs.IntVar(&o.vllmPort, "vllm-port", 8000, "vLLM simulator port (0 = any free port)")
	fs.IntVar(&o.tgiPort, "tgi-port", 8080, "TGI simulator port (0 = any free port)")
	fs.IntVar(&o.ollamaPort, "ollama-port", 11434, "Ollama simulator port (0 = any free port)")
	fs.Int64Var(&o.seed, "seed", 42, "seed of the simulated text and latency jitter")
	fs.Float64Var(&o.timeScale, "time-scale", 1, "multiply every simulated latency (0.1 = ten times faster)")
	return cmd
}

func (o *SimOptions) Validate() error {
	for name, p := range map[string]int{"--vllm-port": o.vllmPort, "--tgi-port": o.tgiPort, "--ollama-port": o.ollamaPort} {
		if p < 0 || p > 65535 {
			return fmt.Errorf("%s %d: use a port from 0 to 65535", name, p)
		}
	}
	if o.timeScale <= 0 {
		return fmt.Errorf("--time-scale %g: use a number > 0", o.timeScale)
	}
	return nil
}

func (o *SimOptions) Run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	s := sim.New(sim.Options{Seed: o.seed, TimeScale: o.timeScale})
	defer s.Close()
	ports := []struct {
		t    engine.EngineType
		port int
	}{{engine.EngineVLLM, o.vllmPort}, {engine.EngineTGI, o.tgiPort}, {engine.EngineOllama, o.ollamaPort}}
	for _, p := range ports {
		url, err := s.Start(ctx, p.t, net.JoinHostPort(o.host, strconv.Itoa(p.port)))
		if err != nil {
			return fmt.Errorf("starting the %s simulator on port %d: %w; pick another with --%s-port", p.t, p.port, err, p.t)
		}
		fmt.Fprintf(o.Out, "%-7s %s\n", p.t, url)
	}
	fmt.Fprintln(o.Out, "Serving until Ctrl-C.")
	<-ctx.Done()
	return nil
}
