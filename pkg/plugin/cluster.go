package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/cluster"
	"github.com/llmbench/kubectl-llmbench/pkg/placement"
)

// clusterFlags are the discovery and access flags of run and discover.
type clusterFlags struct {
	access        string
	services      []string
	allNamespaces bool
	apiKeySecret  string
	gpuResource   string
}

func (f *clusterFlags) add(fs *pflag.FlagSet, withAllNamespaces bool) {
	fs.StringVar(&f.access, "access", "auto", "how to reach discovered engines: auto (tries route, ingress, nodeport, port-forward, proxy in order), route, ingress, nodeport, port-forward or proxy")
	fs.StringArrayVar(&f.services, "service", nil, "benchmark this engine Service (NAME or NAMESPACE/NAME) when discovery finds more than one of a kind; repeatable")
	fs.StringVar(&f.gpuResource, "gpu-resource", "nvidia.com/gpu", "extended resource that counts GPUs (e.g. amd.com/gpu, or a MIG profile)")
	if withAllNamespaces {
		fs.BoolVarP(&f.allNamespaces, "all-namespaces", "A", false, "discover engines in every namespace")
	}
}

func (f *clusterFlags) method() (placement.Method, error) {
	m, err := placement.ParseMethod(f.access)
	if err != nil {
		return "", fmt.Errorf("--access: %w", err)
	}
	return m, nil
}

// kubeSession is a connection to the cluster of the current kubeconfig.
type kubeSession struct {
	client    *cluster.Client
	namespace string
	context   string
	server    string
}

// openKube loads the kubeconfig with kubectl's own loaders (so --context,
// --kubeconfig, exec and OIDC auth plugins behave as in kubectl).
// namespace: -n, else the config file's services.namespace, else the
// context's, else "default".
func openKube(kube *genericclioptions.ConfigFlags, configNamespace string) (*kubeSession, error) {
	if kube == nil {
		return nil, errors.New("no kubeconfig flags")
	}
	loader := kube.ToRawKubeConfigLoader()
	ns, _, err := loader.Namespace()
	if err != nil {
		return nil, fmt.Errorf("reading the kubeconfig: %w; pass --kubeconfig or --context, or use --target NAME=URL / --simulate without a cluster", err)
	}
	// With no kubeconfig at all client-go falls back to localhost:8080,
	// which only confuses; say what is missing instead.
	if raw, err := loader.RawConfig(); err == nil && len(raw.Contexts) == 0 && (kube.APIServer == nil || *kube.APIServer == "") {
		where := "~/.kube/config"
		if env := os.Getenv("KUBECONFIG"); env != "" {
			where = "$KUBECONFIG (" + env + ")"
		}
		if kube.KubeConfig != nil && *kube.KubeConfig != "" {
			where = *kube.KubeConfig
		}
		return nil, fmt.Errorf("no cluster to talk to: %s holds no context; pass --kubeconfig or --context (without a cluster, benchmark URLs with run --target NAME=URL, or try run --simulate)", where)
	}
	if configNamespace != "" && (kube.Namespace == nil || *kube.Namespace == "") {
		ns = configNamespace
	}
	cfg, err := kube.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("no usable kubeconfig (%w): pass --kubeconfig or --context, or benchmark without a cluster with --target NAME=URL or --simulate", err)
	}
	c, err := cluster.NewClient(cfg)
	if err != nil {
		return nil, err
	}
	s := &kubeSession{client: c, namespace: ns, server: redactHost(cfg.Host)}
	if raw, err := loader.RawConfig(); err == nil {
		s.context = raw.CurrentContext
		if kube.Context != nil && *kube.Context != "" {
			s.context = *kube.Context
		}
	}
	return s, nil
}

