package plugin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/live"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/load"
	"github.com/llmbench/kubectl-llmbench/pkg/cluster"
	"github.com/llmbench/kubectl-llmbench/pkg/export"
	"github.com/llmbench/kubectl-llmbench/pkg/placement"
	"github.com/llmbench/kubectl-llmbench/pkg/run"
)

// ImageRepository is where releases publish the worker image; a release
// binary runs the image of its own version.
const ImageRepository = "ghcr.io/llmbench/kubectl-llmbench"

// inClusterFlags are run's --in-cluster flags.
type inClusterFlags struct {
	enabled        bool
	workers        int
	image          string
	startTolerance time.Duration
	readyTimeout   time.Duration
	output         string
}

func (f *inClusterFlags) add(fs *pflag.FlagSet) {
	fs.BoolVar(&f.enabled, "in-cluster", false, "send the load from Pods inside the cluster (an Indexed Job in the namespace) instead of from this machine: no tunnel, API server or operator network in the numbers")
	fs.IntVar(&f.workers, "workers", 1, "load workers (Pods) for --in-cluster; users, rates and request counts are split between them")
	fs.StringVar(&f.image, "image", "", "the worker image for --in-cluster (default: this release's "+ImageRepository+":VERSION; make image builds one)")
	fs.DurationVar(&f.startTolerance, "start-tolerance", time.Second, "with --in-cluster, how late a worker may begin after the agreed start before the run fails")
	fs.DurationVar(&f.readyTimeout, "workers-ready-timeout", 5*time.Minute, "with --in-cluster, how long the worker Pods may take to be scheduled, pull the image and reach the engines")
	fs.StringVarP(&f.output, "output", "o", "", "with --dry-run --in-cluster: yaml or json prints the objects the run would create and the Role it needs")
}

var releaseVersion = regexp.MustCompile(`^v\d+\.\d+\.\d+$`)

// imageDigest is the digest of this release's worker image, stamped by
// the release build (hack/dist.sh, IMAGE_DIGEST from make image).
var imageDigest string

// defaultImage is this release's worker image, pinned by digest when the
// release build knew it, or "" for a development build (no image is
// published for it).
func defaultImage() string {
	v := Version()
	if !releaseVersion.MatchString(v) {
		return ""
	}
	if imageDigest != "" {
		return ImageRepository + ":" + v + "@" + imageDigest
	}
	return ImageRepository + ":" + v
}

func (o *RunOptions) validateInCluster() error {
	f := &o.ic
	if !f.enabled {
		if f.output != "" {
			return errors.New("-o/--output prints the objects of --dry-run --in-cluster; add both, or drop -o")
		}
		return nil
	}
	switch {
	case o.simulate:
		return errors.New("--in-cluster sends the load from the cluster, but the simulators run on this machine: drop --simulate, or drop --in-cluster")
	case o.capacity != nil:
		return errors.New("--find-capacity runs on this machine only for now: drop --in-cluster")
	case f.workers < 1 || f.workers > 1000:
		return fmt.Errorf("--workers %d: give 1 … 1000 load workers", f.workers)
	case f.startTolerance <= 0:
		return fmt.Errorf("--start-tolerance %s: give a duration > 0, like 1s", f.startTolerance)
	case f.output != "" && f.output != "yaml" && f.output != "json":
		return fmt.Errorf("-o %q: use yaml or json", f.output)
	case f.output != "" && !o.dryRun:
		return errors.New("-o/--output prints the objects --dry-run --in-cluster would create: add --dry-run")
	}
	if f.image == "" {
		// A development build has no published image; a dry run still
		// shows what would be created. A run says so once the cluster is
		// reached (errNoImage), so a missing kubeconfig is told first.
		if f.image = defaultImage(); f.image == "" && o.dryRun {
			f.image = ImageRepository + ":" + Version()
		}
	}
	for _, t := range o.candidates {
		if u, err := url.Parse(t.BaseURL); err == nil && isLoopback(u.Hostname()) {
			return fmt.Errorf("--target %s=%s is this machine's loopback, which the workers inside the cluster cannot reach: name the Service (http://SERVICE.NAMESPACE.svc:PORT), or drop --in-cluster", t.Name, t.BaseURL)
		}
	}
	return nil
}

