// Package placement is the cluster's account of a run as plain data:
// where each engine ran (Service, image, nodes, GPUs), how it was
// recognised and how the operator's machine reached it. Discovery
// (pkg/cluster) fills it, the manifest keeps it and the reports read it,
// so the writers never import the package that knows Kubernetes.
package placement
