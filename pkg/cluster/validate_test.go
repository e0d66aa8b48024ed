package cluster

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
)

const testModel = "meta-llama/Llama-3.1-8B-Instruct"

// layout is three engines on three GPU nodes, as the project's charts
// deploy them: one Service labelled llmbench.io/engine and one ready Pod
// each, 1 GPU, the same GPU product, pinned images, the same model.
func layout() *Snapshot {
	s := &Snapshot{Namespace: "llm"}
	add := func(t engine.EngineType, node, image string, port int32, args ...string) {
		name := string(t)
		s.Services = append(s.Services, corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "llm", Labels: map[string]string{EngineLabel: name}},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app": name},
				Ports: []corev1.ServicePort{{Name: "http", Port: port}}},
		})
		gpu := corev1.ResourceList{"nvidia.com/gpu": resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("32Gi")}
		s.Pods = append(s.Pods, corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name + "-0", Namespace: "llm", Labels: map[string]string{"app": name}},
			Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{
				{Name: "log-shipper", Image: "fluent/fluent-bit:3.1"}, // a sidecar first: the engine container is found by image
				{Name: name, Image: image, Args: args, Resources: corev1.ResourceRequirements{Requests: gpu.DeepCopy(), Limits: gpu.DeepCopy()}},
			}},
			Status: corev1.PodStatus{
				Phase:      corev1.PodRunning,
				Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
				ContainerStatuses: []corev1.ContainerStatus{
					{Name: "log-shipper", Ready: true, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}},
					{Name: name, Ready: true, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
						ImageID: "docker.io/" + imageRepo(image) + "@sha256:0123abcd"},
				},
			},
		})
		s.Nodes = append(s.Nodes, corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: node,
			Labels: map[string]string{gpuProductLabel: "NVIDIA-H100-80GB-HBM3", gpuCountLabel: "8"}}})
	}
	add(engine.EngineVLLM, "gpu-a", "vllm/vllm-openai:v0.6.3", 8000, "--model", testModel, "--max-model-len", "8192")
	add(engine.EngineTGI, "gpu-b", "ghcr.io/huggingface/text-generation-inference:2.4.0", 80, "--model-id="+testModel, "--max-total-tokens=8192")
	add(engine.EngineOllama, "gpu-c", "ollama/ollama:0.3.14", 11434)
	engineContainer(s, "ollama-0").Env = []corev1.EnvVar{{Name: "OLLAMA_CONTEXT_LENGTH", Value: "8192"}}
	return s
}

func pod(s *Snapshot, name string) *corev1.Pod {
	for i := range s.Pods {
		if s.Pods[i].Name == name {
			return &s.Pods[i]
		}
	}
	panic("no pod " + name)
}

// engineContainer is the second container of the layout's Pods.
func engineContainer(s *Snapshot, podName string) *corev1.Container {
	return &pod(s, podName).Spec.Containers[1]
}

