package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"

	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/klog/v2"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/sim"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
	"github.com/llmbench/kubectl-llmbench/pkg/placement"
)

// engineSel is how a command picks its engines: the built-in simulators,
// explicit targets, or discovery in a namespace. run and the live
// commands (race, demo, inspect, conversation) share it.
type engineSel struct {
	targets  []string
	engines  []string
	models   []string
	simulate bool
	apiKey   string
	insecure bool
	cf       clusterFlags

	// useCluster: no explicit targets, so engines come from discovery.
	useCluster bool
	// planOnly discovers without probing or opening tunnels (run
	// --dry-run).
	planOnly bool
	// candidates are the engines the flags name, before they are reached:
	// the explicit targets, or the simulators' placeholders.
	candidates []engine.Target
	// resolved are the engines once reach ran, final: every later stage
	// reads them and none changes them.
	resolved []engine.Target
	// gpuMetrics are --gpu-metrics, where the command has the flag (run).
	gpuMetrics []gpuMetricsSpec
}

// addFlags registers the engine flags; verb says what the command does to
// them ("benchmark", "race").
func (e *engineSel) addFlags(fs *pflag.FlagSet, verb string) {
	e.cf.add(fs, false)
	fs.StringVar(&e.cf.apiKeySecret, "api-key-secret", "", "read the engines' bearer token from a Secret in the namespace: SECRET/KEY, or TARGET=SECRET/KEY; needs get on secrets, never written anywhere")
	fs.StringArrayVar(&e.targets, "target", nil, "engine to "+verb+": NAME=URL (NAME vllm, tgi, ollama or openai) or NAME=TYPE+URL; repeatable. A URL ending in an endpoint path (/generate_stream, /api/generate, /v1/completions) selects that API")
	fs.StringSliceVar(&e.engines, "engines", nil, "only "+verb+" these targets (names or types, comma-separated)")
	fs.StringArrayVar(&e.models, "model", nil, "model to request: NAME for every target or TARGET=NAME; default: the one the engine serves")
	fs.BoolVar(&e.simulate, "simulate", false, verb+" the built-in vLLM, TGI and Ollama simulators on loopback (no cluster needed)")
	fs.StringVar(&e.apiKey, "api-key", "", "bearer token for the engines: KEY for all, or TARGET=KEY[,TARGET=KEY] (default $"+apiKeyEnv+"); never written to results or logs")
	fs.BoolVar(&e.insecure, "insecure-skip-engine-tls-verify", false, "do not verify the engines' TLS certificates (self-signed routes; kubectl's --insecure-skip-tls-verify implies it); insecure")
}

// complete reads what the flags and the config name and checks it;
// reach turns it into the final engines.
func (e *engineSel) complete(cfg workload.Config, kube *genericclioptions.ConfigFlags, errOut io.Writer) error {
	if e.apiKey == "" {
		e.apiKey = os.Getenv(apiKeyEnv)
	}
	if kube != nil && kube.Insecure != nil && *kube.Insecure {
		e.insecure = true
	}
	if e.simulate {
		if len(e.targets) > 0 {
			return errors.New("--simulate and --target cannot be combined: drop --target to use the simulators, or drop --simulate")
		}
		// Placeholders; the simulator's ports are known once it starts.
		for _, t := range []engine.EngineType{engine.EngineVLLM, engine.EngineTGI, engine.EngineOllama} {
			e.candidates = append(e.candidates, engine.Target{Name: string(t), Type: t, API: engine.DefaultAPI(t), BaseURL: "http://127.0.0.1:0", Access: "simulator"})
		}
	} else {
		var err error
		if e.candidates, err = targetsFrom(e.targets, cfg); err != nil {
			return err
		}
		e.useCluster = len(e.candidates) == 0
	}
	if _, err := e.cf.method(); err != nil {
		return err
	}
	if !e.useCluster {
		// --engines and --model are checked now, before anything is
		// reached; reach applies them for good.
		if _, err := finishTargets(e.candidates, e.engines, e.models, e.apiKey, io.Discard); err != nil {
			return err
		}
	}
	return nil
}

func (e *engineSel) validate(verb string) error {
	if len(e.candidates) == 0 && !e.useCluster {
		return fmt.Errorf("no engines to %s: pass --target NAME=URL (e.g. --target vllm=http://127.0.0.1:8000), -n NAMESPACE to discover them, set services.manual_urls in a -f config file, or try --simulate", verb)
	}
	if e.simulate && len(e.cf.services) > 0 {
		return errors.New("--service picks discovered Services; it cannot be combined with --simulate")
	}
	return nil
}

