//go:build cluster

package cluster_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// controllers starts the real kube-controller-manager (built beside the
// API server by make envtest-assets) with the controllers a load Job
// needs: the Job controller creates its Pods, the garbage collector
// deletes what the Job owns, the TTL controller finished Jobs. Once per
// test binary; it runs until the API server stops.
var controllers = sync.OnceValue(func() error {
	bin := filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kube-controller-manager")
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("%s: %w (make envtest-assets builds it)", bin, err)
	}
	log, err := os.Create(filepath.Join(world.tmp, "kube-controller-manager.log"))
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, "--kubeconfig", world.kubeconfig, "--leader-elect=false", "--secure-port=0",
		"--controllers=job-controller,garbage-collector-controller,ttl-after-finished-controller",
		"--concurrent-job-syncs=5", "--v=1")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return err
	}
	world.stopControllers = func() { cmd.Process.Kill(); cmd.Wait(); log.Close() }
	return nil
})

func needControllers(t *testing.T) {
	t.Helper()
	if err := controllers(); err != nil {
		t.Fatal(err)
	}
}

// nodeAgent is a kubelet for the load Job's Pods, as far as the tests
// need one: it binds each Pod of its namespace to one of its nodes (there
// is no scheduler), runs the Pod's container as a local process of the
// plugin binary with the Pod's env and args (the kubelet's $(VAR)
// expansion, the downward API, Secret references, ConfigMap and emptyDir
// volumes as folders), gives it a loopback address of its own (127.0.1.N,
// where the fake kubelet's port-forward dials it), probes its readiness,
// and reports Pod status as a kubelet does. A deleted Pod's process gets
// SIGTERM and the Pod is removed once it exits.
type nodeAgent struct {
	t     *testing.T
	ns    string
	nodes []string
	dir   string

	mu     sync.Mutex
	procs  map[string]*agentProc
	nextIP int
	bound  int
}

type agentProc struct {
	pod     string
	index   int
	node    string
	ip      string
	cmd     *exec.Cmd
	dataDir string
	exited  chan struct{}
	ready   atomic.Bool
	killed  atomic.Bool

	log syncBuffer
	// mu guards the exit code (written by the process's own goroutine,
	// never under the agent's lock).
	mu   sync.Mutex
	code int
}

var agentIPs struct {
	sync.Mutex
	next int
}

func startAgent(t *testing.T, ns string, nodes ...string) *nodeAgent {
	t.Helper()
	for _, n := range nodes {
		node(t, n, "")
	}
	a := &nodeAgent{t: t, ns: ns, nodes: nodes, dir: t.TempDir(), procs: map[string]*agentProc{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); a.loop(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		for _, p := range a.workers() {
			p.cmd.Process.Kill()
			<-p.exited
		}
	})
	return a
}

