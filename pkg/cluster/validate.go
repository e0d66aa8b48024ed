package cluster

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
)

// Status is the outcome of one validation check.
type Status string

const (
	Pass Status = "pass"
	Warn Status = "warn"
	Fail Status = "fail"
)

// Check names, in the order a Report lists them. Per-engine checks come
// one row per engine, in engine order; "same-…" checks compare engines.
const (
	CheckEngines        = "engines"
	CheckPodsReady      = "pods-ready"
	CheckRestarts       = "restarts"
	CheckSeparateNodes  = "separate-nodes"
	CheckGPUResources   = "gpu-resources"
	CheckSameGPUCount   = "same-gpu-count"
	CheckGPUProduct     = "gpu-product"
	CheckSameGPUProduct = "same-gpu-product"
	CheckImage          = "image"
	CheckSameModel      = "same-model"
	CheckSameContext    = "same-context"
)

// DefaultGPUResource is the extended resource that counts GPUs unless
// told otherwise.
const DefaultGPUResource = "nvidia.com/gpu"

// Node labels written by NVIDIA GPU feature discovery (GPU Operator).
const (
	gpuProductLabel = "nvidia.com/gpu.product"
	gpuCountLabel   = "nvidia.com/gpu.count"
)

// Check is one row of a validation report.
type Check struct {
	Name string `json:"check"`
	// Engine is NAMESPACE/SERVICE, or "" for a check across engines.
	Engine string `json:"engine,omitempty"`
	Status Status `json:"status"`
	Detail string `json:"detail"`
}

// Report is whether the deployed engines make a fair comparison.
type Report struct {
	// Namespace is "" for all namespaces.
	Namespace string  `json:"namespace"`
	Checks    []Check `json:"checks"`
	// Notes are what the snapshot could not read (RBAC).
	Notes []string `json:"notes,omitempty"`
}

func (r Report) count(s Status) int {
	n := 0
	for _, c := range r.Checks {
		if c.Status == s {
			n++
		}
	}
	return n
}

func (r Report) Passed() int { return r.count(Pass) }
func (r Report) Warned() int { return r.count(Warn) }
func (r Report) Failed() int { return r.count(Fail) }

// ValidateOptions tunes Validate.
type ValidateOptions struct {
	// GPUResource counts GPUs (default nvidia.com/gpu); a container
	// without it still counts any resource whose name contains "gpu".
	GPUResource string
}

// Validate checks that engines are deployed so that benchmarking them
// compares engines and not hardware or luck: Pods ready and stable, each
// engine on its own node, the same GPUs, pinned images, the same model.
// It is a pure function of the snapshot.
func Validate(s *Snapshot, engines []*Engine, o ValidateOptions) Report {
	if o.GPUResource == "" {
		o.GPUResource = DefaultGPUResource
	}
	v := &validation{s: s, o: o, r: Report{Namespace: s.Namespace, Notes: s.Notes}}
	if len(engines) == 0 {
		v.add(CheckEngines, "", Fail, fmt.Sprintf("no vLLM, TGI or Ollama Service found in %s; pass -n NAMESPACE (or -A), or label your engine Services %s=vllm|tgi|ollama", where(s.Namespace), EngineLabel))
		return v.r
	}
	names := TargetNames(engines)
	var found []string
	for i, e := range engines {
		v.engines = append(v.engines, v.facts(e, names[i]))
		found = append(found, fmt.Sprintf("%s (%s, by %s)", names[i], e.Key(), e.Evidence))
	}
	v.add(CheckEngines, "", Pass, fmt.Sprintf("%d found: %s", len(engines), strings.Join(found, ", ")))
	v.podsReady()
	v.restarts()
	v.separateNodes()
	v.gpuResources()
	v.gpuProducts()
	v.images()
	v.sameModel()
	v.sameContext()
	return v.r
}

type validation struct {
	s       *Snapshot
	o       ValidateOptions
	r       Report
	engines []*engineFacts
}

// engineFacts is what the checks read of one engine, from one of its
// Pods (a ready one if any: replicas share a template).
type engineFacts struct {
	*Engine
	name      string
	pod       *corev1.Pod
	container *corev1.Container
	nodes     []string
	gpus      gpuAlloc
	product   string // the one GPU product of its nodes, "" if unknown
	model     string // "" when the spec does not say
	// annotatedModel is the pod's llmbench.io/model (Ollama's tag in our
	// chart): shown, not compared, since Ollama names models its own way.
	annotatedModel string
}

