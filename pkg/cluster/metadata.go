package cluster

import (
	"regexp"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/placement"
)

// Describe records how an engine is deployed and was reached.
func (s *Snapshot) Describe(target string, r *Reached, gpuResource string) placement.EngineMeta {
	e := r.Engine
	m := placement.EngineMeta{Target: target, Engine: e.Type, Namespace: e.Namespace, Service: e.Service, Evidence: e.Evidence,
		Access: r.Way.Method, AccessDetail: r.Way.Detail, ReadyPods: e.ReadyPods, TotalPods: e.TotalPods, Tried: r.Tried}
	nodes := map[string]bool{}
	for i := range e.pods {
		p := &e.pods[i]
		if p.Spec.NodeName != "" {
			nodes[p.Spec.NodeName] = true
		}
		if m.Image == "" {
			if c := EngineContainer(p, e.Type); c != nil {
				m.Image = c.Image
				m.Args = RedactArgs(append(append([]string{}, c.Command...), c.Args...))
				m.GPUCount = gpuOf(c, gpuResource).count()
			}
		}
	}
	for n := range nodes {
		m.Nodes = append(m.Nodes, n)
		if node := s.node(n); node != nil && m.GPUProduct == "" {
			m.GPUProduct = node.Labels[gpuProductLabel]
		}
	}
	sort.Strings(m.Nodes)
	return m
}

// EngineContainer is the container whose image names the engine, else
// the first one.
func EngineContainer(p *corev1.Pod, t engine.EngineType) *corev1.Container {
	for i := range p.Spec.Containers {
		if it, ok := engineFromImage(p.Spec.Containers[i].Image); ok && it == t {
			return &p.Spec.Containers[i]
		}
	}
	if len(p.Spec.Containers) > 0 {
		return &p.Spec.Containers[0]
	}
	return nil
}

// secretArg matches a flag whose name has a secret word as one of its
// dash- or underscore-separated parts: --api-key, --hf-token, but not
// --max-input-tokens.
var secretArg = regexp.MustCompile(`(?i)^-+(?:[a-z0-9]+[-_])*(?:key|token|secret|password|passwd|credentials?)(?:[-_][a-z0-9]+)*$`)

// ModelAnnotation on an engine's pod names the model it serves where its
// command line cannot (Ollama pulls per request); the Helm charts set it.
const ModelAnnotation = "llmbench.io/model"

// RedactArgs hides the values of arguments that look like secrets
// (vLLM's --api-key, a --hf-token): manifests are shared.
func RedactArgs(args []string) []string {
	out := make([]string, len(args))
	hideNext := false
	for i, a := range args {
		switch {
		case hideNext:
			out[i], hideNext = "REDACTED", false
		case strings.HasPrefix(a, "-") && secretArg.MatchString(strings.SplitN(a, "=", 2)[0]):
			if name, _, ok := strings.Cut(a, "="); ok {
				out[i] = name + "=REDACTED"
			} else {
				out[i], hideNext = a, true
			}
		default:
			out[i] = a
		}
	}
	return out
}
