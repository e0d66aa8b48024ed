//go:build helm

package helmtest

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/llmbench/kubectl-llmbench/pkg/cluster"
	"github.com/llmbench/kubectl-llmbench/pkg/placement"
)

// The charts as CI checks them: helm lint --strict, then helm template
// output decoded into Kubernetes types and checked for what makes the
// comparison fair, and read by the plugin's own discovery and validate.

const ns = "bench-ns"

var (
	helm   Helm
	charts string // the staged helm/ folder
)

func TestMain(m *testing.M) {
	bin, err := Binary()
	if err != nil {
		fmt.Fprintln(os.Stderr, "helm chart tests:", err)
		os.Exit(1)
	}
	dir, err := os.MkdirTemp("", "llmbench-helm-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	helm = Helm{Bin: bin, Home: filepath.Join(dir, "home")}
	if charts, err = helm.Stage(dir); err != nil {
		fmt.Fprintln(os.Stderr, "staging the charts:", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

func chart(name string) string { return filepath.Join(charts, name) }

func render(t *testing.T, name string, args ...string) Manifests {
	t.Helper()
	m, err := helm.Template(chart(name), "bench", ns, args...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestLintStrict(t *testing.T) {
	for _, c := range append([]string{Umbrella}, Engines...) {
		for _, values := range []string{"", "values-openshift.yaml"} {
			args := []string{"lint", "--strict", chart(c)}
			if values != "" {
				args = append(args, "-f", filepath.Join(chart(c), values))
			}
			if out, err := helm.Run(args...); err != nil {
				t.Errorf("%v\n%s", err, out)
			}
		}
	}
}

// engines are the rendered engine Deployments by their llmbench.io/engine.
func engines(t *testing.T, m Manifests) map[string]*appsv1.Deployment {
	t.Helper()
	out := map[string]*appsv1.Deployment{}
	for _, o := range m.Kind("Deployment") {
		var d appsv1.Deployment
		if err := Into(o, &d); err != nil {
			t.Fatal(err)
		}
		e := d.Spec.Template.Labels[cluster.EngineLabel]
		if _, dup := out[e]; dup || e == "" {
			t.Fatalf("Deployment %s: engine label %q missing or repeated", d.Name, e)
		}
		out[e] = &d
	}
	return out
}

func services(t *testing.T, m Manifests) []corev1.Service {
	t.Helper()
	var out []corev1.Service
	for _, o := range m.Kind("Service") {
		var s corev1.Service
		if err := Into(o, &s); err != nil {
			t.Fatal(err)
		}
		s.Namespace = ns
		out = append(out, s)
	}
	return out
}

// podsOf stands in for the controllers: one Running, Ready Pod per
// Deployment, each on its own GPU node.
func podsOf(deps map[string]*appsv1.Deployment) ([]corev1.Pod, []corev1.Node) {
	var pods []corev1.Pod
	var nodes []corev1.Node
	for _, e := range Engines {
		d, ok := deps[e]
		if !ok {
			continue
		}
		node := "gpu-" + e
		spec := *d.Spec.Template.Spec.DeepCopy()
		spec.NodeName = node
		p := corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: d.Name + "-0", Namespace: ns, Labels: d.Spec.Template.Labels, Annotations: d.Spec.Template.Annotations},
			Spec:       spec,
			Status:     corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
		}
		for _, c := range spec.Containers {
			p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{Name: c.Name, Ready: true, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}})
		}
		pods = append(pods, p)
		nodes = append(nodes, corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: node, Labels: map[string]string{
			"kubernetes.io/hostname": node, "nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3", "nvidia.com/gpu.count": "8"}}})
	}
	return pods, nodes
}

// mayShareNode is the scheduler's inter-pod anti-affinity predicate for
// two Pods of one namespace on one node: false when a required term of
// either selects the other on a per-node topology key.
func mayShareNode(a, b *corev1.PodTemplateSpec) bool {
	forbids := func(x, y *corev1.PodTemplateSpec) bool {
		aff := x.Spec.Affinity
		if aff == nil || aff.PodAntiAffinity == nil {
			return false
		}
		for _, term := range aff.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
			sel, err := metav1.LabelSelectorAsSelector(term.LabelSelector)
			if err != nil || term.TopologyKey != "kubernetes.io/hostname" || len(term.Namespaces) > 0 || term.NamespaceSelector != nil {
				continue
			}
			if sel.Matches(labels.Set(y.Labels)) {
				return true
			}
		}
		return false
	}
	return !forbids(a, b) && !forbids(b, a)
}