func (v *validation) facts(e *Engine, name string) *engineFacts {
	f := &engineFacts{Engine: e, name: name}
	nodes := map[string]bool{}
	for i := range e.pods {
		p := &e.pods[i]
		if p.Spec.NodeName != "" && !nodes[p.Spec.NodeName] {
			nodes[p.Spec.NodeName] = true
			f.nodes = append(f.nodes, p.Spec.NodeName)
		}
		if f.pod == nil || (!podReady(f.pod) && podReady(p)) {
			f.pod = p
		}
	}
	sort.Strings(f.nodes)
	if f.pod != nil {
		f.container = EngineContainer(f.pod, e.Type)
	}
	if f.container != nil {
		f.gpus = gpuOf(f.container, v.o.GPUResource)
		f.model = servedModel(e.Type, f.container)
	}
	if f.pod != nil {
		f.annotatedModel = f.pod.Annotations[ModelAnnotation]
	}
	return f
}

func (v *validation) add(name, engine string, st Status, detail string) {
	v.r.Checks = append(v.r.Checks, Check{Name: name, Engine: engine, Status: st, Detail: detail})
}

func (v *validation) podsReady() {
	for _, f := range v.engines {
		switch {
		case f.TotalPods == 0:
			how := "its EndpointSlices name no Pods; check the Service's endpoints"
			if sel := f.svc.Spec.Selector; len(sel) > 0 {
				how = fmt.Sprintf("scale its workload up or fix the selector (kubectl get pods -n %s -l %s)", f.Namespace, labels.SelectorFromSet(sel).String())
			}
			v.add(CheckPodsReady, f.Key(), Fail, fmt.Sprintf("no running Pods behind Service %s: %s", f.Key(), how))
		case f.ReadyPods == 0:
			p := f.pods[0]
			v.add(CheckPodsReady, f.Key(), Fail, fmt.Sprintf("0/%d Pods ready (%s); see why with kubectl describe pod %s -n %s", f.TotalPods, notReady(f.pods), p.Name, p.Namespace))
		case f.ReadyPods < f.TotalPods:
			v.add(CheckPodsReady, f.Key(), Warn, fmt.Sprintf("%d/%d Pods ready, not ready: %s; the Service sends requests only to ready Pods, so the engine would run below its planned capacity: wait for the rollout or fix those Pods", f.ReadyPods, f.TotalPods, notReady(f.pods)))
		default:
			v.add(CheckPodsReady, f.Key(), Pass, fmt.Sprintf("%d/%d Pods ready", f.ReadyPods, f.TotalPods))
		}
	}
}

// notReady names the Pods that are not ready, each with why.
func notReady(pods []corev1.Pod) string {
	var out []string
	for i := range pods {
		if p := &pods[i]; !podReady(p) {
			out = append(out, fmt.Sprintf("%s: %s", p.Name, podState(p)))
		}
	}
	return strings.Join(out, "; ")
}

func podState(p *corev1.Pod) string {
	if p.DeletionTimestamp != nil {
		return "Terminating"
	}
	parts := []string{string(p.Status.Phase)}
	if p.Status.Phase == "" {
		parts[0] = "Unknown"
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason != "" {
			parts = append(parts, c.Reason)
		}
	}
	for _, cs := range containerStatuses(p) {
		switch {
		case cs.State.Waiting != nil && cs.State.Waiting.Reason != "":
			parts = append(parts, fmt.Sprintf("container %s %s", cs.Name, cs.State.Waiting.Reason))
		case cs.State.Running != nil && !cs.Ready:
			parts = append(parts, fmt.Sprintf("container %s not ready", cs.Name))
		}
	}
	return strings.Join(parts, ", ")
}

func containerStatuses(p *corev1.Pod) []corev1.ContainerStatus {
	return append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...)
}

