package cluster

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
)

// ServiceMonitorGVR is the Prometheus Operator's ServiceMonitor; it
// exists only where API discovery says so.
var ServiceMonitorGVR = schema.GroupVersionResource{Group: "monitoring.coreos.com", Version: "v1", Resource: "servicemonitors"}

// MetricsPlace is where an engine's Prometheus metrics are served, as the
// cluster's objects tell.
type MetricsPlace struct {
	// Found says by what: "ServiceMonitor NAME", "Pod annotation
	// prometheus.io/port", "Service annotation prometheus.io/port",
	// "Service port NAME" or "API port".
	Found string `json:"found"`
	// Port is the Service port, or for a Pod annotation the container port.
	Port   int32  `json:"port"`
	Path   string `json:"path"`
	Scheme string `json:"scheme"`
	// OnAPIPort: the metrics share the engine's API port, so they are
	// reached the way the engine is.
	OnAPIPort bool `json:"on_api_port"`
	// servicePort is set when Port is the Service's.
	servicePort *corev1.ServicePort
}

func (m MetricsPlace) String() string {
	if m.OnAPIPort {
		return fmt.Sprintf("%s (%s)", m.Path, m.Found)
	}
	return fmt.Sprintf(":%d%s (%s)", m.Port, m.Path, m.Found)
}

// metricsPortNames are Service port names that carry metrics by convention.
var metricsPortNames = []string{"metrics", "http-metrics", "prometheus", "monitoring"}

// Metrics finds where e's metrics live, in the order a team's own
// monitoring would trust: a ServiceMonitor selecting the Service (what
// its Prometheus scrapes), the Pods' prometheus.io annotations, the
// Service's, a Service port named for metrics, and for vLLM and TGI the
// API port itself. ok is false where none says so (Ollama has none).
func (s *Snapshot) Metrics(e *Engine) (MetricsPlace, bool) {
	if m, ok := s.serviceMonitorPlace(e); ok {
		return m, true
	}
	for _, p := range e.pods {
		if m, ok := annotationPlace(p.Annotations, "Pod annotation"); ok {
			for _, sp := range e.svc.Spec.Ports {
				if cp, err := ContainerPort(sp, &p); err == nil && cp == m.Port {
					m.OnAPIPort = sp.Port == e.port.Port
				}
			}
			return m, true
		}
	}
	if m, ok := annotationPlace(e.svc.Annotations, "Service annotation"); ok {
		for i, sp := range e.svc.Spec.Ports {
			if sp.Port == m.Port {
				m.servicePort = &e.svc.Spec.Ports[i]
				m.OnAPIPort = sp.Port == e.port.Port
				return m, true
			}
		}
	}
	for _, name := range metricsPortNames {
		for i, sp := range e.svc.Spec.Ports {
			if sp.Name == name {
				return MetricsPlace{Found: "Service port " + name, Port: sp.Port, Path: "/metrics", Scheme: "http",
					OnAPIPort: sp.Port == e.port.Port, servicePort: &e.svc.Spec.Ports[i]}, true
			}
		}
	}
	if engine.ServesMetrics(e.Type) {
		return MetricsPlace{Found: "API port", Port: e.port.Port, Path: "/metrics", Scheme: "http", OnAPIPort: true, servicePort: &e.port}, true
	}
	return MetricsPlace{}, false
}

// annotationPlace reads prometheus.io/scrape, port, path and scheme:
// scrape "false" opts out, and a port is required.
func annotationPlace(a map[string]string, by string) (MetricsPlace, bool) {
	if a["prometheus.io/scrape"] == "false" || a["prometheus.io/port"] == "" {
		return MetricsPlace{}, false
	}
	port, err := strconv.Atoi(a["prometheus.io/port"])
	if err != nil || port <= 0 || port > 65535 {
		return MetricsPlace{}, false
	}
	m := MetricsPlace{Found: by + " prometheus.io/port", Port: int32(port), Path: "/metrics", Scheme: "http"}
	if p := a["prometheus.io/path"]; strings.HasPrefix(p, "/") {
		m.Path = p
	}
	if a["prometheus.io/scheme"] == "https" {
		m.Scheme = "https"
	}
	return m, true
}

// serviceMonitorPlace is the first endpoint of a ServiceMonitor in the
// engine's namespace whose selector matches the Service's labels.
func (s *Snapshot) serviceMonitorPlace(e *Engine) (MetricsPlace, bool) {
	for _, sm := range s.ServiceMonitors {
		if !monitorSelects(&sm, e) {
			continue
		}
		eps, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
		for _, raw := range eps {
			ep, ok := raw.(map[string]any)
			if !ok {
				continue
			}
			port, _ := ep["port"].(string)
			path, _ := ep["path"].(string)
			scheme, _ := ep["scheme"].(string)
			if path == "" {
				path = "/metrics"
			}
			if scheme == "" {
				scheme = "http"
			}
			for i, sp := range e.svc.Spec.Ports {
				if port != "" && sp.Name == port {
					return MetricsPlace{Found: "ServiceMonitor " + sm.GetName(), Port: sp.Port, Path: path, Scheme: scheme,
						OnAPIPort: sp.Port == e.port.Port, servicePort: &e.svc.Spec.Ports[i]}, true
				}
			}
		}
	}
	return MetricsPlace{}, false
}

func monitorSelects(sm *unstructured.Unstructured, e *Engine) bool {
	if sm.GetNamespace() != e.Namespace {
		names, found, _ := unstructured.NestedStringSlice(sm.Object, "spec", "namespaceSelector", "matchNames")
		anyNS, _, _ := unstructured.NestedBool(sm.Object, "spec", "namespaceSelector", "any")
		if !anyNS && (!found || !slices.Contains(names, e.Namespace)) {
			return false
		}
	}
	ml, _, _ := unstructured.NestedStringMap(sm.Object, "spec", "selector", "matchLabels")
	if exprs, found, _ := unstructured.NestedSlice(sm.Object, "spec", "selector", "matchExpressions"); found && len(exprs) > 0 {
		return false // not evaluated: better no match than a wrong one
	}
	if len(ml) == 0 {
		return false
	}
	return labels.SelectorFromSet(ml).Matches(labels.Set(e.svc.Labels))
}