// healthyRows is what Validate reports for layout(), in order.
var healthyRows = []string{
	"engines||pass",
	"pods-ready|llm/ollama|pass", "pods-ready|llm/tgi|pass", "pods-ready|llm/vllm|pass",
	"restarts|llm/ollama|pass", "restarts|llm/tgi|pass", "restarts|llm/vllm|pass",
	"separate-nodes||pass",
	"gpu-resources|llm/ollama|pass", "gpu-resources|llm/tgi|pass", "gpu-resources|llm/vllm|pass",
	"same-gpu-count||pass",
	"gpu-product|llm/ollama|pass", "gpu-product|llm/tgi|pass", "gpu-product|llm/vllm|pass",
	"same-gpu-product||pass",
	"image|llm/ollama|pass", "image|llm/tgi|pass", "image|llm/vllm|pass",
	"same-model||pass",
	"same-context||pass",
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name   string
		change func(s *Snapshot)
		// status overrides the healthy rows by "check|engine"; "" drops
		// the row.
		status map[string]Status
		// detail holds words the row's detail must contain.
		detail map[string][]string
	}{
		{
			name:   "healthy",
			change: func(*Snapshot) {},
			detail: map[string][]string{
				"engines|":               {"3 found", "vllm (llm/vllm, by label)"},
				"separate-nodes|":        {"ollama on gpu-c", "tgi on gpu-b", "vllm on gpu-a"},
				"gpu-resources|llm/vllm": {"container vllm: 1 nvidia.com/gpu"},
				"gpu-product|llm/tgi":    {"NVIDIA-H100-80GB-HBM3, 8 per node on gpu-b"},
				"same-gpu-product|":      {"NVIDIA-H100-80GB-HBM3"},
				"image|llm/vllm":         {"vllm/vllm-openai:v0.6.3", "--model " + testModel},
				"same-model|":            {testModel, "not readable from the spec: ollama"},
				"same-context|":          {"every engine whose spec says allows 8192 tokens"},
			},
		},
		{
			name: "Ollama at its default context",
			change: func(s *Snapshot) {
				engineContainer(s, "ollama-0").Env = nil
			},
			status: map[string]Status{"same-context|": Warn},
			detail: map[string][]string{"same-context|": {"ollama: OLLAMA_CONTEXT_LENGTH is not set", "cuts longer prompts", "to 8192"}},
		},
		{
			name: "different contexts",
			change: func(s *Snapshot) {
				engineContainer(s, "tgi-0").Args = []string{"--model-id=" + testModel}
				engineContainer(s, "tgi-0").Env = []corev1.EnvVar{{Name: "MAX_TOTAL_TOKENS", Value: "4096"}}
			},
			status: map[string]Status{"same-context|": Warn},
			detail: map[string][]string{"same-context|": {"vllm: 8192 (--max-model-len)", "tgi: 4096 (MAX_TOTAL_TOKENS)", "ollama: 8192 (OLLAMA_CONTEXT_LENGTH)"}},
		},
		{
			name: "two engines on one node",
			change: func(s *Snapshot) {
				pod(s, "tgi-0").Spec.NodeName = "gpu-a"
			},
			status: map[string]Status{"separate-nodes|": Fail},
			detail: map[string][]string{"separate-nodes|": {"tgi and vllm share node gpu-a", "anti-affinity"}},
		},
		{
			name: "no GPU limit on one engine",
			change: func(s *Snapshot) {
				engineContainer(s, "ollama-0").Resources = corev1.ResourceRequirements{}
			},
			status: map[string]Status{"gpu-resources|llm/ollama": Fail, "gpu-product|llm/ollama": ""},
			detail: map[string][]string{"gpu-resources|llm/ollama": {"ollama has no nvidia.com/gpu limit while tgi has 1 and vllm has 1", "resources.limits nvidia.com/gpu on container ollama"}},
		},
		{
			name: "crash-looping pod",
			change: func(s *Snapshot) {
				p := pod(s, "vllm-0")
				p.Status.Conditions[0].Status = corev1.ConditionFalse
				cs := &p.Status.ContainerStatuses[1]
				cs.Ready, cs.RestartCount = false, 5
				cs.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}
				cs.LastTerminationState = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "OOMKilled", ExitCode: 137}}
			},
			status: map[string]Status{"pods-ready|llm/vllm": Fail, "restarts|llm/vllm": Fail},
			detail: map[string][]string{
				"pods-ready|llm/vllm": {"0/1 Pods ready", "vllm-0: Running, container vllm CrashLoopBackOff", "kubectl describe pod vllm-0 -n llm"},
				"restarts|llm/vllm":   {"Pod vllm-0 container vllm: CrashLoopBackOff, 5 restart(s), last OOMKilled (exit 137)", "kubectl logs vllm-0 -c vllm -n llm --previous"},
			},
		},
		{
			name: "restarted but ready",
			change: func(s *Snapshot) {
				cs := &pod(s, "tgi-0").Status.ContainerStatuses[1]
				cs.RestartCount = 1
				cs.LastTerminationState = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Error", ExitCode: 1}}
			},
			status: map[string]Status{"restarts|llm/tgi": Warn},
			detail: map[string][]string{"restarts|llm/tgi": {"1 restart(s), last Error (exit 1)", "ready now"}},
		},
		{
			name: "requests differ from limits and GPU counts differ",
			change: func(s *Snapshot) {
				engineContainer(s, "tgi-0").Resources.Limits["nvidia.com/gpu"] = resource.MustParse("2")
			},
			status: map[string]Status{"gpu-resources|llm/tgi": Fail, "same-gpu-count|": Warn},
			detail: map[string][]string{
				"gpu-resources|llm/tgi": {"requests 1 nvidia.com/gpu but limits 2"},
				"same-gpu-count|":       {"ollama 1, tgi 2, vllm 1"},
			},
		},
		{
			name: "no GPU anywhere",
			change: func(s *Snapshot) {
				for _, p := range []string{"ollama-0", "tgi-0", "vllm-0"} {
					engineContainer(s, p).Resources = corev1.ResourceRequirements{}
				}
			},
			status: map[string]Status{
				"gpu-resources|llm/ollama": Warn, "gpu-resources|llm/tgi": Warn, "gpu-resources|llm/vllm": Warn, "same-gpu-count|": "",
				"gpu-product|llm/ollama": "", "gpu-product|llm/tgi": "", "gpu-product|llm/vllm": "", "same-gpu-product|": "",
			},
			detail: map[string][]string{"gpu-resources|llm/tgi": {"CPU-only", "--gpu-resource"}},
		},
		{
			name: "different GPU products, unpinned image, different models",
			change: func(s *Snapshot) {
				s.Nodes[2].Labels[gpuProductLabel] = "NVIDIA-A100-SXM4-40GB"
				delete(s.Nodes[1].Labels, gpuProductLabel)
				engineContainer(s, "ollama-0").Image = "ollama/ollama"
				c := engineContainer(s, "tgi-0")
				c.Args = nil
				c.Env = []corev1.EnvVar{{Name: "MODEL_ID", Value: "mistralai/Mistral-7B-Instruct-v0.3"}}
			},
			status: map[string]Status{"gpu-product|llm/tgi": Warn, "same-gpu-product|": Warn, "image|llm/ollama": Warn, "same-model|": Warn},
			detail: map[string][]string{
				"gpu-product|llm/tgi": {"node gpu-b has no nvidia.com/gpu.product label"},
				"same-gpu-product|":   {"ollama: NVIDIA-A100-SXM4-40GB, vllm: NVIDIA-H100-80GB-HBM3", "not a like-for-like comparison"},
				"image|llm/ollama":    {"ollama/ollama is not pinned", "ollama/ollama@sha256:0123abcd", "args: (the image's defaults)"},
				"same-model|":         {"tgi: mistralai/Mistral-7B-Instruct-v0.3", "vllm: " + testModel},
			},
		},
		{
			name: "one Pod not ready and unscheduled",
			change: func(s *Snapshot) {
				p := pod(s, "vllm-0").DeepCopy()
				p.Name, p.Spec.NodeName = "vllm-1", ""
				p.Status = corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{
					{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable"}}}
				s.Pods = append(s.Pods, *p)
			},
			status: map[string]Status{"pods-ready|llm/vllm": Warn, "separate-nodes|": Warn},
			detail: map[string][]string{
				"pods-ready|llm/vllm": {"1/2 Pods ready", "vllm-1: Pending, Unschedulable"},
				"separate-nodes|":     {"llm/vllm-1"},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := layout()
			tc.change(s)
			r := Validate(s, s.Engines(), ValidateOptions{})
			var want []string
			wantFail, wantWarn := 0, 0
			for _, row := range healthyRows {
				key := row[:strings.LastIndex(row, "|")]
				if st, ok := tc.status[key]; ok {
					if st == "" {
						continue
					}
					row = key + "|" + string(st)
				}
				want = append(want, row)
				wantFail += strings.Count(row, "|fail")
				wantWarn += strings.Count(row, "|warn")
			}
			var got []string
			details := map[string]string{}
			for _, c := range r.Checks {
				got = append(got, fmt.Sprintf("%s|%s|%s", c.Name, c.Engine, c.Status))
				details[c.Name+"|"+c.Engine] = c.Detail
				t.Logf("%-16s %-10s %s  %s", c.Name, c.Engine, c.Status, c.Detail)
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("checks:\n%s\nwant:\n%s\ndetails: %q", strings.Join(got, "\n"), strings.Join(want, "\n"), details)
			}
			if r.Failed() != wantFail || r.Warned() != wantWarn || r.Passed() != len(want)-wantFail-wantWarn {
				t.Errorf("failed %d warned %d passed %d, want %d %d %d", r.Failed(), r.Warned(), r.Passed(), wantFail, wantWarn, len(want)-wantFail-wantWarn)
			}
			for key, words := range tc.detail {
				d, ok := details[key]
				if !ok {
					t.Errorf("no %s row", key)
				}
				for _, w := range words {
					if !strings.Contains(d, w) {
						t.Errorf("%s detail %q lacks %q", key, d, w)
					}
				}
			}
		})
	}
}