func (a *nodeAgent) loop(ctx context.Context) {
	for ctx.Err() == nil {
		l, err := world.kube.CoreV1().Pods(a.ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=load-worker"})
		if err == nil {
			seen := map[string]bool{}
			for i := range l.Items {
				seen[l.Items[i].Name] = true
				a.sync(ctx, &l.Items[i])
			}
			a.mu.Lock()
			for name, p := range a.procs {
				if !seen[name] {
					p.cmd.Process.Signal(syscall.SIGTERM)
				}
			}
			a.mu.Unlock()
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (a *nodeAgent) sync(ctx context.Context, pod *corev1.Pod) {
	pods := world.kube.CoreV1().Pods(a.ns)
	a.mu.Lock()
	p := a.procs[pod.Name]
	a.mu.Unlock()
	switch {
	case pod.Spec.NodeName == "" && pod.DeletionTimestamp == nil:
		a.mu.Lock()
		n := a.nodes[a.bound%len(a.nodes)]
		a.bound++
		a.mu.Unlock()
		b := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: a.ns}, Target: corev1.ObjectReference{Kind: "Node", Name: n}}
		if err := pods.Bind(ctx, b, metav1.CreateOptions{}); err != nil && ctx.Err() == nil {
			a.t.Logf("agent: binding %s: %v", pod.Name, err)
		}
	case pod.DeletionTimestamp != nil:
		if p != nil {
			p.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.exited:
			default:
				return // finalized once it exits
			}
		}
		// The kubelet's last word: the Pod is gone once its container is.
		if err := pods.Delete(ctx, pod.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil && !apierrors.IsNotFound(err) && ctx.Err() == nil {
			a.t.Logf("agent: finalizing %s: %v", pod.Name, err)
		}
	case p == nil && pod.Status.Phase == corev1.PodPending:
		if err := a.start(ctx, pod); err != nil {
			a.t.Errorf("agent: starting %s: %v", pod.Name, err)
		}
	case p != nil:
		a.report(ctx, pod, p)
	}
}

var varRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// start runs the Pod's only container as a process of the plugin binary.
func (a *nodeAgent) start(ctx context.Context, pod *corev1.Pod) error {
	agentIPs.Lock()
	agentIPs.next++
	ip := fmt.Sprintf("127.0.1.%d", agentIPs.next)
	agentIPs.Unlock()
	c := pod.Spec.Containers[0]
	root := filepath.Join(a.dir, pod.Name)
	mounts := map[string]string{}
	for _, v := range pod.Spec.Volumes {
		host := filepath.Join(root, v.Name)
		if err := os.MkdirAll(host, 0o755); err != nil {
			return err
		}
		if cm := v.ConfigMap; cm != nil {
			m, err := world.kube.CoreV1().ConfigMaps(a.ns).Get(ctx, cm.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			for k, val := range m.Data {
				if err := os.WriteFile(filepath.Join(host, k), []byte(val), 0o644); err != nil {
					return err
				}
			}
		}
		for _, vm := range c.VolumeMounts {
			if vm.Name == v.Name {
				mounts[vm.MountPath] = host
			}
		}
	}
	env := map[string]string{}
	var envList []string
	for _, e := range c.Env {
		v := e.Value
		if src := e.ValueFrom; src != nil {
			switch {
			case src.FieldRef != nil:
				switch fp := src.FieldRef.FieldPath; {
				case fp == "metadata.name":
					v = pod.Name
				case fp == "spec.nodeName":
					v = pod.Spec.NodeName
				case fp == "status.podIP":
					v = ip
				case strings.HasPrefix(fp, "metadata.annotations['"):
					v = pod.Annotations[strings.TrimSuffix(strings.TrimPrefix(fp, "metadata.annotations['"), "']")]
				case strings.HasPrefix(fp, "metadata.labels['"):
					v = pod.Labels[strings.TrimSuffix(strings.TrimPrefix(fp, "metadata.labels['"), "']")]
				default:
					return fmt.Errorf("env %s: field %s is not known to the test agent", e.Name, fp)
				}
			case src.SecretKeyRef != nil:
				s, err := world.kube.CoreV1().Secrets(a.ns).Get(ctx, src.SecretKeyRef.Name, metav1.GetOptions{})
				if err != nil {
					return fmt.Errorf("env %s: %w", e.Name, err)
				}
				v = string(s.Data[src.SecretKeyRef.Key])
			}
		}
		env[e.Name] = varRef.ReplaceAllStringFunc(v, func(m string) string { return env[m[2:len(m)-1]] })
		envList = append(envList, e.Name+"="+env[e.Name])
	}
	args := append(append([]string{}, c.Command...), c.Args...)
	for i, s := range args {
		s = varRef.ReplaceAllStringFunc(s, func(m string) string { return env[m[2:len(m)-1]] })
		for mp, host := range mounts {
			if s == mp || strings.HasPrefix(s, mp+"/") {
				s = host + strings.TrimPrefix(s, mp)
			}
		}
		args[i] = s
	}
	if args[0] != "/kubectl-llmbench" {
		return fmt.Errorf("image %s runs %s, not the plugin", c.Image, args[0])
	}
	cmd := exec.Command(world.bin, args[1:]...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + root}, envList...)
	// A worker never outlives the test binary (a timeout kills it).
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	idx, _ := strconv.Atoi(pod.Annotations[batchv1.JobCompletionIndexAnnotation])
	p := &agentProc{pod: pod.Name, index: idx, node: pod.Spec.NodeName, ip: ip, cmd: cmd, exited: make(chan struct{}), dataDir: mounts["/var/lib/llmbench"]}
	cmd.Stdout, cmd.Stderr = &p.log, &p.log
	if err := cmd.Start(); err != nil {
		return err
	}
	world.kubelet.SetPodIP(pod.Name, ip)
	a.t.Logf("agent: started worker %d (pod %s) on %s at %s", idx, pod.Name, pod.Spec.NodeName, ip)
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.code = cmd.ProcessState.ExitCode()
		if err != nil && p.code < 0 {
			p.code = 137
		}
		p.mu.Unlock()
		close(p.exited)
	}()
	a.mu.Lock()
	a.procs[pod.Name] = p
	a.mu.Unlock()
	pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}, HostIP: "127.0.0.1",
		StartTime: ptr.To(metav1.Now()),
		Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}, {Type: corev1.PodReady, Status: corev1.ConditionFalse},
			{Type: corev1.ContainersReady, Status: corev1.ConditionFalse}},
		ContainerStatuses: []corev1.ContainerStatus{{Name: c.Name, Image: c.Image, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}}}}
	_, err := world.kube.CoreV1().Pods(a.ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{})
	return err
}

