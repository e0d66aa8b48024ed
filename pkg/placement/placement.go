package placement

import (
	"fmt"
	"strings"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
)

// Info is the cluster context of a run, for its manifest: a laptop
// measuring through a port-forward sees more latency than an in-cluster
// client, and a report must say which it was.
type Info struct {
	Context       string       `json:"context,omitempty"`
	Server        string       `json:"server,omitempty"`
	ServerVersion string       `json:"server_version,omitempty"`
	Namespace     string       `json:"namespace"`
	Engines       []EngineMeta `json:"engines"`
	Notes         []string     `json:"notes,omitempty"`
}

// EngineMeta is one benchmarked engine as deployed.
type EngineMeta struct {
	Target       string            `json:"target"`
	Engine       engine.EngineType `json:"engine"`
	Namespace    string            `json:"namespace"`
	Service      string            `json:"service"`
	Evidence     Evidence          `json:"evidence"`
	Access       Method            `json:"access"`
	AccessDetail string            `json:"access_detail,omitempty"`
	Image        string            `json:"image,omitempty"`
	Args         []string          `json:"args,omitempty"`
	ReadyPods    int               `json:"ready_pods"`
	TotalPods    int               `json:"total_pods"`
	Nodes        []string          `json:"nodes,omitempty"`
	GPUProduct   string            `json:"gpu_product,omitempty"`
	GPUCount     int64             `json:"gpu_count"`
	Tried        []string          `json:"tried,omitempty"`
}

// Method is how the operator's machine reaches an engine.
type Method string

const (
	MethodAuto        Method = "auto"
	MethodRoute       Method = "route"
	MethodIngress     Method = "ingress"
	MethodNodePort    Method = "nodeport"
	MethodPortForward Method = "port-forward"
	MethodProxy       Method = "proxy"
	// MethodInCluster is the Service's cluster DNS name, from load
	// workers inside the cluster (run --in-cluster): no tunnel, no
	// operator network in the numbers.
	MethodInCluster Method = "in-cluster"
)

// AutoOrder is the order --access auto tries: the ways a user's traffic
// takes first (closest to what chat users meet), the tunnels last.
var AutoOrder = []Method{MethodRoute, MethodIngress, MethodNodePort, MethodPortForward, MethodProxy}

// ParseMethod reads --access.
func ParseMethod(s string) (Method, error) {
	for _, m := range append([]Method{MethodAuto}, AutoOrder...) {
		if strings.EqualFold(s, string(m)) {
			return m, nil
		}
	}
	return "", fmt.Errorf("unknown access method %q: use auto, route, ingress, nodeport, port-forward or proxy", s)
}

// Evidence says how a Service was recognised, most trusted first. A
// weaker kind is only used when no stronger one matched.
type Evidence string

const (
	ByLabel      Evidence = "label"       // llmbench.io/engine
	ByChartLabel Evidence = "chart-label" // well-known engine chart labels
	ByKServe     Evidence = "kserve"      // KServe InferenceService predictor
	ByImage      Evidence = "image"       // container image of a backing Pod
	ByName       Evidence = "name"        // Service name or port
)

var evidenceRank = map[Evidence]int{ByLabel: 0, ByChartLabel: 1, ByKServe: 2, ByImage: 3, ByName: 4}

// Trust orders evidence: lower is more trusted.
func (e Evidence) Trust() int {
	if r, ok := evidenceRank[e]; ok {
		return r
	}
	return len(evidenceRank)
}