var wantPorts = map[string]int32{"vllm": 8000, "tgi": 80, "ollama": 11434}

func TestUmbrellaDeploysThreeEnginesThatCannotShareANode(t *testing.T) {
	m := render(t, Umbrella)
	deps := engines(t, m)
	if len(deps) != 3 || deps["vllm"] == nil || deps["tgi"] == nil || deps["ollama"] == nil {
		t.Fatalf("want exactly the vllm, tgi and ollama Deployments, got %v", slices.Collect(maps.Keys(deps)))
	}
	for _, a := range Engines {
		for _, b := range Engines {
			if !mayShareNode(&deps[a].Spec.Template, &deps[b].Spec.Template) {
				continue
			}
			if a == b {
				t.Errorf("two %s replicas may share a node: no required anti-affinity keeps them apart", a)
			} else {
				t.Errorf("%s and %s may share a node: no required anti-affinity keeps them apart", a, b)
			}
		}
	}
	required := []string{"helm.sh/chart", "app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component",
		"app.kubernetes.io/part-of", "app.kubernetes.io/version", "app.kubernetes.io/managed-by", cluster.EngineLabel}
	for e, d := range deps {
		pod := d.Spec.Template
		for _, k := range required {
			if pod.Labels[k] == "" || d.Labels[k] == "" {
				t.Errorf("%s: label %s missing on the Pod template or the Deployment", e, k)
			}
		}
		if d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
			t.Errorf("%s: strategy %s, want Recreate (a surge Pod could never schedule)", e, d.Spec.Strategy.Type)
		}
		if pod.Spec.EnableServiceLinks == nil || *pod.Spec.EnableServiceLinks {
			t.Errorf("%s: service links on (a Service named vllm would set VLLM_PORT)", e)
		}
		c := pod.Spec.Containers[0]
		gpu := corev1.ResourceName("nvidia.com/gpu")
		req, lim := c.Resources.Requests[gpu], c.Resources.Limits[gpu]
		if req.Value() != 1 || lim.Value() != 1 {
			t.Errorf("%s: nvidia.com/gpu requests %s, limits %s; want 1 and 1", e, req.String(), lim.String())
		}
		if len(c.Ports) != 1 || c.Ports[0].Name != "http" || c.Ports[0].ContainerPort != wantPorts[e] {
			t.Errorf("%s: container ports %+v, want http %d", e, c.Ports, wantPorts[e])
		}
		if p := c.StartupProbe; p == nil || p.HTTPGet == nil || p.FailureThreshold*p.PeriodSeconds < 30*60 {
			t.Errorf("%s: startup probe %+v allows under 30 minutes for download and load", e, p)
		}
		for name, p := range map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
			if p == nil || p.HTTPGet == nil || p.HTTPGet.Port.String() != "http" {
				t.Errorf("%s: %s probe %+v, want an HTTP GET on port http", e, name, p)
			}
		}
		if want := map[string]string{"vllm": "/health", "tgi": "/health", "ollama": "/api/version"}[e]; c.ReadinessProbe != nil && c.ReadinessProbe.HTTPGet.Path != want {
			t.Errorf("%s: readiness on %s, want %s", e, c.ReadinessProbe.HTTPGet.Path, want)
		}
		if !hasShm(&pod.Spec, &c) {
			t.Errorf("%s: no memory-backed emptyDir on /dev/shm", e)
		}
	}

	svcs := services(t, m)
	if len(svcs) != 3 {
		t.Fatalf("%d Services, want 3", len(svcs))
	}
	for _, s := range svcs {
		for _, k := range required {
			if s.Labels[k] == "" {
				t.Errorf("Service %s: label %s missing", s.Name, k)
			}
		}
		if s.Spec.Type != corev1.ServiceTypeClusterIP {
			t.Errorf("Service %s: type %s, want ClusterIP", s.Name, s.Spec.Type)
		}
	}

	// The plugin's own discovery and validate, on the rendered objects
	// as the controllers would run them: found by label on the http port,
	// and nothing to fail.
	pods, nodes := podsOf(deps)
	snap := &cluster.Snapshot{Namespace: ns, Services: svcs, Pods: pods, Nodes: nodes}
	found := snap.Engines()
	if len(found) != 3 {
		t.Fatalf("discovery found %d engines, want 3: %+v", len(found), found)
	}
	for _, f := range found {
		e := string(f.Type)
		if f.Evidence != placement.ByLabel || f.PortName != "http" || f.TotalPods != 1 {
			t.Errorf("%s: found by %s on port %q with %d Pods; want by label, on http, 1 Pod", f.Service, f.Evidence, f.PortName, f.TotalPods)
		}
		if f.Service != "bench-"+e {
			t.Errorf("engine %s: Service %s, want bench-%s", e, f.Service, e)
		}
	}
	rep := cluster.Validate(snap, found, cluster.ValidateOptions{})
	for _, c := range rep.Checks {
		if c.Status == cluster.Fail {
			t.Errorf("validate: %s %s: %s", c.Name, c.Engine, c.Detail)
		}
		if c.Name == cluster.CheckSameModel && (c.Status != cluster.Pass || !strings.Contains(c.Detail, "Qwen/Qwen2.5-0.5B-Instruct") ||
			!strings.Contains(c.Detail, `ollama (annotated llmbench.io/model "qwen2.5:0.5b-instruct-fp16")`)) {
			t.Errorf("validate same-model: %s %s", c.Status, c.Detail)
		}
	}
	for _, want := range []string{cluster.CheckSeparateNodes, cluster.CheckSameGPUCount, cluster.CheckSameModel} {
		if !slices.ContainsFunc(rep.Checks, func(c cluster.Check) bool { return c.Name == want && c.Status == cluster.Pass }) {
			t.Errorf("validate: no passing %s check: %+v", want, rep.Checks)
		}
	}
}

