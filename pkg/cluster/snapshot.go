package cluster

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// RouteGVR is OpenShift's Route; it exists only where API discovery says so.
var RouteGVR = schema.GroupVersionResource{Group: "route.openshift.io", Version: "v1", Resource: "routes"}

// Snapshot is what discovery reads from the API server, once, so that
// every decision after it is a pure function of real objects.
type Snapshot struct {
	// Namespace is "" for all namespaces.
	Namespace string
	Services  []corev1.Service
	Pods      []corev1.Pod
	Slices    []discoveryv1.EndpointSlice
	Ingresses []networkingv1.Ingress
	Routes    []unstructured.Unstructured
	Nodes     []corev1.Node
	// ServiceMonitors are the Prometheus Operator's, where it is installed.
	ServiceMonitors []unstructured.Unstructured
	// GPUExporters are the DCGM exporter Pods in every namespace the user
	// can list, one per GPU node.
	GPUExporters []corev1.Pod
	// HasRoutes says the cluster serves route.openshift.io/v1.
	HasRoutes bool
	// Notes are things that could not be read (missing RBAC for an
	// optional resource) and what was done without them.
	Notes []string
}

// Read lists what discovery needs in a namespace ("" for all). Services and
// Pods are required; Ingresses, Routes, EndpointSlices and Nodes only widen
// the ways in, so missing RBAC for them becomes a note.
func (c *Client) Read(ctx context.Context, namespace string) (*Snapshot, error) {
	s := &Snapshot{Namespace: namespace}
	opts := metav1.ListOptions{}
	svcs, err := c.Kube.CoreV1().Services(namespace).List(ctx, opts)
	if err != nil {
		return nil, explain(err, "list", "services", namespace)
	}
	s.Services = svcs.Items
	pods, err := c.Kube.CoreV1().Pods(namespace).List(ctx, opts)
	if err != nil {
		return nil, explain(err, "list", "pods", namespace)
	}
	s.Pods = pods.Items
	optional := func(verb, resource string, err error) {
		var pe *PermissionError
		if e := explain(err, verb, resource, namespace); errors.As(e, &pe) {
			s.Notes = append(s.Notes, fmt.Sprintf("cannot %s %s (RBAC); going without them", verb, resource))
		} else if err != nil {
			s.Notes = append(s.Notes, e.Error())
		}
	}
	if l, err := c.Kube.DiscoveryV1().EndpointSlices(namespace).List(ctx, opts); err == nil {
		s.Slices = l.Items
	} else {
		optional("list", "endpointslices", err)
	}
	if l, err := c.Kube.NetworkingV1().Ingresses(namespace).List(ctx, opts); err == nil {
		s.Ingresses = l.Items
	} else {
		optional("list", "ingresses", err)
	}
	if l, err := c.Kube.CoreV1().Nodes().List(ctx, opts); err == nil {
		s.Nodes = l.Items
	} else {
		optional("list", "nodes", err)
	}
	if res, err := c.Kube.Discovery().ServerResourcesForGroupVersion(RouteGVR.GroupVersion().String()); err == nil {
		for _, r := range res.APIResources {
			if r.Name == RouteGVR.Resource {
				s.HasRoutes = true
			}
		}
	}
	if s.HasRoutes {
		if l, err := c.Dynamic.Resource(RouteGVR).Namespace(namespace).List(ctx, opts); err == nil {
			s.Routes = l.Items
		} else {
			optional("list", "routes.route.openshift.io", err)
		}
	}
	if res, err := c.Kube.Discovery().ServerResourcesForGroupVersion(ServiceMonitorGVR.GroupVersion().String()); err == nil {
		for _, r := range res.APIResources {
			if r.Name != ServiceMonitorGVR.Resource {
				continue
			}
			if l, err := c.Dynamic.Resource(ServiceMonitorGVR).Namespace(namespace).List(ctx, opts); err == nil {
				s.ServiceMonitors = l.Items
			} else {
				optional("list", "servicemonitors.monitoring.coreos.com", err)
			}
		}
	}
	s.readGPUExporters(ctx, c)
	return s, nil
}

// node returns a Node by name.
func (s *Snapshot) node(name string) *corev1.Node {
	for i := range s.Nodes {
		if s.Nodes[i].Name == name {
			return &s.Nodes[i]
		}
	}
	return nil
}