func (v *validation) restarts() {
	for _, f := range v.engines {
		if len(f.pods) == 0 {
			continue // pods-ready has said so
		}
		worst, hint := Pass, ""
		var issues []string
		for i := range f.pods {
			p := &f.pods[i]
			ready := podReady(p)
			for _, cs := range containerStatuses(p) {
				crash := cs.State.Waiting != nil && cs.State.Waiting.Reason == "CrashLoopBackOff"
				if !crash && cs.RestartCount == 0 {
					continue
				}
				st := Warn
				if crash || !ready {
					st = Fail
				}
				issues = append(issues, fmt.Sprintf("Pod %s container %s: %s", p.Name, cs.Name, restartText(cs, crash)))
				if worst != Fail && st != worst {
					worst = st
					hint = fmt.Sprintf("kubectl logs %s -c %s -n %s --previous", p.Name, cs.Name, p.Namespace)
				}
			}
		}
		switch worst {
		case Fail:
			v.add(CheckRestarts, f.Key(), Fail, fmt.Sprintf("%s; an engine that keeps restarting fails requests mid-benchmark: read why with %s", strings.Join(issues, "; "), hint))
		case Warn:
			v.add(CheckRestarts, f.Key(), Warn, fmt.Sprintf("%s; ready now, but a restart during a run fails its requests: check %s", strings.Join(issues, "; "), hint))
		default:
			v.add(CheckRestarts, f.Key(), Pass, fmt.Sprintf("no container restarts in %d Pod(s)", len(f.pods)))
		}
	}
}

func restartText(cs corev1.ContainerStatus, crash bool) string {
	var parts []string
	if crash {
		parts = append(parts, "CrashLoopBackOff")
	}
	parts = append(parts, fmt.Sprintf("%d restart(s)", cs.RestartCount))
	if t := cs.LastTerminationState.Terminated; t != nil {
		reason := t.Reason
		if reason == "" {
			reason = "terminated"
		}
		parts = append(parts, fmt.Sprintf("last %s (exit %d)", reason, t.ExitCode))
	}
	return strings.Join(parts, ", ")
}

func (v *validation) separateNodes() {
	if len(v.engines) < 2 {
		return
	}
	onNode := map[string][]string{}
	var nodes, unscheduled, placed []string
	for _, f := range v.engines {
		for _, n := range f.nodes {
			if onNode[n] == nil {
				nodes = append(nodes, n)
			}
			onNode[n] = append(onNode[n], f.name)
		}
		for _, p := range f.pods {
			if p.Spec.NodeName == "" {
				unscheduled = append(unscheduled, p.Namespace+"/"+p.Name)
			}
		}
		if len(f.nodes) > 0 {
			placed = append(placed, fmt.Sprintf("%s on %s", f.name, strings.Join(f.nodes, ", ")))
		}
	}
	sort.Strings(nodes)
	shared := false
	for _, n := range nodes {
		if es := onNode[n]; len(es) > 1 {
			shared = true
			v.add(CheckSeparateNodes, "", Fail, fmt.Sprintf("%s share node %s: they compete for its CPU, memory bandwidth and PCIe, so neither is measured alone; keep engines apart with pod anti-affinity on kubernetes.io/hostname or a nodeSelector per engine", joinAnd(es), n))
		}
	}
	switch {
	case shared:
	case len(unscheduled) > 0:
		v.add(CheckSeparateNodes, "", Warn, fmt.Sprintf("Pods not scheduled yet (%s), so whether engines share a node is unknown; validate again once they are scheduled", strings.Join(unscheduled, ", ")))
	default:
		v.add(CheckSeparateNodes, "", Pass, "each engine on its own node(s): "+strings.Join(placed, "; "))
	}
}