// errNoImage is a run --in-cluster of a development build without --image.
func errNoImage() error {
	return fmt.Errorf("--in-cluster: this is a development build (%s) and no image of it is published: build one with make image, push it where the cluster pulls from, and pass --image", Version())
}

// parseConnectTo reads --connect-to HOST:PORT:HOST2:PORT2 (curl's).
func parseConnectTo(specs []string) (map[string]string, error) {
	if len(specs) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, s := range specs {
		host, rest, ok1 := cutHostPort(s)
		port, rest2, ok2 := strings.Cut(rest, ":")
		toHost, toRest, ok3 := cutHostPort(rest2)
		if !ok1 || !ok2 || !ok3 || host == "" || port == "" || toHost == "" || toRest == "" || strings.Contains(toRest, ":") {
			return nil, fmt.Errorf("--connect-to %q: write HOST:PORT:TO_HOST:TO_PORT, e.g. vllm.llm.svc:8000:127.0.0.1:18000", s)
		}
		out[net.JoinHostPort(host, port)] = net.JoinHostPort(toHost, toRest)
	}
	return out, nil
}

// cutHostPort cuts a host (an IPv6 one in brackets) from what follows its
// colon.
func cutHostPort(s string) (host, rest string, ok bool) {
	if strings.HasPrefix(s, "[") {
		end := strings.Index(s, "]")
		if end < 0 || end+1 >= len(s) || s[end+1] != ':' {
			return "", "", false
		}
		return s[1:end], s[end+2:], true
	}
	return strings.Cut(s, ":")
}

// inCluster is what --in-cluster found and will create.
type inCluster struct {
	ks      *kubeSession
	engines []*cluster.Engine // discovered, in target order (nil: --target)
	names   []string
	info    *placement.Info
	keyRef  *corev1.SecretKeySelector
	keyFor  string // the target a referenced key is for ("" all)
	err     error  // why the remote part failed, for Run to return
}

// reachInCluster names the engines as the workers will reach them: the
// Services' cluster DNS names (or the --target URLs), nothing opened
// from this machine.
func (o *RunOptions) reachInCluster(ctx context.Context) (*inCluster, error) {
	ks, err := openKube(o.kube, o.cfg.Services.Namespace)
	if err != nil {
		return nil, err
	}
	if o.ic.image == "" {
		return nil, errNoImage()
	}
	ic := &inCluster{ks: ks}
	if spec := o.cf.apiKeySecret; spec != "" {
		// By reference: the workers read it from the Secret; its value
		// never passes through this machine into anything written.
		target, name, key, err := parseSecretRef(spec)
		if err != nil {
			return nil, err
		}
		ic.keyRef = &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: key}
		ic.keyFor = target
	}
	ts := o.candidates
	var d *discovered
	var picked []*cluster.Engine
	if o.useCluster {
		fmt.Fprintf(o.ErrOut, "Discovering engines in namespace %q (context %q)\n", ks.namespace, ks.context)
		if d, picked, err = findEngines(ctx, ks, o.cf.services, o.ErrOut); err != nil {
			return nil, err
		}
		ts = nil
		for i, e := range picked {
			ts = append(ts, engine.Target{Name: d.names[i], Type: e.Type, BaseURL: e.InClusterURL(), API: engine.DefaultAPI(e.Type), Access: string(placement.MethodInCluster)})
		}
	}
	final, err := finishTargets(ts, o.engines, o.models, "", o.ErrOut)
	if err != nil {
		return nil, err
	}
	o.resolved = final
	if d != nil {
		// --engines kept some: the engines kept are looked up by name.
		info := &placement.Info{Context: ks.context, Server: ks.server, ServerVersion: ks.client.ServerVersion(), Namespace: ks.namespace}
		info.Notes = append(append(info.Notes, d.snap.Notes...), d.notes...)
		for _, t := range final {
			i := slices.Index(d.names, t.Name)
			ic.engines, ic.names = append(ic.engines, picked[i]), append(ic.names, t.Name)
			info.Engines = append(info.Engines, d.snap.Describe(t.Name, picked[i].InCluster(), o.cf.gpuResource))
			fmt.Fprintf(o.ErrOut, "found %s: %s, reached by the workers at %s\n", t.Name, picked[i].Key(), t.BaseURL)
		}
		ic.info = info
	}
	if o.scrapeInterval > 0 {
		fmt.Fprintln(o.ErrOut, "note: with --in-cluster the engines' own /metrics are not scraped yet; the breakdown of where the time went is left out")
	}
	return ic, nil
}

