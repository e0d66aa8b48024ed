package plugin

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/llmbench/kubectl-llmbench/pkg/cluster"
)

// ValidateOptions is `kubectl llmbench validate`.
type ValidateOptions struct {
	genericiooptions.IOStreams
	kube *genericclioptions.ConfigFlags

	output        string
	services      []string
	gpuResource   string
	allNamespaces bool
	// inCluster also checks the namespace can run run --in-cluster with
	// workers Pods of image.
	inCluster bool
	workers   int
	image     string
}

func NewCmdValidate(streams genericiooptions.IOStreams, kube *genericclioptions.ConfigFlags) *cobra.Command {
	o := &ValidateOptions{IOStreams: streams, kube: kube}
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check that the engines are deployed for a fair comparison",
		Long: `Reads the engine Services in the namespace (-n, else the context's) and the
Pods and Nodes behind them, and checks what would make a benchmark compare
hardware or luck instead of engines: Pods not ready or restarting, two
engines on one node, missing or unequal GPU requests and limits, different
GPU products, unpinned images, and different models or context lengths.
With --in-cluster it also checks that the namespace can run the load
workers of run --in-cluster: your RBAC, its ResourceQuotas and its Pod
Security level.

Exits 1 when a check fails.`,
		Example: `  kubectl llmbench validate -n llm-serving
  kubectl llmbench validate -n llm-serving --service vllm --service tgi
  kubectl llmbench validate -A -o json
  kubectl llmbench validate -n llm-serving --in-cluster --workers 4`,
		Args: cobra.NoArgs,
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
	cmd.Flags().StringVarP(&o.output, "output", "o", "table", "output format: table, json or yaml")
	cmd.Flags().StringArrayVar(&o.services, "service", nil, "validate only this engine Service (NAME or NAMESPACE/NAME); repeatable. Default: every engine found")
	cmd.Flags().StringVar(&o.gpuResource, "gpu-resource", cluster.DefaultGPUResource, "extended resource that counts GPUs (e.g. amd.com/gpu, or a MIG profile)")
	cmd.Flags().BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "validate engines in every namespace")
	cmd.Flags().BoolVar(&o.inCluster, "in-cluster", false, "also check that the namespace can run run --in-cluster: RBAC, ResourceQuota, Pod Security")
	cmd.Flags().IntVar(&o.workers, "workers", 1, "with --in-cluster, the load workers to check room for")
	cmd.Flags().StringVar(&o.image, "image", "", "with --in-cluster, the worker image (default: this release's)")
	return cmd
}

func (o *ValidateOptions) Complete(_ *cobra.Command, _ []string) error {
	o.output = strings.ToLower(strings.TrimSpace(o.output))
	o.gpuResource = strings.TrimSpace(o.gpuResource)
	return nil
}

func (o *ValidateOptions) Validate() error {
	switch o.output {
	case "table", "json", "yaml":
	default:
		return fmt.Errorf("--output %q: use table, json or yaml", o.output)
	}
	if o.gpuResource == "" {
		return fmt.Errorf("--gpu-resource is empty: name the extended resource that counts GPUs, e.g. %s", cluster.DefaultGPUResource)
	}
	if o.inCluster && o.allNamespaces {
		return fmt.Errorf("--in-cluster checks one namespace: drop -A and pass -n NAMESPACE")
	}
	if o.inCluster && o.workers < 1 {
		return fmt.Errorf("--workers %d: give at least 1", o.workers)
	}
	return nil
}

func (o *ValidateOptions) Run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	ks, snap, engines, err := readEngines(ctx, o.kube, o.allNamespaces, o.services)
	if err != nil {
		return err
	}
	report := cluster.Validate(snap, engines, cluster.ValidateOptions{GPUResource: o.gpuResource})
	if o.inCluster {
		image := o.image
		if image == "" {
			image = defaultImage()
		}
		cpu, mem := cluster.WorkerResources(0, 1)
		j := cluster.LoadJob{Namespace: ks.namespace, Workers: o.workers, Image: image, CPU: cpu, Memory: mem}
		report.Checks = append(report.Checks, ks.client.ValidateInCluster(ctx, j)...)
	}
	if o.output == "table" {
		for _, n := range report.Notes {
			fmt.Fprintf(o.ErrOut, "note: %s\n", n)
		}
	}
	if err := writeValidateReport(o.Out, report, o.output); err != nil {
		return err
	}
	if n := report.Failed(); n > 0 {
		return &ExitError{Code: 1, Err: fmt.Errorf("%d check(s) failed: the comparison would not be fair; fix the layout above or pass --service to validate a subset", n)}
	}
	return nil
}

// writeValidateReport prints a report as a table with a count line, or
// as JSON or YAML.
func writeValidateReport(w io.Writer, r cluster.Report, format string) error {
	if ok, err := writeStructured(w, r, format); ok {
		return err
	}
	// Details say what to do and run long: wrap them rather than widen
	// the table past a terminal.
	t := tablewriter.NewTable(w, tablewriter.WithHeaderAutoFormat(tw.Off), tablewriter.WithRowAutoWrap(tw.WrapNormal), tablewriter.WithRowMaxWidth(80))
	t.Header("Check", "Engine", "Status", "Detail")
	for _, c := range r.Checks {
		if err := t.Append(c.Name, dashIfEmpty(c.Engine), string(c.Status), c.Detail); err != nil {
			return err
		}
	}
	if err := t.Render(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%d passed, %d warnings, %d failed\n", r.Passed(), r.Warned(), r.Failed())
	return err
}
