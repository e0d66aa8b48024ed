package cluster

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/placement"
)

func svc(name string, labels map[string]string, ports ...corev1.ServicePort) *corev1.Service {
	if len(ports) == 0 {
		ports = []corev1.ServicePort{{Name: "http", Port: 80}}
	}
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: labels}, Spec: corev1.ServiceSpec{Ports: ports}}
}

func podWithImage(image string, labels map[string]string) corev1.Pod {
	return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", Labels: labels}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: image}}}}
}

func TestIdentifyOrderOfTrust(t *testing.T) {
	cases := []struct {
		name     string
		svc      *corev1.Service
		pods     []corev1.Pod
		want     engine.EngineType
		evidence placement.Evidence
		ok       bool
	}{
		{"our label beats a misleading image", svc("x", map[string]string{EngineLabel: "tgi"}), []corev1.Pod{podWithImage("vllm/vllm-openai:v0.11.0", nil)}, engine.EngineTGI, placement.ByLabel, true},
		{"our label on the Pod", svc("x", nil), []corev1.Pod{podWithImage("busybox", map[string]string{EngineLabel: "ollama"})}, engine.EngineOllama, placement.ByLabel, true},
		{"an unknown label value falls through", svc("x", map[string]string{EngineLabel: "sglang"}), []corev1.Pod{podWithImage("ollama/ollama:0.11.4", nil)}, engine.EngineOllama, placement.ByImage, true},
		{"vLLM production-stack", svc("x", map[string]string{"app.kubernetes.io/component": "serving-engine"}), nil, engine.EngineVLLM, placement.ByChartLabel, true},
		{"ollama-helm chart name", svc("x", map[string]string{"app.kubernetes.io/name": "ollama"}), nil, engine.EngineOllama, placement.ByChartLabel, true},
		{"KServe predictor on vLLM", svc("x", map[string]string{"serving.kserve.io/inferenceservice": "llama"}), []corev1.Pod{podWithImage("docker.io/vllm/vllm-openai@sha256:abc", nil)}, engine.EngineVLLM, placement.ByKServe, true},
		{"KServe with an unknown runtime speaks OpenAI", svc("x", map[string]string{"serving.kserve.io/inferenceservice": "llama"}), []corev1.Pod{podWithImage("kserve/huggingfaceserver:v0.15", nil)}, engine.EngineOpenAI, placement.ByKServe, true},
		{"TGI image", svc("chat", nil), []corev1.Pod{podWithImage("ghcr.io/huggingface/text-generation-inference:3.3.4", nil)}, engine.EngineTGI, placement.ByImage, true},
		{"a tag naming another engine does not count", svc("chat", nil), []corev1.Pod{podWithImage("registry:5000/llm/server:vllm-compat", nil)}, "", "", false},
		{"name", svc("my-vllm", nil), nil, engine.EngineVLLM, placement.ByName, true},
		{"Ollama's port", svc("llm", nil, corev1.ServicePort{Port: 80, TargetPort: intstr.FromInt32(11434)}), nil, engine.EngineOllama, placement.ByName, true},
		{"nothing", svc("postgres", nil, corev1.ServicePort{Port: 5432}), []corev1.Pod{podWithImage("postgres:16", nil)}, "", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ev, ok := Identify(c.svc, c.pods)
			if got != c.want || ev != c.evidence || ok != c.ok {
				t.Fatalf("got %q by %q (%v), want %q by %q (%v)", got, ev, ok, c.want, c.evidence, c.ok)
			}
		})
	}
}

func TestEnginePort(t *testing.T) {
	cases := []struct {
		name   string
		svc    *corev1.Service
		engine engine.EngineType
		want   int32
		ok     bool
	}{
		{"named http among others", svc("x", nil, corev1.ServicePort{Name: "metrics", Port: 9090}, corev1.ServicePort{Name: "http", Port: 8000}), engine.EngineVLLM, 8000, true},
		{"production-stack service-port", svc("x", nil, corev1.ServicePort{Name: "service-port", Port: 80}, corev1.ServicePort{Name: "grpc", Port: 9000}), engine.EngineVLLM, 80, true},
		{"engine default port", svc("x", nil, corev1.ServicePort{Name: "a", Port: 9090}, corev1.ServicePort{Name: "b", Port: 11434}), engine.EngineOllama, 11434, true},
		{"default port as targetPort", svc("x", nil, corev1.ServicePort{Name: "a", Port: 9090}, corev1.ServicePort{Name: "b", Port: 443, TargetPort: intstr.FromInt32(8000)}), engine.EngineVLLM, 443, true},
		{"the only TCP port", svc("x", nil, corev1.ServicePort{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP}, corev1.ServicePort{Name: "x", Port: 7777}), engine.EngineTGI, 7777, true},
		{"two unknown ports: none", svc("x", nil, corev1.ServicePort{Name: "a", Port: 1}, corev1.ServicePort{Name: "b", Port: 2}), engine.EngineTGI, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, ok := EnginePort(c.svc, c.engine)
			if ok != c.ok || p.Port != c.want {
				t.Fatalf("got %d (%v), want %d (%v)", p.Port, ok, c.want, c.ok)
			}
		})
	}
}
