//go:build cluster

package cluster_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/cluster"
	"github.com/llmbench/kubectl-llmbench/pkg/export"
	"github.com/llmbench/kubectl-llmbench/pkg/placement"
	"github.com/llmbench/kubectl-llmbench/pkg/plugin"
)

func client(t *testing.T) *cluster.Client {
	t.Helper()
	c, err := cluster.NewClient(world.cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Routes, Ingresses and NodePorts are read from the real API server
// (the Route through API discovery of route.openshift.io/v1) and turned
// into URLs in --access auto's order. Nothing is sent to these hosts.
func TestWaysFromRealObjects(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t, "ways")
	node(t, "edge-1", "")
	n, err := world.kube.CoreV1().Nodes().Get(ctx, "edge-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// A documentation address: only its URL is built, it is never dialled.
	n.Status.Addresses = append([]corev1.NodeAddress{{Type: corev1.NodeExternalIP, Address: "203.0.113.10"}}, n.Status.Addresses...)
	if _, err := world.kube.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	deployEngine(t, ns, engineSpec{name: "vllm", engine: engine.EngineVLLM, svcLabels: map[string]string{"llmbench.io/engine": "vllm"}, node: "edge-1",
		svcType: corev1.ServiceTypeNodePort, nodePort: 30180})
	r := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "route.openshift.io/v1", "kind": "Route",
		"metadata": map[string]any{"name": "vllm", "namespace": ns},
		"spec": map[string]any{"host": "vllm-ways.apps.example.com", "to": map[string]any{"kind": "Service", "name": "vllm"},
			"port": map[string]any{"targetPort": "http"}, "tls": map[string]any{"termination": "edge"}},
	}}
	if _, err := client(t).Dynamic.Resource(cluster.RouteGVR).Namespace(ns).Create(ctx, r, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	prefix := networkingv1.PathTypePrefix
	ing := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "llm", Namespace: ns},
		Spec: networkingv1.IngressSpec{
			TLS: []networkingv1.IngressTLS{{Hosts: []string{"llm.example.com"}, SecretName: "llm-tls"}},
			Rules: []networkingv1.IngressRule{{Host: "llm.example.com", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
				Paths: []networkingv1.HTTPIngressPath{{Path: "/vllm", PathType: &prefix, Backend: networkingv1.IngressBackend{
					Service: &networkingv1.IngressServiceBackend{Name: "vllm", Port: networkingv1.ServiceBackendPort{Number: 8000}}}}},
			}}}},
		},
	}
	if _, err := world.kube.NetworkingV1().Ingresses(ns).Create(ctx, ing, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	snap, err := client(t).Read(ctx, ns)
	if err != nil {
		t.Fatal(err)
	}
	if !snap.HasRoutes {
		t.Fatal("API discovery did not find route.openshift.io/v1 routes")
	}
	es := snap.Engines()
	if len(es) != 1 {
		t.Fatalf("engines: %d", len(es))
	}
	ways := snap.Ways(es[0], world.cfg.Host)
	var got []string
	for _, w := range ways {
		got = append(got, string(w.Method)+" "+w.URL)
	}
	want := []string{
		"route https://vllm-ways.apps.example.com",
		"ingress https://llm.example.com/vllm",
		"nodeport http://203.0.113.10:30180",
	}
	for i, w := range want {
		if i >= len(got) || got[i] != w {
			t.Fatalf("ways (in auto order):\n%s\nwant first:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	last := ways[len(ways)-1]
	if last.Method != placement.MethodProxy || last.URL != strings.TrimRight(world.cfg.Host, "/")+"/api/v1/namespaces/ways/services/vllm:8000/proxy" {
		t.Fatalf("proxy way: %+v", last)
	}
}

// freeNodePort finds a port in the NodePort range free on 127.0.0.1, so
// a simulator can stand in for kube-proxy's NodePort on a node whose
// InternalIP is 127.0.0.1.
func freeNodePort(t *testing.T) (net.Listener, int32) {
	t.Helper()
	for p := 30200; p < 32767; p++ {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err == nil {
			return l, int32(p)
		}
	}
	t.Skip("no free port in the NodePort range on 127.0.0.1")
	return nil, 0
}

// --access auto prefers a NodePort over a port-forward: it is the path
// real users' traffic takes.
func TestAutoPrefersNodePort(t *testing.T) {
	ns := namespace(t, "nodeport")
	node(t, "gpu-a", "NVIDIA-H100-80GB-HBM3")
	l, port := freeNodePort(t)
	srv := &http.Server{Handler: world.simServer.Handler(engine.EngineVLLM)}
	go func() { _ = srv.Serve(l) }()
	defer srv.Close()
	deployEngine(t, ns, engineSpec{name: "vllm", engine: engine.EngineVLLM, svcLabels: map[string]string{"llmbench.io/engine": "vllm"}, node: "gpu-a",
		svcType: corev1.ServiceTypeNodePort, nodePort: port})
	out, stderr, code := runPlugin(t, world.kubeconfig, time.Minute, "discover", "-n", ns, "-o", "json")
	if code != 0 {
		t.Fatalf("discover exit %d\n%s", code, stderr)
	}
	var rows []plugin.DiscoveredEngine
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("http://127.0.0.1:%d", port)
	if len(rows) != 1 || rows[0].Access != placement.MethodNodePort || rows[0].URL != want || rows[0].Health != "ok" {
		t.Fatalf("want ok via nodeport %s, got %+v", want, rows)
	}
	// Asked for a port-forward, it gets one.
	out, stderr, code = runPlugin(t, world.kubeconfig, time.Minute, "discover", "-n", ns, "-o", "json", "--access", "port-forward")
	if code != 0 {
		t.Fatalf("discover exit %d\n%s", code, stderr)
	}
	rows = nil
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Access != placement.MethodPortForward || rows[0].Health != "ok" {
		t.Fatalf("--access port-forward: %+v", rows)
	}
	// Asked for a Route where there is none, it says what exists.
	out, _, _ = runPlugin(t, world.kubeconfig, time.Minute, "discover", "-n", ns, "-o", "json", "--access", "route")
	rows = nil
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || !strings.Contains(rows[0].Health, "no route way in") || !strings.Contains(rows[0].Health, "nodeport") {
		t.Fatalf("--access route without a Route: %+v", rows)
	}
}

// A tunnel cut by the kubelet is re-established on the same local port,
// and the engine's SSE stream is measured through it by the real client.
func TestPortForwardStreamsAndSurvivesDrop(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t, "drop")
	node(t, "gpu-a", "NVIDIA-H100-80GB-HBM3")
	deployEngine(t, ns, engineSpec{name: "vllm", engine: engine.EngineVLLM, svcLabels: map[string]string{"llmbench.io/engine": "vllm"}, node: "gpu-a"})
	c := client(t)
	snap, err := c.Read(ctx, ns)
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Reach(ctx, snap, snap.Engines()[0], cluster.ReachOptions{Method: placement.MethodPortForward})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	target := r.Target("vllm")
	target.Model = r.Info.Models[0]
	stream := func() engine.Record {
		cl := &engine.Client{HTTP: engine.NewHTTPClient(engine.HTTPOptions{}), Target: target, Timeout: 20 * time.Second, Clock: engine.NewClock()}
		var rec engine.Record
		cl.Do(ctx, engine.Request{Messages: []engine.Message{{Role: "user", Content: "hello through the tunnel"}}, MaxTokens: 16}, time.Now(), &rec)
		return rec
	}
	rec := stream()
	if rec.ErrorClass != "" || rec.OutputTokens != 16 || rec.TTFTMS == nil || *rec.TTFTMS <= 0 || rec.E2EMS == nil || *rec.E2EMS < *rec.TTFTMS {
		t.Fatalf("stream through the port-forward: %+v", rec)
	}
	if n := world.kubelet.Drop(); n == 0 {
		t.Fatal("no tunnel to drop")
	}
	deadline := time.Now().Add(15 * time.Second)
	for r.Forward.Reconnects() == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if r.Forward.Reconnects() == 0 {
		t.Fatal("the port-forward was not re-established within 15s")
	}
	if got := r.Target("vllm").BaseURL; got != target.BaseURL {
		t.Fatalf("local URL changed from %s to %s", target.BaseURL, got)
	}
	rec = stream()
	if rec.ErrorClass != "" || rec.OutputTokens != 16 {
		t.Fatalf("stream after the reconnect: %+v", rec)
	}
}

// A key read from a Secret with --api-key-secret reaches an engine that
// demands it, and appears nowhere in the results.
func TestAPIKeyFromSecret(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t, "secret")
	node(t, "gpu-a", "NVIDIA-H100-80GB-HBM3")
	const key = "sk-llmbench-secret-0123456789"
	guarded := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+key {
			http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		world.simServer.Handler(engine.EngineVLLM).ServeHTTP(w, r)
	}))
	defer guarded.Close()
	_, p, _ := net.SplitHostPort(guarded.Listener.Addr().String())
	var port int32
	fmt.Sscan(p, &port)
	deployEngine(t, ns, engineSpec{name: "vllm", engine: engine.EngineVLLM, svcLabels: map[string]string{"llmbench.io/engine": "vllm"}, node: "gpu-a", targetPort: port})
	if _, err := world.kube.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "vllm-api", Namespace: ns},
		StringData: map[string]string{"token": key}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	results := t.TempDir()
	out, stderr, code := runPlugin(t, world.kubeconfig, 2*time.Minute, "run", "-n", ns, "--suite", "ttft", "--iterations", "2", "--format", "json,csv",
		"--output-dir", results, "--api-key-secret", "vllm-api/token")
	if code != 0 {
		t.Fatalf("run exit %d\n%s\n%s", code, out, stderr)
	}
	assertNotInTree(t, results, key)
	if strings.Contains(out+stderr, key) {
		t.Fatal("the key reached the output")
	}
	_, stderr, code = runPlugin(t, world.kubeconfig, time.Minute, "run", "-n", ns, "--dry-run", "--api-key-secret", "vllm-api/password")
	if code == 0 || !strings.Contains(stderr, `no key "password"`) || !strings.Contains(stderr, "token") {
		t.Fatalf("a missing key should be named with the keys that exist: exit %d\n%s", code, stderr)
	}
}