// loadJob is the Job for a run, its plan included.
func (o *RunOptions) loadJob(ic *inCluster, runID string) (cluster.LoadJob, error) {
	plan := run.Plan{RunID: runID, Workers: o.ic.workers, Targets: o.resolved, APIKeyTarget: ic.keyFor,
		Scenarios: o.scenarios, Prompts: o.prompts, FollowUps: o.followUps,
		Timeout: o.timeout(), Grace: graceAfterStop, Parallel: o.parallel, Seed: o.seed(),
		UniquePrompts: o.cfg.Workload.UniquePrompts == nil || *o.cfg.Workload.UniquePrompts,
		SamplePrompts: o.dataset != nil, Insecure: o.insecure, Resolve: o.connectTo,
		StartTolerance: o.ic.startTolerance, Linger: 10 * time.Minute}
	b, err := run.EncodePlan(plan)
	if err != nil {
		return cluster.LoadJob{}, fmt.Errorf("encoding the workers' plan: %w", err)
	}
	rate, streams := 0.0, 1
	var total time.Duration
	for _, s := range o.scenarios {
		rate = max(rate, s.Rate)
		streams = max(streams, s.Concurrency)
		if d := s.ExpectedDuration(); d > 0 {
			total += d
		} else {
			total += time.Hour // unbounded by time: the deadline only guards
		}
	}
	if !o.parallel {
		total *= time.Duration(len(o.resolved))
	}
	if rate > 0 {
		// Open loop: streams in flight ≈ rate × a generous 30 s answer.
		streams = max(streams, int(rate*30))
	}
	n := float64(o.ic.workers)
	cpu, mem := cluster.WorkerResources(rate/n, int(float64(streams)/n)+1)
	token := make([]byte, 32)
	if _, err := rand.Read(token); err != nil {
		return cluster.LoadJob{}, err
	}
	j := cluster.LoadJob{Namespace: ic.ks.namespace, RunID: runID, Image: o.ic.image, Workers: o.ic.workers, Plan: b, ControlToken: hex.EncodeToString(token),
		APIKeyRef: ic.keyRef, CPU: cpu, Memory: mem, TTL: 600, EngineNodes: cluster.EngineNodes(ic.engines),
		Deadline: int64((total + o.ic.readyTimeout + 15*time.Minute).Seconds())}
	if ic.keyRef == nil {
		j.APIKey = o.apiKey
	}
	return j, nil
}