func TestValidateNoEngines(t *testing.T) {
	for ns, where := range map[string]string{"llm": `namespace "llm"`, "": "any namespace"} {
		r := Validate(&Snapshot{Namespace: ns}, nil, ValidateOptions{})
		if len(r.Checks) != 1 || r.Checks[0].Name != CheckEngines || r.Checks[0].Status != Fail || r.Failed() != 1 {
			t.Fatalf("%q: %+v, want one failed engines check", ns, r.Checks)
		}
		for _, w := range []string{where, "-n NAMESPACE", "llmbench.io/engine=vllm"} {
			if !strings.Contains(r.Checks[0].Detail, w) {
				t.Errorf("%q: detail %q lacks %q", ns, r.Checks[0].Detail, w)
			}
		}
	}
}

func TestValidateGPUResourceNames(t *testing.T) {
	amd := corev1.ResourceList{"amd.com/gpu": resource.MustParse("2")}
	mig := corev1.ResourceList{"nvidia.com/mig-1g.10gb": resource.MustParse("1"), "nvidia.com/gpu": resource.MustParse("1")}
	cases := []struct {
		name     string
		res      corev1.ResourceRequirements
		resource string
		want     gpuAlloc
	}{
		{"named", corev1.ResourceRequirements{Limits: mig, Requests: mig}, "nvidia.com/mig-1g.10gb",
			gpuAlloc{resource: "nvidia.com/mig-1g.10gb", requests: 1, limits: 1, hasRequests: true, hasLimits: true}},
		{"any gpu when the named one is absent", corev1.ResourceRequirements{Limits: amd}, DefaultGPUResource,
			gpuAlloc{resource: "amd.com/gpu", limits: 2, hasLimits: true}},
		{"requests only", corev1.ResourceRequirements{Requests: amd}, DefaultGPUResource,
			gpuAlloc{resource: "amd.com/gpu", requests: 2, hasRequests: true}},
		{"none", corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4")}}, DefaultGPUResource, gpuAlloc{}},
	}
	for _, tc := range cases {
		if got := gpuOf(&corev1.Container{Resources: tc.res}, tc.resource); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestServedModelAndPinnedImage(t *testing.T) {
	models := []struct {
		t    engine.EngineType
		c    corev1.Container
		want string
	}{
		{engine.EngineVLLM, corev1.Container{Args: []string{"--model=Qwen/Qwen2.5-7B", "--port", "8000"}}, "Qwen/Qwen2.5-7B"},
		{engine.EngineVLLM, corev1.Container{Command: []string{"vllm", "serve"}, Args: []string{"Qwen/Qwen2.5-7B", "--dtype", "auto"}}, "Qwen/Qwen2.5-7B"},
		{engine.EngineVLLM, corev1.Container{Command: []string{"/bin/sh", "-c"}, Args: []string{"vllm serve $(MODEL) --port 8000"},
			Env: []corev1.EnvVar{{Name: "MODEL", Value: "Qwen/Qwen2.5-7B"}}}, "Qwen/Qwen2.5-7B"},
		{engine.EngineTGI, corev1.Container{Args: []string{"--model-id", "Qwen/Qwen2.5-7B"}}, "Qwen/Qwen2.5-7B"},
		{engine.EngineTGI, corev1.Container{Env: []corev1.EnvVar{{Name: "MODEL_ID", Value: "Qwen/Qwen2.5-7B"}}}, "Qwen/Qwen2.5-7B"},
		{engine.EngineTGI, corev1.Container{Args: []string{"--model", "ignored"}}, ""},
		{engine.EngineOllama, corev1.Container{Args: []string{"serve"}}, ""},
	}
	for i, tc := range models {
		if got := servedModel(tc.t, &tc.c); got != tc.want {
			t.Errorf("%d %s %v %v: model %q, want %q", i, tc.t, tc.c.Command, tc.c.Args, got, tc.want)
		}
	}
	for image, pinned := range map[string]bool{
		"ollama/ollama": false, "ollama/ollama:latest": false, "registry:5000/vllm": false,
		"registry:5000/vllm:v0.6.3": true, "ollama/ollama@sha256:abc": true, "vllm/vllm-openai:v0.6.3": true,
	} {
		if imagePinned(image) != pinned {
			t.Errorf("imagePinned(%q) = %v, want %v", image, !pinned, pinned)
		}
	}
}