// A tunnel cut in the middle of a load run is re-established; requests
// caught by the cut fail as connect (or truncated, when it cut a stream),
// and the run goes on measuring through the new tunnel.
func TestRunSurvivesPortForwardDrop(t *testing.T) {
	ns := namespace(t, "mid-run-drop")
	node(t, "gpu-a", "NVIDIA-H100-80GB-HBM3")
	deployEngine(t, ns, engineSpec{name: "vllm", engine: engine.EngineVLLM, svcLabels: map[string]string{"llmbench.io/engine": "vllm"}, node: "gpu-a"})
	results := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, world.bin, "run", "-n", ns, "--suite", "load", "--arrival", "closed", "--concurrency", "2",
		"--think-time", "50ms", "--duration", "18s", "--warmup", "0s", "--max-tokens", "32", "--format", "json", "--output-dir", results, "--kubeconfig", world.kubeconfig)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Cut the tunnel once the load is flowing (connections are kept
	// alive, so the progress line says so, not the kubelet's count).
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(stderr.String(), "closed_2users: started") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(1500 * time.Millisecond)
	dropAt := time.Now().UnixNano()
	if n := world.kubelet.Drop(); n == 0 {
		t.Fatal("no tunnel to cut")
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	dirs, _ := filepath.Glob(filepath.Join(results, "test_*"))
	if len(dirs) != 1 {
		t.Fatalf("run folders: %v", dirs)
	}
	run, err := export.LoadRun(dirs[0])
	if err != nil {
		t.Fatal(err)
	}
	if run.Manifest.Status != "complete" {
		t.Fatalf("status %s\n%s", run.Manifest.Status, stderr.String())
	}
	recs, err := run.ReadRecords()
	if err != nil {
		t.Fatal(err)
	}
	var before, after int
	failures := map[string]int{}
	for _, r := range recs {
		switch {
		case r.ErrorClass != "":
			failures[r.ErrorClass]++
		case r.StartUnixNS > dropAt:
			after++
		default:
			before++
		}
	}
	for class := range failures {
		if class != engine.ErrConnect && class != engine.ErrTruncated {
			t.Errorf("a cut tunnel gave error_class %q; want connect or truncated (%v)", class, failures)
		}
	}
	if before == 0 || after < 5 {
		t.Fatalf("successes before the cut %d, after %d (failures %v); the run should go on through a new tunnel\n%s", before, after, failures, stderr.String())
	}
	if !strings.Contains(stderr.String()+readLog(t, dirs[0]), "re-established") {
		t.Error("the reconnect is not logged")
	}
}

func readLog(t *testing.T, dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, "run.log"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The API server's service proxy, end to end, to simulators in a network
// namespace the test made (test/cluster/netns.sh; the proxy refuses
// loopback). Streams pass through it unbuffered, so TTFT is measured.
func TestServiceProxyIntoNetns(t *testing.T) {
	backend := os.Getenv("LLMBENCH_NETNS_BACKEND")
	if backend == "" {
		t.Skip("needs simulators in a network namespace: run make cluster-netns (root)")
	}
	ns := namespace(t, "proxy")
	node(t, "gpu-a", "NVIDIA-H100-80GB-HBM3")
	node(t, "gpu-b", "NVIDIA-H100-80GB-HBM3")
	node(t, "gpu-c", "NVIDIA-H100-80GB-HBM3")
	deployEngine(t, ns, engineSpec{name: "vllm", engine: engine.EngineVLLM, svcLabels: map[string]string{"llmbench.io/engine": "vllm"}, node: "gpu-a", gpus: 1, podIP: backend, targetPort: 8000})
	deployEngine(t, ns, engineSpec{name: "tgi", engine: engine.EngineTGI, svcLabels: map[string]string{"llmbench.io/engine": "tgi"}, node: "gpu-b", gpus: 1, podIP: backend, targetPort: 8080})
	deployEngine(t, ns, engineSpec{name: "ollama", engine: engine.EngineOllama, svcLabels: map[string]string{"llmbench.io/engine": "ollama"}, node: "gpu-c", gpus: 1, podIP: backend, targetPort: 11434})
	out, stderr, code := runPlugin(t, world.kubeconfig, time.Minute, "discover", "-n", ns, "--access", "proxy", "-o", "json")
	if code != 0 {
		t.Fatalf("discover exit %d\n%s", code, stderr)
	}
	var rows []plugin.DiscoveredEngine
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Fatalf("engines: %s", out)
	}
	for _, r := range rows {
		if r.Health != "ok" || r.Access != placement.MethodProxy || !strings.Contains(r.URL, "/api/v1/namespaces/proxy/services/") {
			t.Errorf("%s: %q via %s %s", r.Service, r.Health, r.Access, r.URL)
		}
	}
	results := t.TempDir()
	out, stderr, code = runPlugin(t, world.kubeconfig, 3*time.Minute, "run", "-n", ns, "--access", "proxy", "--suite", "ttft", "--iterations", "5",
		"--format", "json,md", "--output-dir", results)
	if code != 0 {
		t.Fatalf("run exit %d\n%s\n%s", code, out, stderr)
	}
	dirs, _ := filepath.Glob(filepath.Join(results, "test_*"))
	run, err := export.LoadRun(dirs[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range run.Summary.Groups {
		if g.Succeeded != 5 {
			t.Errorf("%s/%s: %d of 5 succeeded through the proxy", g.Engine, g.Scenario, g.Succeeded)
		}
	}
	recs, err := run.ReadRecords()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		// The simulator's first token comes after its prefill; a proxy
		// that buffered the stream would make TTFT equal E2E.
		if r.TTFTMS != nil && r.E2EMS != nil && r.OutputTokens > 1 && *r.E2EMS-*r.TTFTMS < 1 {
			t.Errorf("%s: TTFT %.1f ms ≈ E2E %.1f ms: the stream looks buffered", r.Engine, *r.TTFTMS, *r.E2EMS)
		}
	}
	for _, e := range run.Manifest.Cluster.Engines {
		if e.Access != placement.MethodProxy {
			t.Errorf("%s reached via %s", e.Target, e.Access)
		}
	}
}
