package cluster

import (
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
)

// What validate and the run manifest read from a Pod spec: GPUs, image
// pinning, and the model an engine was started with.

// gpuAlloc is one container's GPU requests and limits.
type gpuAlloc struct {
	resource               corev1.ResourceName
	requests, limits       int64
	hasRequests, hasLimits bool
}

func (g gpuAlloc) count() int64 {
	if g.hasLimits {
		return g.limits
	}
	return g.requests
}

// gpuOf finds the container's GPUs: the named resource, else any
// resource whose name contains "gpu" (amd.com/gpu, a MIG profile).
func gpuOf(c *corev1.Container, resource string) gpuAlloc {
	name := corev1.ResourceName(resource)
	_, inLim := c.Resources.Limits[name]
	_, inReq := c.Resources.Requests[name]
	if !inLim && !inReq {
		var other []string
		for _, rl := range []corev1.ResourceList{c.Resources.Limits, c.Resources.Requests} {
			for n := range rl {
				if strings.Contains(strings.ToLower(string(n)), "gpu") {
					other = append(other, string(n))
				}
			}
		}
		if len(other) == 0 {
			return gpuAlloc{}
		}
		sort.Strings(other)
		name = corev1.ResourceName(other[0])
	}
	g := gpuAlloc{resource: name}
	if q, ok := c.Resources.Limits[name]; ok {
		g.limits, g.hasLimits = q.Value(), true
	}
	if q, ok := c.Resources.Requests[name]; ok {
		g.requests, g.hasRequests = q.Value(), true
	}
	return g
}

// imagePinned is true for a digest or a tag other than latest.
func imagePinned(image string) bool {
	if strings.Contains(image, "@") {
		return true
	}
	tag := ""
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		tag = image[i+1:]
	}
	return tag != "" && tag != "latest"
}

func imageRepo(image string) string {
	if i := strings.LastIndex(image, "@"); i >= 0 {
		image = image[:i]
	}
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		image = image[:i]
	}
	return image
}

// runningDigest is the digest the kubelet pulled, from the container
// status imageID (docker-pullable://repo@sha256:…, repo@sha256:…).
func runningDigest(p *corev1.Pod, container string) string {
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Name == container {
			if i := strings.LastIndex(cs.ImageID, "@"); i >= 0 {
				return cs.ImageID[i+1:]
			}
		}
	}
	return ""
}

// servedModel reads the model from the engine's command line: vLLM's
// --model (or `vllm serve MODEL`), TGI's --model-id or MODEL_ID. Ollama
// pulls models at run time, so its spec does not say.
func servedModel(t engine.EngineType, c *corev1.Container) string {
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	var tokens []string
	for _, a := range append(append([]string{}, c.Command...), c.Args...) {
		tokens = append(tokens, strings.Fields(a)...) // `sh -c "vllm serve …"` too
	}
	var m string
	switch t {
	case engine.EngineTGI:
		if m = flagValue(tokens, "--model-id"); m == "" {
			m = env["MODEL_ID"]
		}
	case engine.EngineVLLM, engine.EngineOpenAI:
		if m = flagValue(tokens, "--model"); m == "" {
			for i := 1; i+1 < len(tokens); i++ {
				if tokens[i] == "serve" && strings.HasSuffix(tokens[i-1], "vllm") && !strings.HasPrefix(tokens[i+1], "-") {
					m = tokens[i+1]
				}
			}
		}
	}
	// Kubernetes expands $(VAR) in command and args from the env.
	for k, val := range env {
		m = strings.ReplaceAll(m, "$("+k+")", val)
	}
	return strings.Trim(m, `"'`)
}

// contextLength is the context (prompt and output tokens) an engine was
// started with, and where it says so; 0 when its spec does not.
func contextLength(t engine.EngineType, c *corev1.Container) (int, string) {
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	var tokens []string
	for _, a := range append(append([]string{}, c.Command...), c.Args...) {
		tokens = append(tokens, strings.Fields(a)...)
	}
	var v, from string
	switch t {
	case engine.EngineVLLM, engine.EngineOpenAI:
		v, from = flagValue(tokens, "--max-model-len"), "--max-model-len"
	case engine.EngineTGI:
		if v, from = flagValue(tokens, "--max-total-tokens"), "--max-total-tokens"; v == "" {
			v, from = env["MAX_TOTAL_TOKENS"], "MAX_TOTAL_TOKENS"
		}
	case engine.EngineOllama:
		v, from = env["OLLAMA_CONTEXT_LENGTH"], "OLLAMA_CONTEXT_LENGTH"
	}
	for k, val := range env {
		v = strings.ReplaceAll(v, "$("+k+")", val)
	}
	n, err := strconv.Atoi(strings.Trim(v, `"'`))
	if err != nil || n <= 0 {
		return 0, ""
	}
	return n, from
}

func flagValue(tokens []string, name string) string {
	for i, a := range tokens {
		if a == name && i+1 < len(tokens) {
			return tokens[i+1]
		}
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
	}
	return ""
}
