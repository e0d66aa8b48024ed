package cluster

import (
	"fmt"
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/llmbench/kubectl-llmbench/pkg/placement"
)

// Way is one way in to an engine. URL is empty for port-forward until the
// tunnel is open.
type Way struct {
	Method placement.Method `json:"method"`
	URL    string           `json:"url,omitempty"`
	Detail string           `json:"detail,omitempty"`
}

// Ways lists every way in to an engine the snapshot shows, in AutoOrder.
// apiServer is the API server's base URL, for the service proxy.
func (s *Snapshot) Ways(e *Engine, apiServer string) []Way {
	var out []Way
	out = append(out, s.routeWays(e)...)
	out = append(out, s.ingressWays(e)...)
	out = append(out, s.nodePortWays(e)...)
	if pod, port, err := s.forwardTarget(e); err == nil {
		out = append(out, Way{Method: placement.MethodPortForward, Detail: fmt.Sprintf("pod %s port %d", pod.Name, port)})
	}
	if apiServer != "" {
		out = append(out, Way{Method: placement.MethodProxy, URL: ProxyURL(apiServer, e.Namespace, e.Service, e.port), Detail: "API server service proxy"})
	}
	return out
}

// WaysVia are the ways in that method allows (auto or "": all), in
// AutoOrder: what Reach tries, one by one.
func (s *Snapshot) WaysVia(e *Engine, apiServer string, method placement.Method) []Way {
	var out []Way
	for _, w := range s.Ways(e, apiServer) {
		if method == placement.MethodAuto || method == "" || w.Method == method {
			out = append(out, w)
		}
	}
	return out
}

// routeWays are the OpenShift Routes to the Service: https when the
// Route terminates TLS.
func (s *Snapshot) routeWays(e *Engine) []Way {
	var out []Way
	for _, r := range s.Routes {
		if r.GetNamespace() != e.Namespace || !routeTargets(&r, e) {
			continue
		}
		host, _, _ := unstructured.NestedString(r.Object, "spec", "host")
		if host == "" {
			ingress, _, _ := unstructured.NestedSlice(r.Object, "status", "ingress")
			if len(ingress) > 0 {
				if m, ok := ingress[0].(map[string]any); ok {
					host, _ = m["host"].(string)
				}
			}
		}
		if host == "" {
			continue
		}
		scheme := "http"
		if tls, found, _ := unstructured.NestedMap(r.Object, "spec", "tls"); found && tls != nil {
			scheme = "https"
		}
		path, _, _ := unstructured.NestedString(r.Object, "spec", "path")
		out = append(out, Way{Method: placement.MethodRoute, URL: joinURL(scheme, host, path), Detail: "route " + r.GetName()})
	}
	return out
}

func routeTargets(r *unstructured.Unstructured, e *Engine) bool {
	kind, _, _ := unstructured.NestedString(r.Object, "spec", "to", "kind")
	name, _, _ := unstructured.NestedString(r.Object, "spec", "to", "name")
	if (kind != "" && kind != "Service") || name != e.Service {
		return false
	}
	// spec.port.targetPort names the Service's target port (or its name);
	// a Route to another port of the Service is not the engine.
	tp, found, _ := unstructured.NestedFieldNoCopy(r.Object, "spec", "port", "targetPort")
	if !found || tp == nil {
		return true
	}
	switch v := tp.(type) {
	case string:
		return v == e.port.Name || v == e.port.TargetPort.String() || v == strconv.Itoa(int(e.port.Port))
	case int64:
		return int32(v) == e.port.TargetPort.IntVal || int32(v) == e.port.Port
	case float64:
		return int32(v) == e.port.TargetPort.IntVal || int32(v) == e.port.Port
	}
	return true
}

// ingressWays are Ingress rules whose backend is the Service's engine
// port: https when the host is listed under spec.tls.
func (s *Snapshot) ingressWays(e *Engine) []Way {
	var out []Way
	for _, ing := range s.Ingresses {
		if ing.Namespace != e.Namespace {
			continue
		}
		lb := ""
		for _, i := range ing.Status.LoadBalancer.Ingress {
			if i.Hostname != "" {
				lb = i.Hostname
			} else if i.IP != "" {
				lb = i.IP
			}
			if lb != "" {
				break
			}
		}
		for _, rule := range ing.Spec.Rules {
			if rule.HTTP == nil {
				continue
			}
			host := rule.Host
			if host == "" {
				host = lb
			}
			if host == "" || strings.HasPrefix(host, "*") {
				continue
			}
			for _, p := range rule.HTTP.Paths {
				if !backendIs(p.Backend, e) {
					continue
				}
				path := p.Path
				if strings.ContainsAny(path, "()[]*$^") {
					continue // a regex path has no single URL to send to
				}
				out = append(out, Way{Method: placement.MethodIngress, URL: joinURL(ingressScheme(&ing, rule.Host), host, path), Detail: "ingress " + ing.Name})
			}
		}
		if b := ing.Spec.DefaultBackend; b != nil && backendIs(*b, e) && lb != "" {
			out = append(out, Way{Method: placement.MethodIngress, URL: joinURL(ingressScheme(&ing, ""), lb, ""), Detail: "ingress " + ing.Name + " (default backend)"})
		}
	}
	return out
}