func (v *validation) gpuResources() {
	res := v.o.GPUResource
	var with []*engineFacts
	for _, f := range v.engines {
		if f.container != nil && f.gpus.count() > 0 {
			with = append(with, f)
		}
	}
	for _, f := range v.engines {
		if f.container == nil {
			continue
		}
		g, c := f.gpus, f.container.Name
		switch {
		case g.hasRequests && !g.hasLimits:
			v.add(CheckGPUResources, f.Key(), Fail, fmt.Sprintf("container %s requests %d %s but sets no limit; set resources.limits %s: %d, equal to the request", c, g.requests, g.resource, g.resource, g.requests))
		case g.hasRequests && g.requests != g.limits:
			v.add(CheckGPUResources, f.Key(), Fail, fmt.Sprintf("container %s requests %d %s but limits %d; set requests and limits to the same count", c, g.requests, g.resource, g.limits))
		case g.count() > 0:
			v.add(CheckGPUResources, f.Key(), Pass, fmt.Sprintf("container %s: %d %s (requests = limits)", c, g.count(), g.resource))
		case len(with) > 0:
			var others []string
			for _, w := range with {
				others = append(others, fmt.Sprintf("%s has %d", w.name, w.gpus.count()))
			}
			v.add(CheckGPUResources, f.Key(), Fail, fmt.Sprintf("%s has no %s limit while %s: it would run on CPU (or on a GPU nothing accounts for), which is not a fair comparison; set resources.limits %s on container %s", f.name, res, joinAnd(others), res, c))
		default:
			v.add(CheckGPUResources, f.Key(), Warn, fmt.Sprintf("no engine sets a %s limit: this compares CPU-only deployments; if your GPUs go by another resource name pass --gpu-resource (e.g. amd.com/gpu)", res))
		}
	}
	if len(with) < 2 {
		return
	}
	var counts []string
	equal := true
	for _, f := range with {
		counts = append(counts, fmt.Sprintf("%s %d", f.name, f.gpus.count()))
		equal = equal && f.gpus.count() == with[0].gpus.count()
	}
	if equal {
		v.add(CheckSameGPUCount, "", Pass, fmt.Sprintf("each engine has %d %s", with[0].gpus.count(), with[0].gpus.resource))
		return
	}
	v.add(CheckSameGPUCount, "", Warn, fmt.Sprintf("unequal GPUs (%s): the comparison would measure hardware as much as engines; give each engine the same %s limit", strings.Join(counts, ", "), res))
}

func (v *validation) gpuProducts() {
	var known []*engineFacts
	for _, f := range v.engines {
		if f.gpus.count() == 0 || len(f.nodes) == 0 {
			continue // no GPU to name, or nowhere yet
		}
		byProduct := map[string][]string{}
		var products, issues []string
		count := ""
		for _, n := range f.nodes {
			node := v.s.node(n)
			if node == nil {
				issues = append(issues, fmt.Sprintf("cannot read node %s (listing nodes needs cluster-scope RBAC: kubectl auth can-i list nodes)", n))
				continue
			}
			p := node.Labels[gpuProductLabel]
			if p == "" {
				issues = append(issues, fmt.Sprintf("node %s has no %s label, so its GPU model cannot be compared or reported; install NVIDIA GPU feature discovery (part of the GPU Operator) or label the node", n, gpuProductLabel))
				continue
			}
			if byProduct[p] == nil {
				products = append(products, p)
			}
			byProduct[p] = append(byProduct[p], n)
			if c := node.Labels[gpuCountLabel]; c != "" && count == "" {
				count = fmt.Sprintf(", %s per node", c)
			}
		}
		if len(products) > 1 {
			var on []string
			for _, p := range products {
				on = append(on, fmt.Sprintf("%s on %s", p, strings.Join(byProduct[p], ", ")))
			}
			issues = append(issues, fmt.Sprintf("its Pods run on different GPUs (%s); pin it to one model with nodeSelector %s", strings.Join(on, "; "), gpuProductLabel))
		}
		if len(issues) > 0 {
			v.add(CheckGPUProduct, f.Key(), Warn, strings.Join(issues, "; "))
			continue
		}
		f.product = products[0]
		known = append(known, f)
		v.add(CheckGPUProduct, f.Key(), Pass, fmt.Sprintf("%s%s on %s", f.product, count, strings.Join(f.nodes, ", ")))
	}
	if len(known) < 2 {
		return
	}
	var on []string
	same := true
	for _, f := range known {
		on = append(on, f.name+": "+f.product)
		same = same && f.product == known[0].product
	}
	if same {
		v.add(CheckSameGPUProduct, "", Pass, "every engine on "+known[0].product)
		return
	}
	v.add(CheckSameGPUProduct, "", Warn, fmt.Sprintf("engines run on different GPUs (%s): not a like-for-like comparison; pin every engine to one GPU model with nodeSelector %s", strings.Join(on, ", "), gpuProductLabel))
}