// readEngines reads the namespace (every namespace with allNamespaces)
// and the engines in it, or only those --service names.
func readEngines(ctx context.Context, kube *genericclioptions.ConfigFlags, allNamespaces bool, services []string) (*kubeSession, *cluster.Snapshot, []*cluster.Engine, error) {
	ks, err := openKube(kube, "")
	if err != nil {
		return nil, nil, nil, err
	}
	ns := ks.namespace
	if allNamespaces {
		ns = ""
	}
	snap, err := ks.client.Read(ctx, ns)
	if err != nil {
		return nil, nil, nil, err
	}
	engines := snap.Engines()
	if len(services) > 0 {
		// Only an explicit pick: discover and validate show every engine
		// they find, several of a kind included.
		if engines, _, err = cluster.Select(engines, services); err != nil {
			return nil, nil, nil, err
		}
	}
	return ks, snap, engines, nil
}

func redactHost(h string) string {
	u, err := url.Parse(h)
	if err != nil {
		return ""
	}
	u.User = nil
	u.RawQuery = ""
	return u.String()
}

// discovered is what discovery found and reached for a run.
type discovered struct {
	snap    *cluster.Snapshot
	reached []*cluster.Reached
	// targets are the target names of reached, in order.
	targets []string
	names   []string
	notes   []string
}

func (d *discovered) Close() {
	if d == nil {
		return
	}
	for _, r := range d.reached {
		r.Close()
	}
}

// discoverTargets finds the engines in the namespace, picks one per kind
// (or those named by --service) and reaches each through --access.
func discoverTargets(ctx context.Context, ks *kubeSession, f clusterFlags, apiKey string, hc engine.HTTPOptions, log *slog.Logger, warn io.Writer, probe bool) ([]engine.Target, *discovered, error) {
	method, err := f.method()
	if err != nil {
		return nil, nil, err
	}
	d, picked, err := findEngines(ctx, ks, f.services, warn)
	if err != nil {
		return nil, nil, err
	}
	if !probe {
		return plannedTargets(ks, d.snap, picked, method, d, warn)
	}
	var targets []engine.Target
	var failed []string
	for i, e := range picked {
		// The probe carries the key this target will use (--api-key may
		// name targets, which only now have names).
		probe := []engine.Target{{Name: d.names[i]}}
		_ = applyAPIKeys(probe, apiKey, io.Discard)
		r, err := ks.client.Reach(ctx, d.snap, e, cluster.ReachOptions{Method: method, HTTP: engine.NewHTTPClient(hc), Log: log, APIKey: probe[0].APIKey, Metrics: true})
		if err != nil {
			failed = append(failed, err.Error())
			continue
		}
		for _, t := range r.Tried {
			fmt.Fprintf(warn, "note: %s: no answer through %s; using %s\n", d.names[i], t, r.Way.Method)
		}
		for _, n := range r.MetricsNotes {
			fmt.Fprintf(warn, "note: %s: %s\n", d.names[i], n)
		}
		d.reached = append(d.reached, r)
		d.targets = append(d.targets, d.names[i])
		t := r.Target(d.names[i])
		targets = append(targets, t)
		fmt.Fprintf(warn, "found %s: %s via %s %s\n", t.Name, e.Key(), r.Way.Method, r.Way.URL)
	}
	if len(targets) == 0 {
		d.Close()
		return nil, nil, fmt.Errorf("found %d engine(s) but reached none:\n  %s", len(picked), strings.Join(failed, "\n  "))
	}
	for _, f := range failed {
		fmt.Fprintf(warn, "warning: skipped: %s\n", f)
	}
	return targets, d, nil
}

// findEngines reads the namespace and picks one engine per kind (or those
// --service names), saying on warn what it noted on the way.
func findEngines(ctx context.Context, ks *kubeSession, services []string, warn io.Writer) (*discovered, []*cluster.Engine, error) {
	snap, err := ks.client.Read(ctx, ks.namespace)
	if err != nil {
		return nil, nil, err
	}
	for _, n := range snap.Notes {
		fmt.Fprintf(warn, "note: %s\n", n)
	}
	all := snap.Engines()
	if len(all) == 0 {
		return nil, nil, fmt.Errorf("no vLLM, TGI or Ollama Service found in namespace %q: check -n/--context, label the Services llmbench.io/engine=vllm|tgi|ollama, or pass --target NAME=URL", ks.namespace)
	}
	picked, notes, err := cluster.Select(all, services)
	if err != nil {
		return nil, nil, err
	}
	for _, n := range notes {
		fmt.Fprintf(warn, "note: %s\n", n)
	}
	return &discovered{snap: snap, notes: notes, names: cluster.TargetNames(picked)}, picked, nil
}