// finishTargets applies --engines, --model and the API key to copies of
// the targets.
func finishTargets(ts []engine.Target, engines, models []string, apiKey string, errOut io.Writer) ([]engine.Target, error) {
	ts, err := filterTargets(slices.Clone(ts), engines)
	if err != nil {
		return nil, err
	}
	if err := applyModels(ts, models); err != nil {
		return nil, err
	}
	if err := applyAPIKeys(ts, apiKey, errOut); err != nil {
		return nil, err
	}
	return ts, nil
}

// reach is the one place the engines become final: the explicit targets,
// the simulators started on loopback (--simulate) or the Services found
// in the namespace, then --engines, --model and the API key (from the
// flag or --api-key-secret). It sets resolved; the returned func stops
// the simulators and closes the port-forwards. The cluster's account is
// nil without discovery, and in a plan (nothing is reached then).
func (e *engineSel) reach(ctx context.Context, kube *genericclioptions.ConfigFlags, namespace string, seed int64, errOut io.Writer, log *slog.Logger) (*placement.Info, func(), error) {
	nothing := func() {}
	ts, key := e.candidates, e.apiKey
	var ks *kubeSession
	if e.useCluster || e.cf.apiKeySecret != "" {
		var err error
		if ks, err = openKube(kube, namespace); err != nil {
			return nil, nothing, err
		}
	}
	if e.cf.apiKeySecret != "" {
		var err error
		if key, err = apiKeyFromSecret(ctx, ks, e.cf.apiKeySecret); err != nil {
			return nil, nothing, err
		}
	}
	if !e.useCluster {
		closeSim := nothing
		if e.simulate && !e.planOnly {
			var urls, gpus map[engine.EngineType]string
			var err error
			if urls, gpus, closeSim, err = startSimulators(ctx, seed); err != nil {
				return nil, nothing, err
			}
			ts = slices.Clone(ts)
			for i := range ts {
				ts[i].BaseURL = urls[ts[i].Type]
				if g, ok := gpus[ts[i].Type]; ok {
					ts[i].GPUMetrics = &engine.MetricsEndpoint{URL: g, Found: "simulated DCGM exporter"}
				}
			}
		}
		final, err := finishTargets(ts, e.engines, e.models, key, errOut)
		if err == nil {
			err = applyGPUMetrics(final, e.gpuMetrics)
		}
		if err != nil {
			closeSim()
			return nil, nothing, err
		}
		e.resolved = final
		return nil, closeSim, nil
	}
	// klog (port-forward errors from client-go) joins the command's log
	// instead of printing over its output.
	klog.SetSlogLogger(log)
	fmt.Fprintf(errOut, "Discovering engines in namespace %q (context %q)\n", ks.namespace, ks.context)
	found, d, err := discoverTargets(ctx, ks, e.cf, key, engine.HTTPOptions{InsecureSkipVerify: e.insecure}, log, errOut, !e.planOnly)
	if err != nil {
		return nil, nothing, err
	}
	final, err := finishTargets(found, e.engines, e.models, key, errOut)
	if err == nil {
		err = applyGPUMetrics(final, e.gpuMetrics)
	}
	if err != nil {
		d.Close()
		return nil, nothing, err
	}
	e.resolved = final
	if e.planOnly {
		return nil, d.Close, nil
	}
	info := d.info(ks, e.cf.gpuResource)
	for _, en := range info.Engines {
		if en.Access == placement.MethodPortForward || en.Access == placement.MethodProxy {
			fmt.Fprintf(errOut, "note: %s is measured through a %s from this machine: latencies include the tunnel through the API server; an in-cluster client would see less\n", en.Target, en.Access)
		}
	}
	return info, d.Close, nil
}

// startSimulators serves the simulators on loopback for --simulate, with
// a simulated DCGM exporter for the vLLM and TGI GPUs; the returned func
// stops them.
func startSimulators(ctx context.Context, seed int64) (urls, gpus map[engine.EngineType]string, stop func(), err error) {
	s := sim.New(sim.Options{Seed: seed})
	if urls, err = s.StartAll(context.WithoutCancel(ctx), "127.0.0.1"); err != nil {
		s.Close()
		return nil, nil, nil, fmt.Errorf("starting the simulators: %w", err)
	}
	gpus = map[engine.EngineType]string{}
	for _, t := range []engine.EngineType{engine.EngineVLLM, engine.EngineTGI} {
		if gpus[t], err = s.StartGPU(context.WithoutCancel(ctx), t, "127.0.0.1:0"); err != nil {
			s.Close()
			return nil, nil, nil, fmt.Errorf("starting the simulators: %w", err)
		}
	}
	return urls, gpus, func() { s.Close() }, nil
}