// printInClusterPlan adds the load's part to --dry-run, and with -o the
// objects themselves.
func (o *RunOptions) printInClusterPlan(ic *inCluster) error {
	runID := "test_" + o.cfg.Benchmark.Name + "_" + time.Now().Format("20060102_150405")
	j, err := o.loadJob(ic, runID)
	if err != nil {
		return err
	}
	if o.ic.output == "" {
		if err := o.printPlan(); err != nil {
			return err
		}
		pinned := ""
		if !strings.Contains(j.Image, "@sha256:") {
			pinned = " (a tag, not pinned by digest: pass --image REPO@sha256:… to be sure every worker runs the same bytes)"
		}
		fmt.Fprintf(o.Out, "\nLoad from inside the cluster: %s, %d worker(s) of image %s%s, each requesting %s CPU and %s memory; the engines are reached at their Services' cluster DNS names.\nThe workers' ServiceAccount has no rights and no token. Print the objects and the Role you need with -o yaml.\n",
			j, j.Workers, j.Image, pinned, j.CPU.String(), j.Memory.String())
		return nil
	}
	objs := []any{j.Job(), j.ConfigMap(), j.ServiceAccount()}
	s := j.Secret()
	for k := range s.StringData {
		s.StringData[k] = "(generated or given at run time; never printed)"
	}
	objs = append(objs, s)
	objs = append(objs, cluster.OperatorRole(j.Namespace))
	if o.ic.output == "json" {
		return printJSONList(o.Out, objs)
	}
	for i, obj := range objs {
		b, err := yaml.Marshal(obj)
		if err != nil {
			return err
		}
		if i > 0 {
			fmt.Fprintln(o.Out, "---")
		}
		if i == len(objs)-1 {
			fmt.Fprintln(o.Out, "# Not created: the least you need in the namespace to run --in-cluster.")
		}
		o.Out.Write(b)
	}
	return nil
}

func printJSONList(w io.Writer, objs []any) error {
	b, err := yaml.Marshal(map[string]any{"apiVersion": "v1", "kind": "List", "items": objs})
	if err != nil {
		return err
	}
	j, err := yaml.YAMLToJSON(b)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", j)
	return err
}

