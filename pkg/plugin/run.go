package plugin

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/load"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
	"github.com/llmbench/kubectl-llmbench/pkg/export"
)

// apiKeyEnv is read when --api-key is not given.
const apiKeyEnv = "LLMBENCH_API_KEY"

// RunOptions is `kubectl llmbench run`.
type RunOptions struct {
	genericiooptions.IOStreams
	kube *genericclioptions.ConfigFlags

	engineSel
	flags    benchFlags
	parallel bool
	// scrapeInterval is --scrape-interval (0: no engine metrics).
	scrapeInterval time.Duration
	gpuMetricsFlag []string
	outputDir      string
	dryRun         bool
	verbose        bool
	noReport       bool
	format         []string
	// plain turns the dashboard off on a terminal; metricsAddr is
	// --metrics-addr.
	plain       bool
	metricsAddr string
	view        *runView

	baseline    string // --baseline as given
	baselineDir string

	// ic is --in-cluster and its flags; connectTo is --connect-to.
	ic            inClusterFlags
	connectToFlag []string
	connectTo     map[string]string

	findCapacity string  // "", rate or concurrency
	capacityFrom float64 // first level of the search

	// Filled by Complete.
	cfg       workload.Config
	scenarios []workload.Scenario
	// capacity is --find-capacity's search, shaped like the first load
	// scenario, which it takes out of scenarios.
	capacity *load.CapacitySearch
	weights  workload.Weights
	prompts  []engine.Request
	dataset  *workload.Dataset
	// followUps are the dataset's later user turns, by prompt.
	followUps [][]string
	formats   []export.Format
}

func NewCmdRun(streams genericiooptions.IOStreams, kube *genericclioptions.ConfigFlags) *cobra.Command {
	o := &RunOptions{IOStreams: streams, kube: kube}
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Benchmark engines and write a results folder",
		Example: `  # No cluster needed: built-in simulators of vLLM, TGI and Ollama
  kubectl llmbench run --simulate --preset quick

  # Find vLLM, TGI and Ollama in a namespace and reach them (Route, Ingress, NodePort or port-forward)
  kubectl llmbench run -n llm-serving --preset standard

  # Engines you can reach (port-forwards, routes, local servers)
  kubectl llmbench run --target vllm=http://127.0.0.1:8000 --target tgi=http://127.0.0.1:8080 \
      --target ollama=http://127.0.0.1:11434 --model ollama=llama3.2 --preset standard

  # The load from 4 Pods inside the cluster: no tunnel in the numbers
  kubectl llmbench run -n llm-serving --preset standard --in-cluster --workers 4

  # 200 Poisson arrivals per second for 30 s against one OpenAI-compatible server
  kubectl llmbench run --target mine=openai+https://llm.example.com --arrival poisson --rate 200 --duration 30s`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Complete(cmd); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	o.flags.add(cmd)
	fs := cmd.Flags()
	o.engineSel.addFlags(fs, "benchmark")
	fs.StringVar(&o.findCapacity, "find-capacity", "", "search each engine's highest load that still meets --slo: rate (requests/s, the default) or concurrency (users); doubles from --capacity-from until a miss, then bisects")
	fs.Lookup("find-capacity").NoOptDefVal = workload.LevelRate
	fs.Float64Var(&o.capacityFrom, "capacity-from", 1, "first level of --find-capacity")
	fs.StringVar(&o.baseline, "baseline", "", "an earlier run (id or folder) to compare with: significant changes go into the reports and comparison.json")
	fs.BoolVar(&o.parallel, "parallel", false, "benchmark all engines at once instead of one after another")
	fs.DurationVar(&o.scrapeInterval, "scrape-interval", time.Second, "scrape each vLLM and TGI engine's own /metrics this often during the run (and before and after it) into metrics.jsonl; 0 turns it off")
	fs.StringArrayVar(&o.gpuMetricsFlag, "gpu-metrics", nil, "scrape a DCGM exporter's /metrics for the engines' GPU utilisation, memory and power: URL for every engine or TARGET=URL; repeatable. Discovery finds the exporter on the engines' nodes by itself")
	o.ic.add(fs)
	fs.StringArrayVar(&o.connectToFlag, "connect-to", nil, "connect to TO_HOST:TO_PORT whenever a URL names HOST:PORT (curl's --connect-to HOST:PORT:TO_HOST:TO_PORT); the URL, Host header and TLS name stay; repeatable")
	fs.StringVar(&o.outputDir, "output-dir", "results", "folder that receives the run folder")
	fs.BoolVar(&o.dryRun, "dry-run", false, "validate the configuration and print the plan without sending anything")
	fs.BoolVarP(&o.verbose, "verbose", "v", false, "log progress details to stderr")
	fs.StringVar(&o.metricsAddr, "metrics-addr", "", "serve the run's own Prometheus metrics (OpenMetrics) at http://ADDR/metrics while it runs, e.g. 127.0.0.1:9464 (port 0 picks one)")
	fs.BoolVar(&o.plain, "plain", false, "a plain progress line per engine every 5 s even on a terminal (the default when stderr is not one); the live dashboard otherwise")
	fs.BoolVar(&o.noReport, "no-report", false, "write only the journal, manifest and summary.json (regenerate the rest later with kubectl llmbench report)")
	fs.StringSliceVar(&o.format, "format", []string{"all"}, "exports and reports to write at the end: "+strings.Join(export.FormatNames(), ", ")+" or all")
	return cmd
}