func hasShm(spec *corev1.PodSpec, c *corev1.Container) bool {
	for _, vm := range c.VolumeMounts {
		if vm.MountPath != "/dev/shm" {
			continue
		}
		for _, v := range spec.Volumes {
			if v.Name == vm.Name && v.EmptyDir != nil && v.EmptyDir.Medium == corev1.StorageMediumMemory {
				return true
			}
		}
	}
	return false
}

func TestAntiAffinityModes(t *testing.T) {
	preferred := engines(t, render(t, Umbrella, "--set", "global.antiAffinity.mode=preferred"))
	for e, d := range preferred {
		pa := d.Spec.Template.Spec.Affinity.PodAntiAffinity
		if len(pa.RequiredDuringSchedulingIgnoredDuringExecution) != 0 || len(pa.PreferredDuringSchedulingIgnoredDuringExecution) != 1 ||
			pa.PreferredDuringSchedulingIgnoredDuringExecution[0].Weight != 100 {
			t.Errorf("%s: preferred mode gave %+v", e, pa)
		}
	}
	for e, d := range engines(t, render(t, Umbrella, "--set", "global.antiAffinity.mode=none")) {
		if d.Spec.Template.Spec.Affinity != nil {
			t.Errorf("%s: mode none still has affinity %+v", e, d.Spec.Template.Spec.Affinity)
		}
	}
	// An engine's own affinity is kept and the engines' term added to it.
	own := engines(t, render(t, Umbrella,
		"--set", "vllm.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key=pool",
		"--set", "vllm.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator=Exists",
		"--set", "vllm.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey=zone",
		"--set", "vllm.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector.matchLabels.app=noisy"))
	aff := own["vllm"].Spec.Template.Spec.Affinity
	if aff.NodeAffinity == nil || len(aff.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution) != 2 {
		t.Errorf("vllm: own affinity not merged: %+v", aff)
	}
	if mayShareNode(&own["vllm"].Spec.Template, &own["tgi"].Spec.Template) {
		t.Error("vllm and tgi may share a node once vllm has its own anti-affinity")
	}
}

