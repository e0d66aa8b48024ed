//go:build cluster

package cluster_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/sim"
	"github.com/llmbench/kubectl-llmbench/test/plugintest"
)

// countedEngine is a vLLM simulator behind a Service of ns, counting the
// completions that reach it; workers reach it as vllm.NS.svc:8000 through
// --connect-to.
type countedEngine struct {
	port     int32
	arrivals atomic.Int64
}

func deployCountedEngine(t *testing.T, ns string) *countedEngine {
	t.Helper()
	s := sim.New(sim.Options{Seed: 11, TimeScale: 0.1})
	h := s.Handler(engine.EngineVLLM)
	ce := &countedEngine{}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == engine.APIChat.Path() {
			ce.arrivals.Add(1)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	_, port, _ := net.SplitHostPort(hs.Listener.Addr().String())
	p, _ := strconv.Atoi(port)
	ce.port = int32(p)
	node(t, "gpu-"+ns, "NVIDIA-H100-80GB-HBM3")
	deployEngine(t, ns, engineSpec{name: "vllm", engine: engine.EngineVLLM, svcLabels: map[string]string{"llmbench.io/engine": "vllm"}, node: "gpu-" + ns, gpus: 1, targetPort: ce.port})
	return ce
}

func (ce *countedEngine) connectTo(ns string) string {
	return "vllm." + ns + ".svc:8000:127.0.0.1:" + strconv.Itoa(int(ce.port))
}

// operatorKubeconfig is a user bound only to role in ns.
func operatorKubeconfig(t *testing.T, ns, user string, role *rbacv1.Role) string {
	t.Helper()
	ctx := context.Background()
	role.Namespace = ns
	if _, err := world.kube.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: role.Name, Namespace: ns},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: role.Name},
		Subjects: []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: user}}}
	if _, err := world.kube.RbacV1().RoleBindings(ns).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	u, err := world.env.AddUser(envtest.User{Name: user}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kc, err := writeKubeconfig(u, user+"-"+ns)
	if err != nil {
		t.Fatal(err)
	}
	return kc
}

// dryRunObjects is what run --in-cluster --dry-run -o yaml prints, by kind.
func dryRunObjects(t *testing.T, ns string, args ...string) map[string][]byte {
	t.Helper()
	r := plugintest.Run(t, world.bin, plugintest.Options{Env: []string{"KUBECONFIG=" + world.kubeconfig}, Limit: time.Minute},
		append([]string{"run", "-n", ns, "--in-cluster", "--dry-run", "-o", "yaml"}, args...)...)
	if r.Code != 0 {
		t.Fatalf("dry run: exit %d\n%s", r.Code, r.Stderr)
	}
	out := map[string][]byte{}
	for _, doc := range strings.Split(r.Stdout, "\n---\n") {
		var m struct{ Kind string }
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil || m.Kind == "" {
			t.Fatalf("dry run printed a document that is not an object: %v\n%s", err, doc)
		}
		out[m.Kind] = []byte(doc)
	}
	return out
}