// Complete turns flags and files into typed configuration.
func (o *RunOptions) Complete(cmd *cobra.Command) error {
	cfg, err := o.flags.config(cmd)
	if err != nil {
		return err
	}
	o.cfg = cfg
	if err := o.engineSel.complete(cfg, o.kube, o.ErrOut); err != nil {
		return err
	}
	if o.gpuMetrics, err = parseGPUMetrics(o.gpuMetricsFlag); err != nil {
		return err
	}
	if o.connectTo, err = parseConnectTo(o.connectToFlag); err != nil {
		return err
	}
	if o.formats, err = export.SelectFormats(o.format); err != nil {
		return fmt.Errorf("--format: %w", err)
	}
	if o.scenarios, err = o.cfg.Scenarios(o.flags.suite); err != nil {
		return fmt.Errorf("invalid configuration:\n%w", indent(err))
	}
	if d := cfg.Workload.Dataset; d != nil {
		// Read whole before anything is sent: a bad record fails now.
		if o.dataset, err = workload.LoadDataset(*d, o.seed()); err != nil {
			return err
		}
		o.prompts, o.followUps = datasetPrompts(o.dataset, cfg.Workload)
	} else if o.prompts, err = loadPrompts(cfg.Workload); err != nil {
		return err
	}
	if o.weights, err = o.cfg.RankWeights(); err != nil {
		return err
	}
	if o.findCapacity != "" {
		o.capacity = &load.CapacitySearch{Kind: o.findCapacity, From: o.capacityFrom}
		o.scenarios = splitCapacity(o.scenarios, o.capacity)
	}
	if o.baseline != "" {
		// Checked before anything is measured, not after.
		if o.baselineDir, err = resolveBaseline(o.outputDir, o.baseline); err != nil {
			return err
		}
	}
	return nil
}

// splitCapacity takes the first load scenario out of scenarios as the
// template of every capacity level.
func splitCapacity(scenarios []workload.Scenario, c *load.CapacitySearch) []workload.Scenario {
	var rest []workload.Scenario
	found := false
	for _, s := range scenarios {
		if s.Suite == workload.SuiteLoad && !found {
			c.Template, found = s, true
			continue
		}
		if s.Suite != workload.SuiteLoad {
			rest = append(rest, s)
		}
	}
	return rest
}

// Validate checks everything that can be checked before sending.
func (o *RunOptions) Validate() error {
	if err := o.engineSel.validate("benchmark"); err != nil {
		return err
	}
	if o.metricsAddr != "" {
		if _, port, err := net.SplitHostPort(o.metricsAddr); err != nil || port == "" {
			return fmt.Errorf("--metrics-addr %q: give host:port, e.g. 127.0.0.1:9464 (0.0.0.0:9464 for a Prometheus on another machine)", o.metricsAddr)
		}
	}
	if o.scrapeInterval < 0 {
		return fmt.Errorf("--scrape-interval %s: use a duration ≥ 0, like 1s (0 turns scraping off)", o.scrapeInterval)
	}
	if err := o.cfg.Economics.Validate(); err != nil {
		return err
	}
	if err := o.cfg.HumanImpact.Validate(); err != nil {
		return err
	}
	if o.capacity != nil {
		if err := o.validateCapacity(); err != nil {
			return err
		}
	}
	if o.outputDir == "" {
		return errors.New("--output-dir: empty; give a folder for the results")
	}
	return o.validateInCluster()
}

// validateCapacity checks --find-capacity and its template.
func (o *RunOptions) validateCapacity() error {
	c := o.capacity
	if c.Kind != workload.LevelRate && c.Kind != workload.LevelConcurrency {
		return fmt.Errorf("--find-capacity %q: use rate or concurrency", c.Kind)
	}
	if o.cfg.TestScenarios.Sweep != "" {
		return errors.New("--find-capacity and --sweep both choose the load levels; use one")
	}
	if o.parallel {
		return errors.New("--find-capacity runs engines one after another; drop --parallel")
	}
	if c.From <= 0 || (c.Kind == workload.LevelConcurrency && c.From != float64(int(c.From))) {
		return fmt.Errorf("--capacity-from %g: give a level > 0 (whole users for concurrency)", c.From)
	}
	if c.Template.Name == "" {
		return errors.New("--find-capacity needs a load scenario to shape its levels: use a preset with one (quick, standard) and --suite all or load")
	}
	if c.Template.SLO == nil {
		return errors.New("--find-capacity needs an SLO to judge each level: pass --slo, e.g. --slo ttft_p95=500ms,tpot_p95=50ms,error_rate=1%")
	}
	return nil
}

func indent(err error) error {
	lines := strings.Split(err.Error(), "\n")
	for i, l := range lines {
		lines[i] = "  " + l
	}
	return errors.New(strings.Join(lines, "\n"))
}

func (o *RunOptions) timeout() time.Duration {
	return time.Duration(o.cfg.Workload.TimeoutSeconds * float64(time.Second))
}