func TestSharedSettingsReachEveryEngine(t *testing.T) {
	mig := "nvidia.com/mig-3g.40gb"
	deps := engines(t, render(t, Umbrella,
		"--set", "global.gpu.resource="+mig, "--set", "global.gpu.count=2",
		"--set", "global.runtimeClassName=nvidia",
		"--set", "global.nodeSelector.nvidia\\.com/gpu\\.product=NVIDIA-A100-SXM4-80GB",
		"--set", "global.tolerations[0].key=nvidia.com/gpu", "--set", "global.tolerations[0].operator=Exists",
		"--set", "global.tolerations[0].effect=NoSchedule",
		"--set", "global.hfToken.secretName=hf", "--set", "global.hfToken.secretKey=hub-token",
		"--set", "global.model.revision=0123abc", "--set", "global.model.maxModelLength=8192",
		"--set", "vllm.model.dtype=bfloat16", "--set", "ollama.model.ollamaTag=qwen2.5:0.5b-instruct-q8_0",
		"--set", "tgi.nodeSelector.pool=tgi"))
	want := map[string][]string{
		"vllm":   {"Qwen/Qwen2.5-0.5B-Instruct", "--revision=0123abc", "--max-model-len=8192", "--dtype=bfloat16", "--tensor-parallel-size=2"},
		"tgi":    {"--model-id=Qwen/Qwen2.5-0.5B-Instruct", "--revision=0123abc", "--max-input-tokens=8191", "--max-total-tokens=8192", "--dtype=float16", "--num-shard=2"},
		"ollama": {},
	}
	for e, d := range deps {
		spec := d.Spec.Template.Spec
		c := spec.Containers[0]
		req, lim := c.Resources.Requests[corev1.ResourceName(mig)], c.Resources.Limits[corev1.ResourceName(mig)]
		if req.Value() != 2 || lim.Value() != 2 {
			t.Errorf("%s: %s requests %s, limits %s; want 2 and 2", e, mig, req.String(), lim.String())
		}
		if _, ok := c.Resources.Limits["nvidia.com/gpu"]; ok {
			t.Errorf("%s: still limits nvidia.com/gpu", e)
		}
		if spec.RuntimeClassName == nil || *spec.RuntimeClassName != "nvidia" {
			t.Errorf("%s: runtimeClassName %v", e, spec.RuntimeClassName)
		}
		if spec.NodeSelector["nvidia.com/gpu.product"] != "NVIDIA-A100-SXM4-80GB" {
			t.Errorf("%s: nodeSelector %v", e, spec.NodeSelector)
		}
		if len(spec.Tolerations) != 1 || spec.Tolerations[0].Key != "nvidia.com/gpu" {
			t.Errorf("%s: tolerations %+v", e, spec.Tolerations)
		}
		args := strings.Join(append(append([]string{}, c.Command...), c.Args...), " ")
		for _, w := range want[e] {
			if !strings.Contains(args, w) {
				t.Errorf("%s: %q lacks %q", e, args, w)
			}
		}
		token := false
		for _, env := range c.Env {
			if env.Name == "HF_TOKEN" {
				token = env.Value == "" && env.ValueFrom != nil && env.ValueFrom.SecretKeyRef != nil &&
					env.ValueFrom.SecretKeyRef.Name == "hf" && env.ValueFrom.SecretKeyRef.Key == "hub-token"
			}
		}
		if token != (e != "ollama") {
			t.Errorf("%s: HF_TOKEN from Secret hf key hub-token: %v (env %+v)", e, token, c.Env)
		}
	}
	if deps["tgi"].Spec.Template.Spec.NodeSelector["pool"] != "tgi" || deps["vllm"].Spec.Template.Spec.NodeSelector["pool"] != "" {
		t.Error("an engine's own nodeSelector must add to global's, for that engine only")
	}
	ollama := deps["ollama"].Spec.Template.Spec
	if len(ollama.InitContainers) != 1 || !slices.Contains(envValues(ollama.InitContainers[0].Env), "qwen2.5:0.5b-instruct-q8_0") {
		t.Errorf("ollama: the pull init container does not pull the engine's own tag: %+v", ollama.InitContainers)
	}
	if !slices.Contains(envValues(ollama.Containers[0].Env), "8192") {
		t.Errorf("ollama: OLLAMA_CONTEXT_LENGTH is not global.model.maxModelLength: %+v", ollama.Containers[0].Env)
	}
}

func envValues(env []corev1.EnvVar) []string {
	var out []string
	for _, e := range env {
		out = append(out, e.Value)
	}
	return out
}

func TestEngineChartsStandAlone(t *testing.T) {
	for _, e := range Engines {
		m := render(t, e, "--set", "global.gpu.count=0")
		deps := engines(t, m)
		if len(deps) != 1 || deps[e] == nil {
			t.Errorf("%s alone: Deployments %v", e, slices.Collect(maps.Keys(deps)))
			continue
		}
		c := deps[e].Spec.Template.Spec.Containers[0]
		if _, ok := c.Resources.Limits["nvidia.com/gpu"]; ok {
			t.Errorf("%s: gpu.count 0 still asks for a GPU", e)
		}
		svcs := services(t, m)
		if len(svcs) != 1 {
			t.Fatalf("%s alone: %d Services", e, len(svcs))
		}
		typ, ev, ok := cluster.Identify(&svcs[0], nil)
		port, pok := cluster.EnginePort(&svcs[0], typ)
		if !ok || string(typ) != e || ev != placement.ByLabel || !pok || port.Name != "http" {
			t.Errorf("%s alone: identified as %s by %s (%v), port %q", e, typ, ev, ok, port.Name)
		}
	}
}
