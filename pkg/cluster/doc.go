// Package cluster finds LLM engines in a Kubernetes namespace, decides how
// the operator's machine can reach them (OpenShift Route, Ingress,
// NodePort, port-forward or the API server's service proxy), checks the
// layout is a fair comparison (validate), and records the cluster context
// of a run. It produces engine.Targets; pkg/bench knows nothing of
// Kubernetes.
package cluster
