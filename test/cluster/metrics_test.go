//go:build cluster

package cluster_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/reconcile"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/scrape"
	"github.com/llmbench/kubectl-llmbench/pkg/cluster"
	"github.com/llmbench/kubectl-llmbench/pkg/export"
)

// relay serves an engine simulator's /metrics on a port of its own, as
// an engine with a separate metrics port would, and counts its scrapes.
func relay(t *testing.T, e engine.EngineType) (int32, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		resp, err := http.Get(world.sims[e] + "/metrics")
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		_, _ = io.Copy(w, resp.Body)
	}))
	t.Cleanup(srv.Close)
	return portOf(t, srv.Listener.Addr()), &hits
}

func portOf(t *testing.T, a net.Addr) int32 {
	_, p, _ := net.SplitHostPort(a.String())
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return int32(n)
}

// A vLLM whose metrics port is named by its Pod's prometheus.io
// annotations and a TGI whose ServiceMonitor names a Service port
// "metrics", both on one GPU node whose DCGM exporter (gpu-operator's
// Pod, in Kubernetes mode) labels one GPU with each engine's Pod:
// discover says where each engine's metrics and GPUs were found, and run
// scrapes them there through port-forwards, each engine's window
// carrying its own GPU and no other's.
func TestRunScrapesMetricsFoundInTheCluster(t *testing.T) {
	ctx := context.Background()
	if _, err := envtest.InstallCRDs(world.cfg, envtest.CRDInstallOptions{CRDs: []*apiextensionsv1.CustomResourceDefinition{serviceMonitorCRD()}}); err != nil {
		t.Fatal(err)
	}
	ns := namespace(t, "metrics-elsewhere")
	node(t, "gpu-m", "NVIDIA-A10G")
	vPort, vHits := relay(t, engine.EngineVLLM)
	tPort, tHits := relay(t, engine.EngineTGI)
	deployEngine(t, ns, engineSpec{name: "vllm-annotated", engine: engine.EngineVLLM, node: "gpu-m", gpus: 1,
		podAnnotations: map[string]string{"prometheus.io/scrape": "true", "prometheus.io/port": strconv.Itoa(int(vPort))}})
	deployEngine(t, ns, engineSpec{name: "tgi-monitored", engine: engine.EngineTGI, node: "gpu-m", gpus: 1,
		svcLabels:  map[string]string{"app.kubernetes.io/name": "tgi", "monitor": "yes"},
		extraPorts: []corev1.ServicePort{{Name: "metrics", Port: 9090, TargetPort: intstr.FromInt32(tPort)}}})
	dyn := dynamic.NewForConfigOrDie(world.cfg)
	sm := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
		"metadata": map[string]any{"name": "tgi-sm", "namespace": ns},
		"spec": map[string]any{
			"selector":  map[string]any{"matchLabels": map[string]any{"monitor": "yes"}},
			"endpoints": []any{map[string]any{"port": "metrics", "path": "/metrics"}},
		},
	}}
	if _, err := dyn.Resource(cluster.ServiceMonitorGVR).Namespace(ns).Create(ctx, sm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	util := map[string]float64{"vllm-annotated-0": 37, "tgi-monitored-0": 64}
	dcgm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		page := "# HELP DCGM_FI_DEV_GPU_UTIL GPU utilization (in %).\n# TYPE DCGM_FI_DEV_GPU_UTIL gauge\n"
		for i, pod := range []string{"vllm-annotated-0", "tgi-monitored-0"} {
			page += fmt.Sprintf("DCGM_FI_DEV_GPU_UTIL{gpu=\"%d\",UUID=\"GPU-%d\",device=\"nvidia%d\",modelName=\"NVIDIA A10G\",Hostname=\"gpu-m\",container=\"engine\",namespace=%q,pod=%q} %g\n", i, i, i, ns, pod, util[pod])
		}
		_, _ = io.WriteString(w, page)
	}))
	t.Cleanup(dcgm.Close)
	gpuNS := namespace(t, "gpu-operator")
	exporter := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "nvidia-dcgm-exporter-x7k2p", Namespace: gpuNS, Labels: map[string]string{"app": "nvidia-dcgm-exporter"}},
		Spec: corev1.PodSpec{NodeName: "gpu-m", Containers: []corev1.Container{{Name: "nvidia-dcgm-exporter", Image: "nvcr.io/nvidia/k8s/dcgm-exporter:4.4.0-4.5.0-ubuntu22.04",
			Ports: []corev1.ContainerPort{{Name: "metrics", ContainerPort: portOf(t, dcgm.Listener.Addr())}}}}},
	}
	exporter, err := world.kube.CoreV1().Pods(gpuNS).Create(ctx, exporter, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	exporter.Status = corev1.PodStatus{Phase: corev1.PodRunning, HostIP: "127.0.0.1",
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}
	if _, err := world.kube.CoreV1().Pods(gpuNS).UpdateStatus(ctx, exporter, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	out, stderr, code := runPlugin(t, world.kubeconfig, time.Minute, "discover", "-n", ns, "--no-probe", "-o", "json")
	if code != 0 {
		t.Fatalf("discover exit %d: %s", code, stderr)
	}
	var rows []struct {
		Service string                `json:"service"`
		Metrics *cluster.MetricsPlace `json:"metrics"`
		GPU     *cluster.GPUExporter  `json:"gpu_metrics"`
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("discover -o json: %v\n%s", err, out)
	}
	want := map[string]string{"vllm-annotated": "Pod annotation prometheus.io/port", "tgi-monitored": "ServiceMonitor tgi-sm"}
	for _, r := range rows {
		if r.Metrics == nil || r.Metrics.Found != want[r.Service] || r.Metrics.OnAPIPort {
			t.Errorf("%s: metrics %+v, want found by %q off the API port", r.Service, r.Metrics, want[r.Service])
		}
		if r.GPU == nil || r.GPU.Pod != exporter.Name || r.GPU.Namespace != gpuNS || len(r.GPU.EnginePods) != 1 || r.GPU.EnginePods[0] != ns+"/"+r.Service+"-0" {
			t.Errorf("%s: GPU exporter %+v", r.Service, r.GPU)
		}
	}
	table, _, _ := runPlugin(t, world.kubeconfig, time.Minute, "discover", "-n", ns, "--no-probe")
	for _, s := range []string{"Pod annotation prometheus.io/port", "ServiceMonitor tgi-sm", "DCGM gpu-operator/nvidia-dcgm-exporter-x7k2p on gpu-m"} {
		if !strings.Contains(table, s) {
			t.Errorf("discover table lacks %q:\n%s", s, table)
		}
	}
	plan, stderr, code := runPlugin(t, world.kubeconfig, time.Minute, "run", "-n", ns, "--dry-run", "--preset", "quick")
	if code != 0 || !strings.Contains(plan, "ServiceMonitor tgi-sm") || !strings.Contains(plan, "DCGM gpu-operator/") {
		t.Errorf("dry run (exit %d) does not say what is scraped:\n%s\n%s", code, plan, stderr)
	}

	results := filepath.Join(t.TempDir(), "results")
	out, stderr, code = runPlugin(t, world.kubeconfig, 3*time.Minute, "run", "-n", ns, "--access", "port-forward", "--preset", "quick",
		"--duration", "2s", "--iterations", "3", "--format", "json", "--scrape-interval", "200ms", "--output-dir", results)
	if code != 0 {
		t.Fatalf("run exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
	if vHits.Load() == 0 || tHits.Load() == 0 {
		t.Errorf("the metrics ports were scraped %d (vLLM) and %d (TGI) times", vHits.Load(), tHits.Load())
	}
	i := strings.Index(out, "Results: ")
	if i < 0 {
		t.Fatalf("no results folder in output:\n%s", out)
	}
	dir := strings.Fields(out[i+len("Results: "):])[0]
	run, err := export.LoadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	windows := 0
	for _, w := range run.Summary.EngineMetrics {
		pod := map[string]string{"vllm": "vllm-annotated-0", "tgi": "tgi-monitored-0"}[w.Engine]
		if w.Unavailable != "" {
			t.Errorf("%s/%s: %s", w.Engine, w.Scenario, w.Unavailable)
			continue
		}
		windows++
		g, ok := w.GPUGauge(reconcile.GPUUtil)
		if w.GPUs != 1 || !ok || g.Mean != util[pod] {
			t.Errorf("%s/%s: %d GPUs, utilisation %+v; want only %s's GPU at %g%%", w.Engine, w.Scenario, w.GPUs, g, pod, util[pod])
		}
	}
	if windows < 2 {
		t.Errorf("%d reconciled windows, want both engines'", windows)
	}
	scrapes, err := export.LoadMetricsJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, s := range scrapes {
		kinds[s.Engine+"/"+s.Kind]++
		if s.Error != "" {
			t.Errorf("%s %s scrape failed: %s", s.Engine, s.Kind, s.Error)
		}
	}
	for _, k := range []string{"vllm/", "tgi/", "vllm/" + scrape.KindGPU, "tgi/" + scrape.KindGPU} {
		if kinds[k] < 2 {
			t.Errorf("%d scrapes of %s in the journal: %v", kinds[k], k, kinds)
		}
	}
	man, _ := os.ReadFile(filepath.Join(dir, export.ManifestFile))
	if !strings.Contains(string(man), "Pod annotation prometheus.io/port, port-forward to vllm-annotated-0") {
		t.Errorf("the manifest does not say where vLLM's metrics came from:\n%s", man)
	}
}