// loadObjectsGone waits until nothing of the run's load Job is left.
func loadObjectsGone(t *testing.T, ns string) {
	t.Helper()
	ctx := context.Background()
	sel := metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=load-worker"}
	deadline := time.Now().Add(45 * time.Second)
	for {
		left := []string{}
		if l, _ := world.kube.BatchV1().Jobs(ns).List(ctx, sel); len(l.Items) > 0 {
			left = append(left, "job "+l.Items[0].Name)
		}
		if l, _ := world.kube.CoreV1().Pods(ns).List(ctx, sel); len(l.Items) > 0 {
			left = append(left, "pod "+l.Items[0].Name)
		}
		if l, _ := world.kube.CoreV1().ConfigMaps(ns).List(ctx, sel); len(l.Items) > 0 {
			left = append(left, "configmap "+l.Items[0].Name)
		}
		if l, _ := world.kube.CoreV1().ServiceAccounts(ns).List(ctx, sel); len(l.Items) > 0 {
			left = append(left, "serviceaccount "+l.Items[0].Name)
		}
		if l, _ := world.kube.CoreV1().Secrets(ns).List(ctx, sel); len(l.Items) > 0 {
			left = append(left, "secret "+l.Items[0].Name)
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the run, still there: %v (deleting the Job must delete everything it owns)", left)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

type journalLine struct {
	RequestID  int64  `json:"request_id"`
	Phase      string `json:"phase"`
	LoadWorker *int   `json:"load_worker"`
	LoadNode   string `json:"load_node"`
}

func readLines(t *testing.T, path string) []journalLine {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []journalLine
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var l journalLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		out = append(out, l)
	}
	return out
}

type loadManifest struct {
	Status   string `json:"status"`
	LoadFrom *struct {
		Where   string `json:"where"`
		Job     string `json:"job"`
		Workers []struct {
			Index   int    `json:"index"`
			Node    string `json:"node"`
			State   string `json:"state"`
			Error   string `json:"error"`
			Records int64  `json:"records"`
		} `json:"workers"`
	} `json:"load_from"`
	Cluster struct {
		Engines []struct {
			Access string `json:"access"`
		} `json:"engines"`
	} `json:"cluster"`
}

// Four workers, run by a user bound only to the Role the dry run
// prints, through the real Job controller: the simulator sees the asked
// Poisson rate, every worker's journal comes home whole into one run
// folder, and one delete of the Job removes everything.
func TestInClusterWorkersDeliverTheRateIntoOneRunFolder(t *testing.T) {
	needControllers(t)
	ns := namespace(t, "incluster")
	ce := deployCountedEngine(t, ns)
	agent := startAgent(t, ns, "load-a", "load-b")

	args := []string{"--workers", "4", "--image", "registry.local/llmbench:test", "--suite", "load", "--arrival", "poisson",
		"--rate", "100", "--duration", "12s", "--max-tokens", "4", "--api-key", "sk-incluster-secret", "--connect-to", ce.connectTo(ns)}
	objs := dryRunObjects(t, ns, args...)
	var job batchv1.Job
	if err := yaml.Unmarshal(objs["Job"], &job); err != nil {
		t.Fatal(err)
	}
	spec, pod := job.Spec, job.Spec.Template.Spec
	if spec.CompletionMode == nil || *spec.CompletionMode != batchv1.IndexedCompletion || *spec.Parallelism != 4 || *spec.Completions != 4 {
		t.Fatalf("the Job is not Indexed with 4 completions at once: %+v", spec)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken || pod.ServiceAccountName != job.Name {
		t.Fatalf("workers must run as their own ServiceAccount without a token: %+v", pod)
	}
	na := pod.Affinity.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution
	if len(na) != 1 || !slices.Contains(na[0].Preference.MatchFields[0].Values, "gpu-"+ns) {
		t.Fatalf("workers do not avoid the engine's node: %+v", na)
	}
	if strings.Contains(string(objs["Secret"]), "sk-incluster-secret") || strings.Contains(string(objs["ConfigMap"]), "sk-incluster") {
		t.Fatal("the dry run printed the API key")
	}
	var role rbacv1.Role
	if err := yaml.Unmarshal(objs["Role"], &role); err != nil {
		t.Fatal(err)
	}
	kc := operatorKubeconfig(t, ns, "operator", &role)

	// Owner references, seen while the run goes on.
	owned := make(chan string, 1)
	go func() {
		for range 600 {
			l, _ := world.kube.CoreV1().ConfigMaps(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=load-worker"})
			if l != nil && len(l.Items) > 0 {
				refs := l.Items[0].OwnerReferences
				if len(refs) == 1 && refs[0].Kind == "Job" {
					owned <- refs[0].Name
				} else {
					owned <- ""
				}
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		owned <- ""
	}()

	out := t.TempDir()
	r := plugintest.Run(t, world.bin, plugintest.Options{Env: []string{"KUBECONFIG=" + kc}, Limit: 3 * time.Minute},
		append([]string{"run", "-n", ns, "--in-cluster", "--no-report", "--output-dir", out}, args...)...)
	if r.Code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s\nworkers:\n%s", r.Code, r.Stderr, agent.logs())
	}
	if o := <-owned; o == "" {
		t.Fatal("the ConfigMap is not owned by the Job")
	}
	dir := plugintest.RunFolder(t, out)
	merged := readLines(t, filepath.Join(dir, "requests.jsonl"))
	ws := agent.workers()
	if len(ws) != 4 {
		t.Fatalf("%d worker processes ran, want 4", len(ws))
	}
	byWorker := map[int]int{}
	total := 0
	for i, w := range ws {
		own := readLines(t, filepath.Join(w.dataDir, "requests.jsonl"))
		total += len(own)
		byWorker[i] = len(own)
	}
	measured, got := 0, map[int]int{}
	for _, l := range merged {
		if l.LoadWorker == nil || (l.LoadNode != "load-a" && l.LoadNode != "load-b") {
			t.Fatalf("request %d does not say which worker on which node sent it: %+v", l.RequestID, l)
		}
		got[*l.LoadWorker]++
		if l.Phase == "measure" {
			measured++
		}
	}
	if len(merged) != total {
		t.Fatalf("the run folder holds %d requests, the workers journaled %d (%v)", len(merged), total, byWorker)
	}
	for i, n := range byWorker {
		if got[i] != n {
			t.Fatalf("worker %d journaled %d requests, %d came home", i, n, got[i])
		}
	}
	if a := ce.arrivals.Load(); a != int64(total) {
		t.Fatalf("the simulator saw %d requests, the journals hold %d", a, total)
	}
	t.Logf("%d requests (%d measured) from workers %v; the simulator saw %d", total, measured, byWorker, ce.arrivals.Load())
	// The live view followed the workers: its last snapshot counts every
	// request that came home and lists the four workers.
	snaps, err := os.ReadFile(filepath.Join(dir, "live.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(snaps)), "\n")
	var last struct {
		Lanes []struct {
			Done     int `json:"done"`
			InFlight int `json:"in_flight"`
		} `json:"lanes"`
		Workers []struct {
			Node    string `json:"node"`
			Records int64  `json:"records"`
		} `json:"workers"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, l := range last.Lanes {
		seen += l.Done
		if l.Done > 0 && l.InFlight != -1 {
			t.Errorf("in flight %d for records only journals told of", l.InFlight)
		}
	}
	if seen != total || len(last.Workers) != 4 {
		t.Errorf("live.jsonl's last snapshot: %d requests, %d workers; want %d and 4", seen, len(last.Workers), total)
	}
	// 100/s over the 12 s measured window, at the server: ±10%.
	if rate := float64(measured) / 12; rate < 90 || rate > 110 {
		t.Fatalf("%d measured requests in 12 s = %.1f/s; asked 100/s", measured, rate)
	}
	var m loadManifest
	plugintest.ReadJSON(t, filepath.Join(dir, "manifest.json"), &m)
	if m.LoadFrom == nil || m.LoadFrom.Where != "inside the cluster" || len(m.LoadFrom.Workers) != 4 {
		t.Fatalf("manifest load_from: %+v", m.LoadFrom)
	}
	for _, w := range m.LoadFrom.Workers {
		if w.State != "done" || w.Node == "" || w.Records != int64(byWorker[w.Index]) {
			t.Fatalf("worker %d in the manifest: %+v", w.Index, w)
		}
	}
	if len(m.Cluster.Engines) != 1 || m.Cluster.Engines[0].Access != "in-cluster" {
		t.Fatalf("the engine's access: %+v", m.Cluster.Engines)
	}
	for _, f := range []string{"requests.jsonl", "manifest.json", "summary.json", "run.log"} {
		b, _ := os.ReadFile(filepath.Join(dir, f))
		if bytes.Contains(b, []byte("sk-incluster-secret")) {
			t.Fatalf("%s holds the API key", f)
		}
	}
	if strings.Contains(r.Stderr+r.Stdout, "sk-incluster-secret") {
		t.Fatal("the API key was printed")
	}
	loadObjectsGone(t, ns)
}

// A worker killed mid-run is reported lost with what it had sent home;
// tunnels cut while journals come home are re-established and nothing
// is lost or counted twice.
func TestInClusterRunSurvivesALostWorkerAndDroppedTunnels(t *testing.T) {
	needControllers(t)
	ns := namespace(t, "incluster-faults")
	ce := deployCountedEngine(t, ns)
	agent := startAgent(t, ns, "load-c")
	done := make(chan struct{})
	go func() {
		// Worker 1 dies 3 s into its part; every 1.5 s all tunnels drop.
		var started time.Time
		for {
			select {
			case <-done:
				return
			case <-time.After(250 * time.Millisecond):
			}
			w := agent.workers()[1]
			if w == nil || !w.ready.Load() {
				continue
			}
			if started.IsZero() {
				started = time.Now()
			}
			if time.Since(started) > 3*time.Second && !w.killed.Load() {
				agent.kill(1)
			}
			if time.Since(started) > 1500*time.Millisecond && time.Since(started)%(1500*time.Millisecond) < 250*time.Millisecond {
				world.kubelet.Drop()
			}
		}
	}()
	out := t.TempDir()
	r := plugintest.Run(t, world.bin, plugintest.Options{Env: []string{"KUBECONFIG=" + world.kubeconfig}, Limit: 3 * time.Minute},
		"run", "-n", ns, "--in-cluster", "--workers", "3", "--image", "registry.local/llmbench:test", "--suite", "load", "--arrival", "closed",
		"--concurrency", "6", "--duration", "8s", "--max-tokens", "4", "--no-report", "--output-dir", out, "--connect-to", ce.connectTo(ns))
	close(done)
	if r.Code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s\nworkers:\n%s", r.Code, r.Stderr, agent.logs())
	}
	if !strings.Contains(r.Stderr, "load worker 1") || !strings.Contains(r.Stderr, "lost") {
		t.Fatalf("the lost worker is not reported:\n%s", r.Stderr)
	}
	dir := plugintest.RunFolder(t, out)
	var m loadManifest
	plugintest.ReadJSON(t, filepath.Join(dir, "manifest.json"), &m)
	merged := readLines(t, filepath.Join(dir, "requests.jsonl"))
	got := map[int]map[int64]int{}
	for _, l := range merged {
		if got[*l.LoadWorker] == nil {
			got[*l.LoadWorker] = map[int64]int{}
		}
		got[*l.LoadWorker][l.RequestID]++
	}
	for i, w := range agent.workers() {
		own := readLines(t, filepath.Join(w.dataDir, "requests.jsonl"))
		for id, n := range got[i] {
			if n != 1 {
				t.Fatalf("worker %d's request %d came home %d times", i, id, n)
			}
		}
		if i == 1 {
			if len(got[1]) == 0 || len(got[1]) > len(own) {
				t.Fatalf("the killed worker journaled %d requests, %d came home", len(own), len(got[1]))
			}
			continue
		}
		if len(got[i]) != len(own) {
			t.Fatalf("worker %d journaled %d requests, %d came home through the cut tunnels", i, len(own), len(got[i]))
		}
	}
	for _, w := range m.LoadFrom.Workers {
		want := "done"
		if w.Index == 1 {
			want = "lost"
		}
		if w.State != want || w.Records != int64(len(got[w.Index])) {
			t.Fatalf("worker %d in the manifest: %+v (want %s with %d records)", w.Index, w, want, len(got[w.Index]))
		}
	}
	loadObjectsGone(t, ns)
}

// Ctrl-C stops the workers, deletes the Job and still writes what was
// measured, status interrupted.
func TestInClusterCtrlCDeletesTheJobAndKeepsTheMeasurements(t *testing.T) {
	needControllers(t)
	ns := namespace(t, "incluster-stop")
	ce := deployCountedEngine(t, ns)
	startAgent(t, ns, "load-d")
	out := t.TempDir()
	cmd := exec.Command(world.bin, "run", "-n", ns, "--in-cluster", "--workers", "2", "--image", "registry.local/llmbench:test", "--suite", "load",
		"--arrival", "closed", "--concurrency", "2", "--duration", "2m", "--max-tokens", "4", "--no-report", "--output-dir", out, "--connect-to", ce.connectTo(ns))
	cmd.Env = append(os.Environ(), "KUBECONFIG="+world.kubeconfig)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(stderr.String(), "start together") || ce.arrivals.Load() < 10 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the workers did not start:\n%s", stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGINT)
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case <-waited:
	case <-time.After(45 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("still running 45 s after Ctrl-C:\n%s", stderr.String())
	}
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Fatalf("exit %d after Ctrl-C, want 130\n%s", code, stderr.String())
	}
	dir := plugintest.RunFolder(t, out)
	var m loadManifest
	plugintest.ReadJSON(t, filepath.Join(dir, "manifest.json"), &m)
	if m.Status != "interrupted" {
		t.Fatalf("status %q, want interrupted", m.Status)
	}
	if n := len(readLines(t, filepath.Join(dir, "requests.jsonl"))); n < 10 {
		t.Fatalf("%d requests kept after Ctrl-C", n)
	}
	loadObjectsGone(t, ns)
}

// The Role the dry run prints is the least: without any one of its
// verbs, a run fails or leaves its Job behind.
func TestInClusterOperatorRoleIsTheLeast(t *testing.T) {
	needControllers(t)
	ns := namespace(t, "incluster-rbac")
	ce := deployCountedEngine(t, ns)
	startAgent(t, ns, "load-e")
	args := []string{"--workers", "1", "--image", "registry.local/llmbench:test", "--suite", "load", "--arrival", "closed",
		"--concurrency", "1", "--requests", "2", "--max-tokens", "4", "--api-key", "sk-rbac", "--connect-to", ce.connectTo(ns)}
	var role rbacv1.Role
	if err := yaml.Unmarshal(dryRunObjects(t, ns, args...)["Role"], &role); err != nil {
		t.Fatal(err)
	}
	type cut struct{ rule, resource, verb int }
	var cuts []cut
	for ri, r := range role.Rules {
		for si := range r.Resources {
			for vi := range r.Verbs {
				cuts = append(cuts, cut{ri, si, vi})
			}
		}
	}
	for k, c := range cuts {
		less := role.DeepCopy()
		r := role.Rules[c.rule]
		res, verb := r.Resources[c.resource], r.Verbs[c.verb]
		what := res + " " + verb
		// The rule keeps its other resources, and this resource its
		// other verbs.
		less.Rules = slices.Delete(less.Rules, c.rule, c.rule+1)
		if others := slices.DeleteFunc(slices.Clone(r.Resources), func(s string) bool { return s == res }); len(others) > 0 {
			less.Rules = append(less.Rules, rbacv1.PolicyRule{APIGroups: r.APIGroups, Resources: others, Verbs: r.Verbs})
		}
		if verbs := slices.DeleteFunc(slices.Clone(r.Verbs), func(s string) bool { return s == verb }); len(verbs) > 0 {
			less.Rules = append(less.Rules, rbacv1.PolicyRule{APIGroups: r.APIGroups, Resources: []string{res}, Verbs: verbs})
		}
		less.Name = "less-" + strconv.Itoa(k)
		kc := operatorKubeconfig(t, ns, "op-"+strconv.Itoa(k), less)
		out := plugintest.Run(t, world.bin, plugintest.Options{Env: []string{"KUBECONFIG=" + kc}, Limit: 2 * time.Minute},
			append([]string{"run", "-n", ns, "--in-cluster", "--no-report", "--output-dir", t.TempDir()}, args...)...)
		jobs, _ := world.kube.BatchV1().Jobs(ns).List(context.Background(), metav1.ListOptions{})
		left := len(jobs.Items) > 0
		for _, j := range jobs.Items {
			world.kube.BatchV1().Jobs(ns).Delete(context.Background(), j.Name, metav1.DeleteOptions{PropagationPolicy: ptrTo(metav1.DeletePropagationBackground)})
		}
		t.Logf("without %s: exit %d, Job left behind %v: %s", what, out.Code, left, lastLine(out.Stderr))
		if out.Code == 0 && !left {
			t.Errorf("without %s the run still worked and cleaned up: the Role grants more than it needs", what)
		}
		if out.Code != 0 && !strings.Contains(out.Stderr, "permission denied") && !strings.Contains(out.Stderr, "forbidden") {
			t.Errorf("without %s the run failed without saying which permission is missing:\n%s", what, out.Stderr)
		}
		loadObjectsGone(t, ns)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func ptrTo[T any](v T) *T { return &v }

// validate --in-cluster says what keeps a namespace from running the load
// workers: the verbs the user lacks, a quota without room, and passes
// where nothing does.
func TestValidateInCluster(t *testing.T) {
	ns := namespace(t, "incluster-validate")
	deployCountedEngine(t, ns)
	ctx := context.Background()
	validate := func(kc string, workers int) (int, map[string]struct{ Status, Detail string }) {
		r := plugintest.Run(t, world.bin, plugintest.Options{Env: []string{"KUBECONFIG=" + kc}, Limit: time.Minute},
			"validate", "-n", ns, "--in-cluster", "--workers", strconv.Itoa(workers), "--image", "registry.local/llmbench:test", "-o", "json")
		var rep struct {
			Checks []struct{ Check, Status, Detail string }
		}
		if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
			t.Fatalf("validate -o json: %v\n%s\n%s", err, r.Stdout, r.Stderr)
		}
		out := map[string]struct{ Status, Detail string }{}
		for _, c := range rep.Checks {
			if strings.HasPrefix(c.Check, "in-cluster-") {
				out[c.Check] = struct{ Status, Detail string }{c.Status, c.Detail}
			}
		}
		return r.Code, out
	}
	objs := dryRunObjects(t, ns, "--image", "registry.local/llmbench:test")
	var role rbacv1.Role
	if err := yaml.Unmarshal(objs["Role"], &role); err != nil {
		t.Fatal(err)
	}
	// Reading the quotas and the namespace's labels: what validate reads
	// beyond the Role (it warns without them).
	role.Rules = append(role.Rules, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"resourcequotas"}, Verbs: []string{"list"}},
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"get"}})
	full := operatorKubeconfig(t, ns, "validator", &role)
	_, got := validate(full, 4)
	for _, c := range []string{"in-cluster-rbac", "in-cluster-quota", "in-cluster-pod-security", "in-cluster-image"} {
		if got[c].Status != "pass" {
			t.Errorf("with the Role and room: %s is %+v", c, got[c])
		}
	}
	readOnly := operatorKubeconfig(t, ns, "reader", &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "reader"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"services", "pods"}, Verbs: []string{"list"}}}})
	code, got := validate(readOnly, 1)
	if code == 0 || got["in-cluster-rbac"].Status != "fail" || !strings.Contains(got["in-cluster-rbac"].Detail, "create jobs") ||
		!strings.Contains(got["in-cluster-rbac"].Detail, "create pods/portforward") || strings.Contains(got["in-cluster-rbac"].Detail, "list services") {
		t.Errorf("a reader: exit %d, %+v", code, got["in-cluster-rbac"])
	}
	quota := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "small", Namespace: ns},
		Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("3")}}}
	q, err := world.kube.CoreV1().ResourceQuotas(ns).Create(ctx, quota, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// No quota controller runs: the status it would write.
	q.Status = corev1.ResourceQuotaStatus{Hard: q.Spec.Hard, Used: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("1")}}
	if _, err := world.kube.CoreV1().ResourceQuotas(ns).UpdateStatus(ctx, q, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	code, got = validate(full, 4)
	if code == 0 || got["in-cluster-quota"].Status != "fail" || !strings.Contains(got["in-cluster-quota"].Detail, "pods of ResourceQuota small has 2 left, the 4 worker(s) need 4") {
		t.Errorf("4 workers under a quota of 2 more Pods: exit %d, %+v", code, got["in-cluster-quota"])
	}
	if _, got = validate(full, 2); got["in-cluster-quota"].Status != "pass" {
		t.Errorf("2 workers under a quota of 2 more Pods: %+v", got["in-cluster-quota"])
	}
}