// info is the cluster part of the run manifest.
func (d *discovered) info(ks *kubeSession, gpuResource string) *placement.Info {
	in := &placement.Info{Context: ks.context, Server: ks.server, ServerVersion: ks.client.ServerVersion(), Namespace: ks.namespace}
	in.Notes = append(in.Notes, d.snap.Notes...)
	in.Notes = append(in.Notes, d.notes...)
	for i, r := range d.reached {
		in.Engines = append(in.Engines, d.snap.Describe(d.targets[i], r, gpuResource))
	}
	return in
}

// apiKeyFromSecret reads --api-key-secret [TARGET=]NAME/KEY with the
// user's RBAC; the value stays in memory.
func apiKeyFromSecret(ctx context.Context, ks *kubeSession, spec string) (string, error) {
	target, name, key, err := parseSecretRef(spec)
	if err != nil {
		return "", err
	}
	v, err := ks.client.SecretValue(ctx, ks.namespace, name, key)
	if err != nil {
		return "", fmt.Errorf("--api-key-secret %q: %w", spec, err)
	}
	if target != "" {
		return target + "=" + v, nil
	}
	return v, nil
}

// parseSecretRef reads --api-key-secret [TARGET=]SECRET/KEY.
func parseSecretRef(spec string) (target, name, key string, err error) {
	target, ref, scoped := strings.Cut(spec, "=")
	if !scoped {
		ref, target = spec, ""
	}
	name, key, ok := strings.Cut(ref, "/")
	if !ok || name == "" || key == "" {
		return "", "", "", fmt.Errorf("--api-key-secret %q: write SECRET/KEY (e.g. vllm-api/token) or TARGET=SECRET/KEY", spec)
	}
	return target, name, key, nil
}

// plannedTargets are the engines with the way in that would be tried
// first, for a dry run: nothing is probed and no tunnel opened.
func plannedTargets(ks *kubeSession, snap *cluster.Snapshot, picked []*cluster.Engine, method placement.Method, d *discovered, warn io.Writer) ([]engine.Target, *discovered, error) {
	var targets []engine.Target
	for i, e := range picked {
		// The first way Reach would try.
		if ways := snap.WaysVia(e, ks.client.REST.Host, method); len(ways) > 0 {
			w := ways[0]
			access := string(w.Method) + ", the first way to try; not probed in a dry run"
			if w.URL == "" {
				access = string(w.Method) + " (" + w.Detail + "), the first way to try; not opened in a dry run"
			}
			t := engine.Target{Name: d.names[i], Type: e.Type, BaseURL: w.URL, API: engine.DefaultAPI(e.Type), Access: access}
			// What a run would scrape, as the plan says it; nothing opened.
			if m, ok := snap.Metrics(e); ok {
				u := strings.TrimSuffix(w.URL, "/") + m.Path
				if !m.OnAPIPort || w.URL == "" {
					u = fmt.Sprintf("port %d%s", m.Port, m.Path)
				}
				t.Metrics = &engine.MetricsEndpoint{URL: u, Found: m.Found + "; not opened in a dry run"}
			}
			if g, ok := snap.GPUExporterFor(e); ok {
				t.GPUMetrics = &engine.MetricsEndpoint{URL: fmt.Sprintf("port %d/metrics", g.Port), Found: g.String() + "; not opened in a dry run"}
			}
			targets = append(targets, t)
			fmt.Fprintf(warn, "found %s: %s (not probed: dry run)\n", d.names[i], e.Key())
		}
	}
	if len(targets) == 0 {
		return nil, nil, fmt.Errorf("found %d engine(s) but no way in to any of them with --access %s", len(picked), method)
	}
	return targets, d, nil
}