func backendIs(b networkingv1.IngressBackend, e *Engine) bool {
	if b.Service == nil || b.Service.Name != e.Service {
		return false
	}
	p := b.Service.Port
	return (p.Name == "" && p.Number == 0) || (p.Name != "" && p.Name == e.port.Name) || (p.Number != 0 && p.Number == e.port.Port)
}

func ingressScheme(ing *networkingv1.Ingress, host string) string {
	for _, t := range ing.Spec.TLS {
		if len(t.Hosts) == 0 && host == "" {
			return "https"
		}
		for _, h := range t.Hosts {
			if h == host || (strings.HasPrefix(h, "*.") && strings.HasSuffix(host, h[1:])) {
				return "https"
			}
		}
	}
	return "http"
}

// nodePortWays reach a NodePort (or LoadBalancer) Service on a Ready
// node's ExternalIP, else its InternalIP. With externalTrafficPolicy
// Local only nodes running a Ready engine Pod answer, so those come first.
func (s *Snapshot) nodePortWays(e *Engine) []Way {
	svc := e.svc
	if (svc.Spec.Type != corev1.ServiceTypeNodePort && svc.Spec.Type != corev1.ServiceTypeLoadBalancer) || e.port.NodePort == 0 {
		return nil
	}
	hosting := map[string]bool{}
	for _, p := range e.pods {
		if podReady(&p) {
			hosting[p.Spec.NodeName] = true
		}
	}
	local := svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal
	type cand struct {
		node, addr string
		rank       int
	}
	var cands []cand
	for _, n := range s.Nodes {
		if !nodeReady(&n) {
			continue
		}
		addr, external := nodeAddress(&n)
		if addr == "" || (local && !hosting[n.Name]) {
			continue
		}
		rank := 0
		if !external {
			rank += 2
		}
		if !hosting[n.Name] {
			rank++
		}
		cands = append(cands, cand{n.Name, addr, rank})
	}
	sort.SliceStable(cands, func(i, j int) bool {
		if cands[i].rank != cands[j].rank {
			return cands[i].rank < cands[j].rank
		}
		return cands[i].node < cands[j].node
	})
	scheme := "http"
	if usesTLS(e.port) {
		scheme = "https"
	}
	var out []Way
	for i, c := range cands {
		if i == 2 {
			break // two nodes are enough to get past one that is unreachable
		}
		out = append(out, Way{Method: placement.MethodNodePort, URL: scheme + "://" + net.JoinHostPort(c.addr, strconv.Itoa(int(e.port.NodePort))), Detail: "node " + c.node})
	}
	return out
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// nodeAddress is the ExternalIP, else the InternalIP.
func nodeAddress(n *corev1.Node) (addr string, external bool) {
	for _, t := range []corev1.NodeAddressType{corev1.NodeExternalIP, corev1.NodeInternalIP} {
		for _, a := range n.Status.Addresses {
			if a.Type == t && a.Address != "" {
				return a.Address, t == corev1.NodeExternalIP
			}
		}
	}
	return "", false
}

// ProxyURL is the API server's service proxy for a Service port.
func ProxyURL(apiServer, ns, svc string, p corev1.ServicePort) string {
	return proxyURL(apiServer, ns, "services", svc, p.Port, usesTLS(p))
}

// proxyURL is the API server's proxy to a Service's or Pod's port
// (resource "services" or "pods"), https when tls.
func proxyURL(apiServer, ns, resource, name string, port int32, tls bool) string {
	if !strings.Contains(apiServer, "://") {
		apiServer = "https://" + apiServer
	}
	name += ":" + strconv.Itoa(int(port))
	if tls {
		name = "https:" + name
	}
	return strings.TrimRight(apiServer, "/") + "/api/v1/namespaces/" + url.PathEscape(ns) + "/" + resource + "/" + url.PathEscape(name) + "/proxy"
}

func joinURL(scheme, host, path string) string {
	path = strings.TrimRight(path, "/")
	return scheme + "://" + host + path
}

// forwardTarget picks a Ready Pod behind the Service and the container
// port the Service port maps to on it.
func (s *Snapshot) forwardTarget(e *Engine) (*corev1.Pod, int32, error) {
	return pickPod(e.Namespace, e.Service, e.port, e.pods)
}

func pickPod(ns, svc string, sp corev1.ServicePort, pods []corev1.Pod) (*corev1.Pod, int32, error) {
	var lastErr error
	for i := range pods {
		p := &pods[i]
		if !podReady(p) {
			continue
		}
		port, err := ContainerPort(sp, p)
		if err != nil {
			lastErr = err
			continue
		}
		return p, port, nil
	}
	if lastErr != nil {
		return nil, 0, lastErr
	}
	return nil, 0, fmt.Errorf("no Ready Pod behind Service %s/%s to port-forward to (%d Pod(s)); check kubectl get pods -n %s", ns, svc, len(pods), ns)
}
