package cluster

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/placement"
)

// Engine is one Service recognised as an inference engine, with the Pods
// behind it.
type Engine struct {
	Type      engine.EngineType  `json:"engine"`
	Namespace string             `json:"namespace"`
	Service   string             `json:"service"`
	Port      int32              `json:"port"`
	PortName  string             `json:"port_name,omitempty"`
	Evidence  placement.Evidence `json:"evidence"`
	ReadyPods int                `json:"ready_pods"`
	TotalPods int                `json:"total_pods"`

	svc  *corev1.Service
	port corev1.ServicePort
	pods []corev1.Pod
}

// Key is NAMESPACE/SERVICE.
func (e *Engine) Key() string { return e.Namespace + "/" + e.Service }

// ServiceObject is the Service as read from the API server.
func (e *Engine) ServiceObject() *corev1.Service { return e.svc }

// Pods are the Pods behind the Service.
func (e *Engine) Pods() []corev1.Pod { return e.pods }

// Engines recognises every engine Service in the snapshot, in namespace
// and name order. Services without a usable TCP port are skipped.
func (s *Snapshot) Engines() []*Engine {
	var out []*Engine
	for i := range s.Services {
		svc := &s.Services[i]
		if svc.Spec.Type == corev1.ServiceTypeExternalName {
			continue
		}
		pods := s.podsBehind(svc)
		t, ev, ok := Identify(svc, pods)
		if !ok {
			continue
		}
		port, ok := EnginePort(svc, t)
		if !ok {
			continue
		}
		e := &Engine{Type: t, Namespace: svc.Namespace, Service: svc.Name, Port: port.Port, PortName: port.Name,
			Evidence: ev, svc: svc, port: port, pods: pods, TotalPods: len(pods)}
		for _, p := range pods {
			if podReady(&p) {
				e.ReadyPods++
			}
		}
		out = append(out, e)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return dropShadows(out)
}

// dropShadows removes a headless Service that fronts exactly the same Pods
// as a regular Service of the same engine (charts often create both).
func dropShadows(es []*Engine) []*Engine {
	podSet := func(e *Engine) string {
		var n []string
		for _, p := range e.pods {
			n = append(n, p.Name)
		}
		sort.Strings(n)
		return e.Namespace + "|" + string(e.Type) + "|" + strings.Join(n, ",")
	}
	regular := map[string]bool{}
	for _, e := range es {
		if e.svc.Spec.ClusterIP != corev1.ClusterIPNone && len(e.pods) > 0 {
			regular[podSet(e)] = true
		}
	}
	var out []*Engine
	for _, e := range es {
		if e.svc.Spec.ClusterIP == corev1.ClusterIPNone && regular[podSet(e)] {
			continue
		}
		out = append(out, e)
	}
	return out
}

// podsBehind finds a Service's Pods by its selector, or, for a Service
// without one, by the Pod references in its EndpointSlices.
func (s *Snapshot) podsBehind(svc *corev1.Service) []corev1.Pod {
	var out []corev1.Pod
	if len(svc.Spec.Selector) > 0 {
		sel := labels.SelectorFromSet(svc.Spec.Selector)
		for _, p := range s.Pods {
			if p.Namespace == svc.Namespace && sel.Matches(labels.Set(p.Labels)) && !podFinished(&p) {
				out = append(out, p)
			}
		}
		return out
	}
	names := map[string]bool{}
	for _, sl := range s.Slices {
		if sl.Namespace != svc.Namespace || sl.Labels["kubernetes.io/service-name"] != svc.Name {
			continue
		}
		for _, ep := range sl.Endpoints {
			if ep.TargetRef != nil && ep.TargetRef.Kind == "Pod" {
				names[ep.TargetRef.Name] = true
			}
		}
	}
	for _, p := range s.Pods {
		if p.Namespace == svc.Namespace && names[p.Name] && !podFinished(&p) {
			out = append(out, p)
		}
	}
	return out
}

func podReady(p *corev1.Pod) bool {
	if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func podFinished(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

// Select keeps the engines to benchmark. services (NAME or NAMESPACE/NAME,
// from --service) pick explicitly; otherwise each engine type must be
// unambiguous: the most trusted evidence wins, and two Services equally
// trusted for one engine are an error that lists them.
func Select(es []*Engine, services []string) ([]*Engine, []string, error) {
	var notes []string
	if len(services) > 0 {
		var out []*Engine
		for _, want := range services {
			found := false
			for _, e := range es {
				if want == e.Service || want == e.Key() {
					out = append(out, e)
					found = true
				}
			}
			if !found {
				return nil, nil, fmt.Errorf("--service %q: no engine Service by that name; found: %s", want, keys(es))
			}
		}
		return out, nil, nil
	}
	byType := map[engine.EngineType][]*Engine{}
	var order []engine.EngineType
	for _, e := range es {
		if byType[e.Type] == nil {
			order = append(order, e.Type)
		}
		byType[e.Type] = append(byType[e.Type], e)
	}
	var out []*Engine
	var ambiguous []string
	for _, t := range order {
		group := byType[t]
		sort.SliceStable(group, func(i, j int) bool { return group[i].Evidence.Trust() < group[j].Evidence.Trust() })
		best := group[0].Evidence.Trust()
		var top []*Engine
		for _, e := range group {
			if e.Evidence.Trust() == best {
				top = append(top, e)
			}
		}
		if len(top) > 1 {
			var names []string
			for _, e := range top {
				names = append(names, fmt.Sprintf("%s (%s)", e.Key(), e.Evidence))
			}
			ambiguous = append(ambiguous, fmt.Sprintf("%d %s Services: %s", len(top), t, strings.Join(names, ", ")))
			continue
		}
		out = append(out, top[0])
		for _, e := range group[1:] {
			notes = append(notes, fmt.Sprintf("%s: using %s (%s) over %s (only %s)", t, top[0].Key(), top[0].Evidence, e.Key(), e.Evidence))
		}
	}
	if len(ambiguous) > 0 {
		return nil, nil, fmt.Errorf("more than one engine of a kind, and nothing says which to benchmark: %s; pick with --service NAME (repeatable)", strings.Join(ambiguous, "; "))
	}
	return out, notes, nil
}

func keys(es []*Engine) string {
	if len(es) == 0 {
		return "none"
	}
	var k []string
	for _, e := range es {
		k = append(k, e.Key())
	}
	return strings.Join(k, ", ")
}

// TargetNames names each engine by its type, or by its Service where
// one type appears more than once.
func TargetNames(es []*Engine) []string {
	count := map[engine.EngineType]int{}
	for _, e := range es {
		count[e.Type]++
	}
	names := make([]string, len(es))
	for i, e := range es {
		names[i] = string(e.Type)
		if count[e.Type] > 1 {
			names[i] = e.Service
		}
	}
	return names
}
