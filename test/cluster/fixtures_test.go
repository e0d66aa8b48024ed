//go:build cluster

package cluster_test

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
)

// engineSpec is one engine Deployment's worth of objects, as a controller
// and kubelet would leave them.
type engineSpec struct {
	name      string
	engine    engine.EngineType
	svcLabels map[string]string
	image     string
	node      string
	gpus      int64 // limits = requests
	gpuLimit  bool  // false with gpus>0: requests only is impossible, so gpus=0 means none
	notReady  bool
	crashLoop bool
	svcType   corev1.ServiceType
	nodePort  int32
	// targetPort: the container port; default the simulator's port.
	targetPort int32
	args       []string
	// podIP makes the Pod a real service-proxy endpoint (only ever an
	// address in a network namespace the test made).
	podIP string
	// podAnnotations go on the Pod; extraPorts on the Service after http.
	podAnnotations map[string]string
	extraPorts     []corev1.ServicePort
}

var servicePorts = map[engine.EngineType]int32{engine.EngineVLLM: 8000, engine.EngineTGI: 80, engine.EngineOllama: 11434}

func simPort(t *testing.T, e engine.EngineType) int32 {
	t.Helper()
	u := world.sims[e]
	i := strings.LastIndex(u, ":")
	var p int32
	for _, c := range u[i+1:] {
		p = p*10 + int32(c-'0')
	}
	return p
}

func namespace(t *testing.T, name string) string {
	t.Helper()
	ctx := context.Background()
	if _, err := world.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return name
}

// node creates a Ready Node whose kubelet is the fake kubelet on
// 127.0.0.1, so port-forwards to its Pods work.
func node(t *testing.T, name, gpuProduct string) {
	t.Helper()
	ctx := context.Background()
	labels := map[string]string{"kubernetes.io/hostname": name}
	if gpuProduct != "" {
		labels["nvidia.com/gpu.product"] = gpuProduct
		labels["nvidia.com/gpu.count"] = "1"
	}
	n, err := world.kube.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		n, err = world.kube.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
	}
	n.Status = corev1.NodeStatus{
		Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady", LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}},
		// Only an InternalIP: the API server dials the kubelet at the
		// first address type it prefers, and a hostname would be looked
		// up in DNS.
		Addresses:       []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: world.kubelet.port}},
		Capacity:        corev1.ResourceList{"nvidia.com/gpu": resource.MustParse("1")},
	}
	if _, err := world.kube.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// deployEngine creates the Pod, Service and EndpointSlice of one deployEngine.
func deployEngine(t *testing.T, ns string, s engineSpec) {
	t.Helper()
	ctx := context.Background()
	if s.targetPort == 0 {
		s.targetPort = simPort(t, s.engine)
	}
	if s.image == "" {
		s.image = map[engine.EngineType]string{engine.EngineVLLM: "vllm/vllm-openai:v0.11.0", engine.EngineTGI: "ghcr.io/huggingface/text-generation-inference:3.3.4", engine.EngineOllama: "ollama/ollama:0.11.4"}[s.engine]
	}
	res := corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}}
	if s.gpus > 0 {
		q := *resource.NewQuantity(s.gpus, resource.DecimalSI)
		res.Requests["nvidia.com/gpu"] = q
		res.Limits = corev1.ResourceList{"nvidia.com/gpu": q}
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: s.name + "-0", Namespace: ns, Labels: map[string]string{"app": s.name}, Annotations: s.podAnnotations},
		Spec: corev1.PodSpec{
			NodeName: s.node,
			Containers: []corev1.Container{{
				Name: "engine", Image: s.image, Args: s.args, Resources: res,
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: s.targetPort}},
			}},
		},
	}
	pod, err := world.kube.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ready := corev1.ConditionTrue
	cs := corev1.ContainerStatus{Name: "engine", Image: s.image, Ready: true, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}}
	if s.notReady || s.crashLoop {
		ready = corev1.ConditionFalse
		cs.Ready = false
	}
	if s.crashLoop {
		cs.RestartCount = 7
		cs.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off 5m0s restarting failed container"}}
		cs.LastTerminationState = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error"}}
	}
	// The Pod gets no IP: the API server's service proxy only dials an
	// endpoint address that a Pod owns, so with none it never sends
	// anything off this machine (the slice's address is TEST-NET-1).
	ip := "192.0.2.10"
	var podIPs []corev1.PodIP
	if s.podIP != "" {
		ip, podIPs = s.podIP, []corev1.PodIP{{IP: s.podIP}}
	}
	pod.Status = corev1.PodStatus{
		PodIP:             s.podIP,
		PodIPs:            podIPs,
		Phase:             corev1.PodRunning,
		Conditions:        []corev1.PodCondition{{Type: corev1.PodReady, Status: ready}, {Type: corev1.ContainersReady, Status: ready}},
		HostIP:            "127.0.0.1",
		ContainerStatuses: []corev1.ContainerStatus{cs},
	}
	if _, err := world.kube.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	port := servicePorts[s.engine]
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: s.name, Namespace: ns, Labels: s.svcLabels},
		Spec: corev1.ServiceSpec{
			Type:     s.svcType,
			Selector: map[string]string{"app": s.name},
			Ports:    append([]corev1.ServicePort{{Name: "http", Port: port, TargetPort: intstr.FromString("http"), NodePort: s.nodePort}}, s.extraPorts...),
		},
	}
	if _, err := world.kube.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	yes := true
	pname := "http"
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: s.name + "-abc", Namespace: ns, Labels: map[string]string{"kubernetes.io/service-name": s.name}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: &yes},
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: pod.Name}, NodeName: &s.node}},
		Ports: []discoveryv1.EndpointPort{{Name: &pname, Port: &s.targetPort}},
	}
	if _, err := world.kube.DiscoveryV1().EndpointSlices(ns).Create(ctx, slice, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// threeEngines is the layout our Helm charts produce: one engine per GPU
// node, recognised three different ways (our label, the image, the name).
func threeEngines(t *testing.T, ns string) {
	t.Helper()
	for _, n := range []string{"gpu-a", "gpu-b", "gpu-c"} {
		node(t, n, "NVIDIA-H100-80GB-HBM3")
	}
	deployEngine(t, ns, engineSpec{name: "vllm-llama", engine: engine.EngineVLLM, svcLabels: map[string]string{"llmbench.io/engine": "vllm"}, node: "gpu-a", gpus: 1,
		args: []string{"--model", "sim-model", "--api-key", "sk-do-not-leak"}})
	deployEngine(t, ns, engineSpec{name: "hf-textgen", engine: engine.EngineTGI, node: "gpu-b", gpus: 1})
	deployEngine(t, ns, engineSpec{name: "ollama", engine: engine.EngineOllama, image: "registry.local/llm/server:1.0", node: "gpu-c", gpus: 1})
}