// report probes a running worker and writes its status as it changes.
func (a *nodeAgent) report(ctx context.Context, pod *corev1.Pod, p *agentProc) {
	if podDone(pod) {
		return
	}
	select {
	case <-p.exited:
		p.mu.Lock()
		code := p.code
		p.mu.Unlock()
		logTail := tail(p.log.String(), 2000)
		phase := corev1.PodSucceeded
		if code != 0 {
			phase = corev1.PodFailed
		}
		pod.Status.Phase = phase
		pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}}
		pod.Status.ContainerStatuses[0].Ready = false
		pod.Status.ContainerStatuses[0].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: int32(code), Reason: map[bool]string{true: "Completed", false: "Error"}[code == 0], Message: logTail, FinishedAt: metav1.Now()}}
		if _, err := world.kube.CoreV1().Pods(a.ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil && ctx.Err() == nil {
			a.t.Logf("agent: status of %s: %v", pod.Name, err)
		}
		return
	default:
	}
	if p.ready.Load() {
		return
	}
	hc := &http.Client{Timeout: time.Second}
	resp, err := hc.Get("http://" + p.ip + ":9090/healthz")
	if err != nil {
		return
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return
	}
	pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}, {Type: corev1.PodReady, Status: corev1.ConditionTrue}, {Type: corev1.ContainersReady, Status: corev1.ConditionTrue}}
	pod.Status.ContainerStatuses[0].Ready = true
	if _, err := world.kube.CoreV1().Pods(a.ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err == nil {
		p.ready.Store(true)
	}
}

func podDone(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// kill kills worker index's process as the OOM killer would.
func (a *nodeAgent) kill(index int) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, p := range a.procs {
		if p.index == index {
			p.killed.Store(true)
			p.cmd.Process.Kill()
			return true
		}
	}
	return false
}

// workers are the processes started, by index.
func (a *nodeAgent) workers() map[int]*agentProc {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[int]*agentProc{}
	for _, p := range a.procs {
		out[p.index] = p
	}
	return out
}

func (a *nodeAgent) logs() string {
	var b strings.Builder
	for _, p := range a.workers() {
		fmt.Fprintf(&b, "--- worker %d (%s):\n%s\n", p.index, p.pod, tail(p.log.String(), 4000))
	}
	return b.String()
}
