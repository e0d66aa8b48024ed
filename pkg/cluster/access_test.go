package cluster

import (
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/llmbench/kubectl-llmbench/pkg/placement"
)

func readyPod(name, node string, labels map[string]string, port int32) corev1.Pod {
	return corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: labels},
		Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "vllm", Image: "vllm/vllm-openai:v0.11.0",
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: port}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
	}
}

func readyNode(name string, addrs ...corev1.NodeAddress) corev1.Node {
	return corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name},
		Status: corev1.NodeStatus{Addresses: addrs, Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}}}
}

func route(name, svc string, host string, tls bool, targetPort any) unstructured.Unstructured {
	spec := map[string]any{"host": host, "to": map[string]any{"kind": "Service", "name": svc}}
	if tls {
		spec["tls"] = map[string]any{"termination": "edge"}
	}
	if targetPort != nil {
		spec["port"] = map[string]any{"targetPort": targetPort}
	}
	return unstructured.Unstructured{Object: map[string]any{"apiVersion": "route.openshift.io/v1", "kind": "Route",
		"metadata": map[string]any{"name": name, "namespace": "ns"}, "spec": spec}}
}

// accessLayout is one vLLM Service with every way in.
func accessLayout() *Snapshot {
	sel := map[string]string{"app": "vllm"}
	prefix := networkingv1.PathTypePrefix
	return &Snapshot{
		Services: []corev1.Service{{
			ObjectMeta: metav1.ObjectMeta{Name: "vllm", Namespace: "ns", Labels: map[string]string{EngineLabel: "vllm"}},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Selector: sel,
				Ports: []corev1.ServicePort{{Name: "http", Port: 8000, TargetPort: intstr.FromString("http"), NodePort: 30080}}},
		}},
		Pods:  []corev1.Pod{readyPod("vllm-0", "n2", sel, 8000)},
		Nodes: []corev1.Node{readyNode("n1", corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "10.0.0.1"}), readyNode("n2", corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "10.0.0.2"}, corev1.NodeAddress{Type: corev1.NodeExternalIP, Address: "203.0.113.2"})},
		Routes: []unstructured.Unstructured{
			route("secure", "vllm", "vllm.apps.example.com", true, "http"),
			route("other-port", "vllm", "metrics.apps.example.com", false, "metrics"),
			route("other-svc", "tgi", "tgi.apps.example.com", false, nil),
		},
		Ingresses: []networkingv1.Ingress{{
			ObjectMeta: metav1.ObjectMeta{Name: "llm", Namespace: "ns"},
			Spec: networkingv1.IngressSpec{
				TLS: []networkingv1.IngressTLS{{Hosts: []string{"llm.example.com"}}},
				Rules: []networkingv1.IngressRule{
					{Host: "llm.example.com", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{
						{Path: "/vllm/", PathType: &prefix, Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "vllm", Port: networkingv1.ServiceBackendPort{Name: "http"}}}},
						{Path: "/tgi", PathType: &prefix, Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "tgi", Port: networkingv1.ServiceBackendPort{Number: 80}}}},
					}}}},
					{Host: "*.wild.example.com", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{
						{Path: "/", PathType: &prefix, Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "vllm", Port: networkingv1.ServiceBackendPort{Number: 8000}}}},
					}}}},
					{IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{
						{Path: "/", PathType: &prefix, Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "vllm", Port: networkingv1.ServiceBackendPort{Number: 8000}}}},
					}}}},
				},
			},
			Status: networkingv1.IngressStatus{LoadBalancer: networkingv1.IngressLoadBalancerStatus{Ingress: []networkingv1.IngressLoadBalancerIngress{{IP: "198.51.100.7"}}}},
		}},
	}
}

