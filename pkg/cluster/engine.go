package cluster

import (
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/placement"
)

// EngineLabel is set on Services and Pods by this project's Helm charts.
const EngineLabel = "llmbench.io/engine"

// defaultPorts are where each engine listens unless told otherwise.
var defaultPorts = map[engine.EngineType][]int32{
	engine.EngineVLLM:   {8000},
	engine.EngineTGI:    {80, 8080, 3000},
	engine.EngineOllama: {11434},
	engine.EngineOpenAI: {8000, 8080, 80},
}

// engineFromText finds an engine named in a label value, image or name.
func engineFromText(s string) (engine.EngineType, bool) {
	s = strings.ToLower(s)
	switch {
	case strings.Contains(s, "text-generation-inference"), strings.Contains(s, "tgi"):
		return engine.EngineTGI, true
	case strings.Contains(s, "ollama"):
		return engine.EngineOllama, true
	case strings.Contains(s, "vllm"):
		return engine.EngineVLLM, true
	}
	return "", false
}

// engineFromImage recognises the engines' published images
// (vllm/vllm-openai, ghcr.io/huggingface/text-generation-inference,
// ollama/ollama, and rebuilds whose repository names the engine).
func engineFromImage(image string) (engine.EngineType, bool) {
	repo := image
	if i := strings.LastIndex(repo, "@"); i >= 0 {
		repo = repo[:i]
	}
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i] // drop the tag, keep a registry port
	}
	return engineFromText(repo)
}

// Identify recognises a Service as an engine from its labels, then the
// Pods behind it, then its name and ports. ok is false when nothing points
// at an engine.
func Identify(svc *corev1.Service, pods []corev1.Pod) (engine.EngineType, placement.Evidence, bool) {
	labels := svc.Labels
	if v := labels[EngineLabel]; v != "" {
		if t, err := engine.ParseEngineType(v); err == nil {
			return t, placement.ByLabel, true
		}
	}
	for _, p := range pods {
		if v := p.Labels[EngineLabel]; v != "" {
			if t, err := engine.ParseEngineType(v); err == nil {
				return t, placement.ByLabel, true
			}
		}
	}
	// vLLM production-stack marks its engines serving-engine; other charts
	// name the engine in app.kubernetes.io/name or app.
	if labels["app.kubernetes.io/component"] == "serving-engine" {
		return engine.EngineVLLM, placement.ByChartLabel, true
	}
	for _, k := range []string{"app.kubernetes.io/name", "app"} {
		if t, ok := engineFromText(labels[k]); ok {
			return t, placement.ByChartLabel, true
		}
	}
	if labels["serving.kserve.io/inferenceservice"] != "" {
		// KServe's runtimes (huggingfaceserver on vLLM, vllm, TGI) are told
		// apart by image; an unknown runtime still speaks OpenAI.
		for _, p := range pods {
			for _, c := range p.Spec.Containers {
				if t, ok := engineFromImage(c.Image); ok {
					return t, placement.ByKServe, true
				}
			}
		}
		return engine.EngineOpenAI, placement.ByKServe, true
	}
	for _, p := range pods {
		for _, c := range p.Spec.Containers {
			if t, ok := engineFromImage(c.Image); ok {
				return t, placement.ByImage, true
			}
		}
	}
	if t, ok := engineFromText(svc.Name); ok {
		return t, placement.ByName, true
	}
	for _, sp := range svc.Spec.Ports {
		if sp.Port == 11434 || sp.TargetPort.IntValue() == 11434 {
			return engine.EngineOllama, placement.ByName, true
		}
	}
	return "", "", false
}

// EnginePort picks the Service port that carries the engine's HTTP API:
// a port whose name says so, else one on the engine's default ports, else
// the only TCP port.
func EnginePort(svc *corev1.Service, t engine.EngineType) (corev1.ServicePort, bool) {
	var tcp []corev1.ServicePort
	for _, p := range svc.Spec.Ports {
		if p.Protocol == "" || p.Protocol == corev1.ProtocolTCP {
			tcp = append(tcp, p)
		}
	}
	for _, name := range []string{"http", "service-port", "api", "web", "https", "http-" + string(t), string(t)} {
		for _, p := range tcp {
			if p.Name == name {
				return p, true
			}
		}
	}
	for _, want := range defaultPorts[t] {
		for _, p := range tcp {
			if p.Port == want || p.TargetPort.IntValue() == int(want) {
				return p, true
			}
		}
	}
	if len(tcp) == 1 {
		return tcp[0], true
	}
	if len(tcp) > 0 && svc.Labels[EngineLabel] != "" {
		return tcp[0], true
	}
	return corev1.ServicePort{}, false
}

// usesTLS guesses whether a port speaks https (a name or port saying so).
func usesTLS(p corev1.ServicePort) bool {
	return p.Port == 443 || strings.Contains(p.Name, "https") || (p.AppProtocol != nil && strings.EqualFold(*p.AppProtocol, "https"))
}
