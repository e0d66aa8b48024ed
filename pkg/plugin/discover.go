package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/cluster"
	"github.com/llmbench/kubectl-llmbench/pkg/export"
	"github.com/llmbench/kubectl-llmbench/pkg/placement"
)

// DiscoverOptions is `kubectl llmbench discover`.
type DiscoverOptions struct {
	genericiooptions.IOStreams
	kube *genericclioptions.ConfigFlags

	cf       clusterFlags
	output   string
	noProbe  bool
	insecure bool

	method placement.Method
}

// DiscoveredEngine is one row of discover's output.
type DiscoveredEngine struct {
	cluster.Engine
	Access        placement.Method `json:"access,omitempty"`
	URL           string           `json:"url,omitempty"`
	AccessDetail  string           `json:"access_detail,omitempty"`
	Health        string           `json:"health"`
	Models        []string         `json:"models,omitempty"`
	EngineVersion string           `json:"engine_version,omitempty"`
	Ways          []cluster.Way    `json:"ways"`
	// Metrics is where the engine's own Prometheus metrics were found;
	// GPUMetrics the DCGM exporter on its node. Both absent: none.
	Metrics    *cluster.MetricsPlace `json:"metrics,omitempty"`
	GPUMetrics *cluster.GPUExporter  `json:"gpu_metrics,omitempty"`
}

func NewCmdDiscover(streams genericiooptions.IOStreams, kube *genericclioptions.ConfigFlags) *cobra.Command {
	o := &DiscoverOptions{IOStreams: streams, kube: kube}
	cmd := &cobra.Command{
		Use:   "discover",
		Short: "Find vLLM, TGI and Ollama in a namespace and how to reach them",
		Long: `Lists the engine Services in the namespace (-n, else the context's), how each
was recognised (llmbench.io/engine label, chart labels, KServe, image, name),
how it can be reached from this machine (OpenShift Route, Ingress, NodePort,
port-forward, API server proxy), and confirms each with a probe that also
reads its model and engine version.`,
		Example: `  kubectl llmbench discover -n llm-serving
  kubectl llmbench discover -A -o json
  kubectl llmbench discover -n llm-serving --access port-forward`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Complete(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	o.cf.add(cmd.Flags(), true)
	cmd.Flags().StringVarP(&o.output, "output", "o", "table", "output format: table, json or yaml")
	cmd.Flags().BoolVar(&o.noProbe, "no-probe", false, "list what the cluster shows without contacting the engines")
	cmd.Flags().BoolVar(&o.insecure, "insecure-skip-engine-tls-verify", false, "do not verify the engines' TLS certificates when probing; insecure")
	return cmd
}

func (o *DiscoverOptions) Complete() error {
	var err error
	if o.method, err = o.cf.method(); err != nil {
		return err
	}
	switch o.output {
	case "table", "json", "yaml":
	default:
		return fmt.Errorf("--output %q: use table, json or yaml", o.output)
	}
	if o.kube != nil && o.kube.Insecure != nil && *o.kube.Insecure {
		o.insecure = true
	}
	return nil
}

func (o *DiscoverOptions) Run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	ks, snap, engines, err := readEngines(ctx, o.kube, o.cf.allNamespaces, o.cf.services)
	if err != nil {
		return err
	}
	ns := snap.Namespace
	for _, n := range snap.Notes {
		fmt.Fprintf(o.ErrOut, "note: %s\n", n)
	}
	if o.insecure && !o.noProbe {
		fmt.Fprintln(o.ErrOut, "warning: TLS verification of the engines is off; use it only for self-signed test endpoints")
	}
	rows := make([]DiscoveredEngine, 0, len(engines))
	for _, e := range engines {
		row := DiscoveredEngine{Engine: *e, Ways: snap.Ways(e, ks.client.REST.Host)}
		if m, ok := snap.Metrics(e); ok {
			row.Metrics = &m
		}
		if g, ok := snap.GPUExporterFor(e); ok {
			row.GPUMetrics = &g
		}
		if o.noProbe {
			row.Health = "not probed"
			for _, w := range row.Ways {
				if o.method == placement.MethodAuto || w.Method == o.method {
					row.Access, row.URL, row.AccessDetail = w.Method, w.URL, w.Detail
					break
				}
			}
		} else {
			r, err := ks.client.Reach(ctx, snap, e, cluster.ReachOptions{Method: o.method, HTTP: engine.NewHTTPClient(engine.HTTPOptions{InsecureSkipVerify: o.insecure})})
			if err != nil {
				row.Health = "unreachable: " + err.Error()
			} else {
				row.Health = "ok"
				row.Access, row.URL, row.AccessDetail = r.Way.Method, r.Way.URL, r.Way.Detail
				row.Models, row.EngineVersion = r.Info.Models, r.Info.Version
				if r.Way.Method == placement.MethodPortForward {
					// The tunnel closes when discover ends; run opens its own.
					row.URL, row.AccessDetail = "", fmt.Sprintf("tunnel to pod %v", r.Forward.Pod.Load())
				}
				r.Close()
			}
		}
		rows = append(rows, row)
	}
	if len(rows) == 0 && o.output == "table" {
		where := fmt.Sprintf("namespace %q", ns)
		if ns == "" {
			where = "any namespace"
		}
		fmt.Fprintf(o.ErrOut, "no vLLM, TGI or Ollama Service found in %s; label yours llmbench.io/engine=vllm|tgi|ollama or pass -n\n", where)
		return nil
	}
	return writeDiscovered(o.Out, rows, o.output)
}

func writeDiscovered(w io.Writer, rows []DiscoveredEngine, format string) error {
	if ok, err := writeStructured(w, rows, format); ok {
		return err
	}
	t := export.NewTable(w)
	t.Header("Engine", "Namespace", "Service", "Found by", "Access", "URL", "Health", "Model", "Version", "Ready", "Metrics", "GPU metrics")
	for _, r := range rows {
		url := r.URL
		if url == "" && r.Access == placement.MethodPortForward {
			url = "(" + r.AccessDetail + ")"
		}
		if err := t.Append(string(r.Type), r.Namespace, r.Service, string(r.Evidence), dashIfEmpty(string(r.Access)), dashIfEmpty(url),
			export.Truncate(r.Health, 60), dashIfEmpty(strings.Join(r.Models, ", ")), dashIfEmpty(r.EngineVersion), fmt.Sprintf("%d/%d", r.ReadyPods, r.TotalPods),
			metricsCell(r.Metrics), gpuCell(r.GPUMetrics)); err != nil {
			return err
		}
	}
	return t.Render()
}

func metricsCell(m *cluster.MetricsPlace) string {
	if m == nil {
		return "none"
	}
	return m.String()
}

func gpuCell(g *cluster.GPUExporter) string {
	if g == nil {
		return "-"
	}
	return g.String()
}

func writeJSONTo(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeStructured writes v as JSON or YAML when format asks for one; ok
// is false for any other format (a table: the caller's to draw).
func writeStructured(w io.Writer, v any, format string) (ok bool, err error) {
	switch format {
	case "json":
		return true, writeJSONTo(w, v)
	case "yaml":
		b, err := yaml.Marshal(v)
		if err != nil {
			return true, err
		}
		_, err = w.Write(b)
		return true, err
	}
	return false, nil
}