func TestWaysInAutoOrder(t *testing.T) {
	s := accessLayout()
	es := s.Engines()
	if len(es) != 1 {
		t.Fatalf("engines: %d", len(es))
	}
	got := s.Ways(es[0], "https://api.example.com:6443")
	want := []Way{
		{placement.MethodRoute, "https://vllm.apps.example.com", "route secure"},
		{placement.MethodIngress, "https://llm.example.com/vllm", "ingress llm"},
		{placement.MethodIngress, "http://198.51.100.7", "ingress llm"},
		// The node running the Pod, by its ExternalIP, before another node.
		{placement.MethodNodePort, "http://203.0.113.2:30080", "node n2"},
		{placement.MethodNodePort, "http://10.0.0.1:30080", "node n1"},
		{placement.MethodPortForward, "", "pod vllm-0 port 8000"},
		{placement.MethodProxy, "https://api.example.com:6443/api/v1/namespaces/ns/services/vllm:8000/proxy", "API server service proxy"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ways:\n got %+v\nwant %+v", got, want)
	}
}

func TestNodePortLocalPolicyOnlyNodesWithPods(t *testing.T) {
	s := accessLayout()
	s.Services[0].Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
	var nodePorts []string
	for _, w := range s.Ways(s.Engines()[0], "") {
		if w.Method == placement.MethodNodePort {
			nodePorts = append(nodePorts, w.URL)
		}
	}
	if !reflect.DeepEqual(nodePorts, []string{"http://203.0.113.2:30080"}) {
		t.Fatalf("nodeport ways %v, want only the node running the Pod", nodePorts)
	}
}

func TestNoReadyPodNoPortForward(t *testing.T) {
	s := accessLayout()
	s.Pods[0].Status.Conditions[0].Status = corev1.ConditionFalse
	for _, w := range s.Ways(s.Engines()[0], "") {
		if w.Method == placement.MethodPortForward {
			t.Fatalf("port-forward offered to a Pod that is not Ready: %+v", w)
		}
	}
	if _, _, err := s.forwardTarget(s.Engines()[0]); err == nil || !strings.Contains(err.Error(), "no Ready Pod") {
		t.Fatalf("forwardTarget error %v", err)
	}
}

func TestSelect(t *testing.T) {
	mk := func(ns, name string, ev placement.Evidence) *Engine {
		return &Engine{Type: "vllm", Namespace: ns, Service: name, Evidence: ev}
	}
	a, b, c := mk("ns", "vllm-a", placement.ByLabel), mk("ns", "vllm-b", placement.ByLabel), mk("ns", "vllm-name", placement.ByName)
	if _, _, err := Select([]*Engine{a, b}, nil); err == nil || !strings.Contains(err.Error(), "--service") || !strings.Contains(err.Error(), "ns/vllm-a") {
		t.Fatalf("two equally trusted vLLMs: err %v, want one naming both and --service", err)
	}
	got, notes, err := Select([]*Engine{c, a}, nil)
	if err != nil || len(got) != 1 || got[0] != a || len(notes) != 1 {
		t.Fatalf("the labelled one should win: %v %v %v", got, notes, err)
	}
	got, _, err = Select([]*Engine{a, b, c}, []string{"vllm-b", "ns/vllm-name"})
	if err != nil || len(got) != 2 || got[0] != b || got[1] != c {
		t.Fatalf("--service picks: %v %v", got, err)
	}
	if names := TargetNames(got); !reflect.DeepEqual(names, []string{"vllm-b", "vllm-name"}) {
		t.Fatalf("two of a kind are named by Service: %v", names)
	}
	if _, _, err := Select([]*Engine{a}, []string{"nope"}); err == nil || !strings.Contains(err.Error(), "ns/vllm-a") {
		t.Fatalf("unknown --service should list what exists: %v", err)
	}
}

func TestRedactArgs(t *testing.T) {
	got := RedactArgs([]string{"--model", "llama", "--api-key", "sk-1", "--hf-token=hf_x", "--port", "8000", "--API-KEY=z",
		"--max-input-tokens=4095", "--max-num-batched-tokens", "8192", "--tokenizer", "t", "--ssl-keyfile", "/k", "--client_secret", "s"})
	want := []string{"--model", "llama", "--api-key", "REDACTED", "--hf-token=REDACTED", "--port", "8000", "--API-KEY=REDACTED",
		"--max-input-tokens=4095", "--max-num-batched-tokens", "8192", "--tokenizer", "t", "--ssl-keyfile", "/k", "--client_secret", "REDACTED"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v", got)
	}
}