// remote is run.Config.Remote for --in-cluster: it creates the Job,
// waits for its workers, starts them together, brings every journal home
// and deletes the Job, whatever happens.
func (o *RunOptions) remote(ic *inCluster, log *slog.Logger) func(context.Context, string, load.Sink, *export.Manifest) load.RunResult {
	return func(ctx context.Context, runID string, sink load.Sink, man *export.Manifest) load.RunResult {
		fail := func(err error) load.RunResult {
			ic.err = err
			res := load.RunResult{Status: "failed", EndUnixNS: time.Now().UnixNano()}
			if ctx.Err() != nil {
				res.Status, res.InterruptedUnixNS = "interrupted", res.EndUnixNS
			}
			for _, t := range o.resolved {
				res.Targets = append(res.Targets, load.TargetStatus{Target: t, Error: err.Error()})
			}
			return res
		}
		j, err := o.loadJob(ic, runID)
		if err != nil {
			return fail(err)
		}
		c := ic.ks.client
		if _, err := c.CreateLoadJob(ctx, j); err != nil {
			return fail(err)
		}
		defer func() {
			if err := c.DeleteLoadJob(context.WithoutCancel(ctx), j); err != nil {
				fmt.Fprintf(o.ErrOut, "warning: %v; Kubernetes deletes the Job %d s after it finishes (ttlSecondsAfterFinished)\n", err, j.TTL)
			} else {
				log.Info("deleted the load Job and what it owns", "job", j.Name())
			}
		}()
		fmt.Fprintf(o.ErrOut, "Created %s: %d load worker(s), image %s\n", j, j.Workers, j.Image)
		man.LoadFrom = &export.LoadFrom{Where: "inside the cluster", Namespace: j.Namespace, Job: j.Name(), Image: j.Image}

		wctx, cancel := context.WithTimeout(ctx, o.ic.readyTimeout)
		defer cancel()
		pods, err := c.WaitWorkers(wctx, j, log)
		if err != nil {
			return fail(err)
		}
		var remotes []run.Remote
		for _, p := range pods {
			// The tunnels outlive a Ctrl-C: what the workers measured
			// until their stop still has to come home through them.
			fw, err := c.ForwardWorker(context.WithoutCancel(ctx), j.Namespace, p.Name, log)
			if err != nil {
				return fail(fmt.Errorf("reaching load worker %d (pod %s): %w", p.Index, p.Name, err))
			}
			defer fw.Close()
			remotes = append(remotes, run.Remote{Index: p.Index, Pod: p.Name, Node: p.Node,
				BaseURL: fmt.Sprintf("http://127.0.0.1:%d", fw.LocalPort), HTTP: &http.Client{Timeout: 30 * time.Second}, Token: j.ControlToken,
				Gone: func() (bool, string) { return c.WorkerGone(context.WithoutCancel(ctx), j.Namespace, p.Name) }})
		}
		col := &run.Collector{Workers: remotes, Sink: sink, Grace: graceAfterStop, Log: log, Progress: workerProgress(o.ErrOut, o.view),
			// Recorded where the Job's objects are, before the start comes.
			Agreed: func(at time.Time) error {
				if err := c.AnnotateStart(ctx, j, at); err != nil {
					return fmt.Errorf("recording the agreed start on the ConfigMap: %w", err)
				}
				return nil
			}}
		if err := col.Ready(wctx); err != nil {
			return fail(err)
		}
		at, err := col.Begin(ctx)
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(o.ErrOut, "Load workers start together at %s\n", at.UTC().Format("15:04:05.000 UTC"))
		// Ctrl-C becomes the workers' stop; they finish in their grace and
		// what they measured still comes home.
		stop, followed := make(chan struct{}), make(chan struct{})
		go func() {
			select {
			case <-ctx.Done():
				close(stop)
			case <-followed:
			}
		}()
		workers := col.Follow(context.WithoutCancel(ctx), stop)
		close(followed)
		stopped := ctx.Err() != nil
		col.Release(context.WithoutCancel(ctx))
		for i := range workers {
			workers[i].SharesNodeWith = cluster.EnginesOnNode(ic.engines, ic.names, workers[i].Node)
		}
		man.LoadFrom.Workers = workers
		for _, w := range workers {
			line := fmt.Sprintf("load worker %d on node %s: %s, %d requests, began %.1f ms late, send lag p99 %.2f ms", w.Index, w.Node, w.State, w.Records, w.LateMS, w.LagP99MS)
			if w.Cores > 0 && w.WallSeconds >= 1 {
				line += fmt.Sprintf(", CPU %.0f%% of %d cores", w.CPUShare*100, w.Cores)
			}
			fmt.Fprintln(o.ErrOut, line)
			switch {
			case w.State == "lost" || w.State == "failed":
				fmt.Fprintf(o.ErrOut, "warning: load worker %d (pod %s, node %s) %s: %s\n", w.Index, w.Pod, w.Node, w.State, w.Error)
			case w.Saturated:
				fmt.Fprintf(o.ErrOut, "warning: load worker %d was CPU-saturated: its latencies include client delay; rerun with more --workers\n", w.Index)
			}
			if len(w.SharesNodeWith) > 0 {
				fmt.Fprintf(o.ErrOut, "warning: load worker %d shared node %s with %s\n", w.Index, w.Node, strings.Join(w.SharesNodeWith, ", "))
			}
		}
		return run.MergeResults(o.resolved, col.Results(), stopped)
	}
}

// workerProgress gives the live view every worker's status and, without
// the dashboard, prints one line for them all every few seconds.
func workerProgress(w io.Writer, view *runView) func([]run.WorkerStatus) {
	var mu sync.Mutex
	last := time.Time{}
	return func(ss []run.WorkerStatus) {
		ws := make([]live.Worker, 0, len(ss))
		for _, s := range ss {
			// Names from the cluster reach a terminal: shown as text.
			lw := live.Worker{Index: s.Index, Node: safeText(s.Node), State: safeText(s.State), Current: safeText(s.Current), Records: s.Records, Failed: s.Failed, LateMS: s.LateMS, Cores: s.Cores}
			if s.WallSeconds > 0 && s.Cores > 0 {
				lw.CPUShare = s.CPUSeconds / s.WallSeconds / float64(s.Cores)
			}
			ws = append(ws, lw)
		}
		if view != nil {
			view.setWorkers(ws)
			if view.tty {
				return
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if time.Since(last) < plainEvery {
			return
		}
		last = time.Now()
		fmt.Fprintln(w, workersLine(ws))
	}
}
