package cluster

import (
	"fmt"
	"strings"

	"github.com/llmbench/kubectl-llmbench/pkg/placement"
)

// InClusterURL is the engine Service's address from inside the cluster:
// its DNS name and Service port (https when the port says so).
func (e *Engine) InClusterURL() string {
	scheme := "http"
	if ap := e.port.AppProtocol; (ap != nil && strings.EqualFold(*ap, "https")) || strings.Contains(strings.ToLower(e.port.Name), "https") || e.port.Port == 443 {
		scheme = "https"
	}
	return fmt.Sprintf("%s://%s.%s.svc:%d", scheme, e.Service, e.Namespace, e.port.Port)
}

// InCluster is the engine reached from inside the cluster, described as
// Reach's result is, for the manifest.
func (e *Engine) InCluster() *Reached {
	return &Reached{Engine: e, Way: Way{Method: placement.MethodInCluster, URL: e.InClusterURL(), Detail: "the Service's cluster DNS name, from the load workers"}}
}

// EngineNodes are the nodes the engines' Pods run on.
func EngineNodes(es []*Engine) []string {
	seen := map[string]bool{}
	var out []string
	for _, e := range es {
		for i := range e.pods {
			if n := e.pods[i].Spec.NodeName; n != "" && !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	return out
}

// EnginesOnNode names the engines running on node.
func EnginesOnNode(es []*Engine, names []string, node string) []string {
	var out []string
	for i, e := range es {
		for j := range e.pods {
			if e.pods[j].Spec.NodeName == node {
				out = append(out, names[i])
				break
			}
		}
	}
	return out
}
