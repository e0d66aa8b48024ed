package cluster

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// dcgmSelectors are the labels the NVIDIA GPU Operator and the
// dcgm-exporter Helm chart put on the exporter's Pods.
var dcgmSelectors = []string{"app=nvidia-dcgm-exporter", "app.kubernetes.io/name=dcgm-exporter"}

// dcgmPort is dcgm-exporter's default listen port.
const dcgmPort = 9400

// readGPUExporters lists the DCGM exporter Pods in all namespaces (it
// usually runs in gpu-operator or its own); without the RBAC to list Pods
// cluster-wide it notes how to name one instead.
func (s *Snapshot) readGPUExporters(ctx context.Context, c *Client) {
	seen := map[string]bool{}
	for _, sel := range dcgmSelectors {
		l, err := c.Kube.CoreV1().Pods("").List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			s.Notes = append(s.Notes, "cannot list pods in all namespaces to find a DCGM exporter; GPU metrics need --gpu-metrics URL")
			return
		}
		for _, p := range l.Items {
			if k := p.Namespace + "/" + p.Name; !seen[k] && podReady(&p) {
				seen[k] = true
				s.GPUExporters = append(s.GPUExporters, p)
			}
		}
	}
}

// GPUExporter is the DCGM exporter Pod on an engine's node, with the port
// it serves on.
type GPUExporter struct {
	Namespace string `json:"namespace"`
	Pod       string `json:"pod"`
	Node      string `json:"node"`
	Port      int32  `json:"port"`
	// EnginePods are the engine's Pods on that node ("namespace/name"),
	// whose GPUs the exporter's Kubernetes mode labels.
	EnginePods []string `json:"engine_pods"`
	// Note says what the exporter does not cover (replicas on other
	// nodes).
	Note string `json:"note,omitempty"`
}

func (g GPUExporter) String() string {
	return fmt.Sprintf("DCGM %s/%s on %s", g.Namespace, g.Pod, g.Node)
}

// GPUExporterFor finds the DCGM exporter on the node of e's first Ready
// Pod. ok is false where there is none.
func (s *Snapshot) GPUExporterFor(e *Engine) (GPUExporter, bool) {
	nodes := map[string][]string{}
	var order []string
	for _, p := range e.pods {
		if !podReady(&p) || p.Spec.NodeName == "" {
			continue
		}
		if nodes[p.Spec.NodeName] == nil {
			order = append(order, p.Spec.NodeName)
		}
		nodes[p.Spec.NodeName] = append(nodes[p.Spec.NodeName], p.Namespace+"/"+p.Name)
	}
	for _, n := range order {
		for _, x := range s.GPUExporters {
			if x.Spec.NodeName != n {
				continue
			}
			g := GPUExporter{Namespace: x.Namespace, Pod: x.Name, Node: n, Port: exporterPort(&x), EnginePods: nodes[n]}
			if len(order) > 1 {
				g.Note = fmt.Sprintf("the engine runs on %d nodes; only %s's GPUs are scraped", len(order), n)
			}
			return g, true
		}
	}
	return GPUExporter{}, false
}

func exporterPort(p *corev1.Pod) int32 {
	for _, c := range p.Spec.Containers {
		for _, cp := range c.Ports {
			if cp.Name == "metrics" || cp.Name == "gpu-metrics" {
				return cp.ContainerPort
			}
		}
	}
	return dcgmPort
}