func (v *validation) images() {
	for _, f := range v.engines {
		if f.container == nil {
			continue
		}
		c := f.container
		args := clip(strings.Join(RedactArgs(append(append([]string{}, c.Command...), c.Args...)), " "), 120)
		if args == "" {
			args = "(the image's defaults)"
		}
		if imagePinned(c.Image) {
			v.add(CheckImage, f.Key(), Pass, fmt.Sprintf("%s, args: %s", c.Image, args))
			continue
		}
		pin := "a version tag or a digest"
		if d := runningDigest(f.pod, c.Name); d != "" {
			pin = fmt.Sprintf("a version tag or the running digest %s@%s", imageRepo(c.Image), d)
		}
		v.add(CheckImage, f.Key(), Warn, fmt.Sprintf("%s is not pinned: a restart can pull another version and the report could not say which ran; pin %s; args: %s", c.Image, pin, args))
	}
}

// sameModel warns when the engines were started with different models.
func (v *validation) sameModel() {
	var read []*engineFacts
	var unread []string
	for _, f := range v.engines {
		switch {
		case f.model != "":
			read = append(read, f)
		case f.annotatedModel != "":
			unread = append(unread, fmt.Sprintf("%s (annotated %s %q)", f.name, ModelAnnotation, f.annotatedModel))
		case f.container != nil:
			unread = append(unread, f.name)
		}
	}
	if len(read) < 2 {
		return
	}
	var models []string
	same := true
	for _, f := range read {
		models = append(models, f.name+": "+f.model)
		same = same && strings.EqualFold(f.model, read[0].model)
	}
	if !same {
		v.add(CheckSameModel, "", Warn, fmt.Sprintf("engines serve different models (%s): the comparison would measure models, not engines; deploy the same model (--model for vLLM, --model-id for TGI)", strings.Join(models, ", ")))
		return
	}
	detail := "every engine whose spec names its model serves " + read[0].model
	if len(unread) > 0 {
		detail += fmt.Sprintf(" (not readable from the spec: %s; check it serves the same)", strings.Join(unread, ", "))
	}
	v.add(CheckSameModel, "", Pass, detail)
}

// sameContext warns when the engines would not take the same prompts:
// a different context length, or an Ollama left at its default, which cuts
// a longer prompt (or conversation) without an error where vLLM and TGI
// serve or refuse it, so it would look fast on less work.
func (v *validation) sameContext() {
	var read, unread []string
	lengths := map[int]bool{}
	var first int
	var ollamaUnset []string
	for _, f := range v.engines {
		if f.container == nil {
			continue
		}
		n, from := contextLength(f.Type, f.container)
		switch {
		case n > 0:
			read = append(read, fmt.Sprintf("%s: %d (%s)", f.name, n, from))
			lengths[n] = true
			if first == 0 {
				first = n
			}
		case f.Type == engine.EngineOllama:
			ollamaUnset = append(ollamaUnset, f.name)
		default:
			unread = append(unread, f.name)
		}
	}
	if len(read)+len(unread)+len(ollamaUnset) < 2 {
		return
	}
	if len(ollamaUnset) > 0 {
		to := "the others' context length"
		if len(lengths) == 1 {
			to = fmt.Sprint(first)
		}
		v.add(CheckSameContext, "", Warn, fmt.Sprintf("%s: OLLAMA_CONTEXT_LENGTH is not set, so Ollama's default context (4096 tokens in recent versions, 2048 in older ones) cuts longer prompts and conversations without an error while vLLM and TGI serve or refuse them; set the env OLLAMA_CONTEXT_LENGTH to %s",
			strings.Join(ollamaUnset, ", "), to))
		return
	}
	if len(lengths) > 1 {
		v.add(CheckSameContext, "", Warn, fmt.Sprintf("engines allow different context lengths (%s): a prompt one engine serves another may refuse or cut; start them with the same length", strings.Join(read, ", ")))
		return
	}
	if len(read) == 0 {
		return
	}
	detail := fmt.Sprintf("every engine whose spec says allows %d tokens of context", first)
	if len(unread) > 0 {
		detail += fmt.Sprintf(" (not set, so the model's own maximum: %s)", strings.Join(unread, ", "))
	}
	v.add(CheckSameContext, "", Pass, detail)
}

func where(ns string) string {
	if ns == "" {
		return "any namespace"
	}
	return fmt.Sprintf("namespace %q", ns)
}

func joinAnd(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
