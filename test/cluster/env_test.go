//go:build cluster

// Package cluster_test runs discovery, access and validate against a real
// kube-apiserver and etcd (built by `make envtest-assets`, started by
// envtest). No controllers run, so the tests write what they would: Pod
// and Node status, EndpointSlices. Port-forwards go through the real API
// server to a fake kubelet that serves /portForward/ with the kubelet's
// own streaming code and dials the simulators on 127.0.0.1.
package cluster_test

import (
	"context"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	kubeletpf "k8s.io/cri-streaming/pkg/streaming/portforward"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/sim"
	"github.com/llmbench/kubectl-llmbench/test/plugintest"
)

// world is the shared API server, fake kubelet and simulators.
var world struct {
	env        *envtest.Environment
	cfg        *rest.Config
	kube       kubernetes.Interface
	kubeconfig string // admin kubeconfig file
	kubelet    *fakeKubelet
	sims       map[engine.EngineType]string // base URLs on 127.0.0.1
	simServer  *sim.Server
	bin        string // the plugin binary
	tmp        string
	// stopControllers stops kube-controller-manager, when a test started
	// it (controllers).
	stopControllers func()
}

func TestMain(m *testing.M) {
	code, err := setup(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cluster tests:", err)
		code = 1
	}
	teardown()
	os.Exit(code)
}

func setup(m *testing.M) (int, error) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		return 0, fmt.Errorf("KUBEBUILDER_ASSETS is not set: run these tests with `make cluster`, which builds kube-apiserver and etcd")
	}
	tmp, err := os.MkdirTemp("", "llmbench-cluster-")
	if err != nil {
		return 0, err
	}
	world.tmp = tmp
	world.kubelet = newFakeKubelet()
	caFile := filepath.Join(tmp, "kubelet-ca.pem")
	if err := os.WriteFile(caFile, world.kubelet.caPEM, 0o600); err != nil {
		return 0, err
	}
	world.env = &envtest.Environment{
		ControlPlaneStartTimeout: 2 * time.Minute,
		ControlPlaneStopTimeout:  time.Minute,
		CRDInstallOptions:        envtest.CRDInstallOptions{CRDs: []*apiextensionsv1.CustomResourceDefinition{routeCRD()}},
	}
	api := world.env.ControlPlane.GetAPIServer()
	api.Configure().Set("kubelet-certificate-authority", caFile)
	if addr := os.Getenv("APISERVER_ADVERTISE_ADDRESS"); addr != "" {
		api.Configure().Set("advertise-address", addr)
	}
	if world.cfg, err = world.env.Start(); err != nil {
		return 0, fmt.Errorf("starting kube-apiserver and etcd: %w", err)
	}
	world.kube = kubernetes.NewForConfigOrDie(world.cfg)
	admin, err := world.env.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return 0, err
	}
	if world.kubeconfig, err = writeKubeconfig(admin, "admin"); err != nil {
		return 0, err
	}

	world.simServer = sim.New(sim.Options{Seed: 7})
	if world.sims, err = world.simServer.StartAll(context.Background(), "127.0.0.1"); err != nil {
		return 0, err
	}
	// netns.sh builds the binary before entering a namespace without
	// the module proxy.
	if world.bin = os.Getenv("LLMBENCH_PLUGIN_BIN"); world.bin == "" {
		if world.bin, err = plugintest.Build(tmp); err != nil {
			return 0, err
		}
	}
	return m.Run(), nil
}

func teardown() {
	if world.stopControllers != nil {
		world.stopControllers()
	}
	if world.env != nil {
		_ = world.env.Stop()
	}
	if world.simServer != nil {
		_ = world.simServer.Close()
	}
	if world.kubelet != nil {
		world.kubelet.Close()
	}
	if world.tmp != "" {
		_ = os.RemoveAll(world.tmp)
	}
}

func writeKubeconfig(u *envtest.AuthenticatedUser, name string) (string, error) {
	b, err := u.KubeConfig()
	if err != nil {
		return "", err
	}
	p := filepath.Join(world.tmp, name+".kubeconfig")
	return p, os.WriteFile(p, b, 0o600)
}

// routeCRD is the minimal OpenShift Route API: enough for API discovery
// of route.openshift.io/v1 and for storing Routes.
func routeCRD() *apiextensionsv1.CustomResourceDefinition {
	preserve := true
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "routes.route.openshift.io"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "route.openshift.io",
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "routes", Singular: "route", Kind: "Route", ListKind: "RouteList"},
			Scope: apiextensionsv1.NamespaceScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: "v1", Served: true, Storage: true,
				Subresources: &apiextensionsv1.CustomResourceSubresources{Status: &apiextensionsv1.CustomResourceSubresourceStatus{}},
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object",
					Properties: map[string]apiextensionsv1.JSONSchemaProps{
						"spec":   {Type: "object", XPreserveUnknownFields: &preserve},
						"status": {Type: "object", XPreserveUnknownFields: &preserve},
					},
				}},
			}},
		},
	}
}

// fakeKubelet serves the kubelet's /portForward/NS/POD endpoint with the
// kubelet's own code (k8s.io/cri-streaming), and dials 127.0.0.1:PORT for
// each stream: the container port of a test Pod is a simulator's port.
type fakeKubelet struct {
	srv   *httptest.Server
	caPEM []byte
	port  int32

	mu     sync.Mutex
	conns  map[net.Conn]bool
	served map[string]int    // pod -> streams
	podIPs map[string]string // pod -> its loopback address, where one has its own
}

func newFakeKubelet() *fakeKubelet {
	k := &fakeKubelet{conns: map[net.Conn]bool{}, served: map[string]int{}, podIPs: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/portForward/", func(w http.ResponseWriter, r *http.Request) {
		parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
		if len(parts) < 3 {
			http.Error(w, "want /portForward/NS/POD", http.StatusBadRequest)
			return
		}
		opts, err := kubeletpf.NewV4Options(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		kubeletpf.ServePortForward(w, r, k, parts[2], "", opts, 30*time.Second, 30*time.Second, kubeletpf.SupportedProtocols)
	})
	k.srv = httptest.NewUnstartedServer(mux)
	k.srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		k.mu.Lock()
		defer k.mu.Unlock()
		switch s {
		case http.StateNew:
			k.conns[c] = true
		case http.StateClosed, http.StateHijacked:
			if s == http.StateClosed {
				delete(k.conns, c)
			}
		}
	}
	k.srv.StartTLS()
	k.caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: k.srv.Certificate().Raw})
	_, port, _ := net.SplitHostPort(k.srv.Listener.Addr().String())
	p, _ := strconv.Atoi(port)
	k.port = int32(p)
	return k
}

// PortForward is the kubelet's side of one forwarded connection.
func (k *fakeKubelet) PortForward(ctx context.Context, pod, _ string, port int32, stream io.ReadWriteCloser) error {
	defer stream.Close()
	k.mu.Lock()
	k.served[pod]++
	ip := k.podIPs[pod]
	k.mu.Unlock()
	if ip == "" {
		ip = "127.0.0.1"
	}
	c, err := net.DialTimeout("tcp", net.JoinHostPort(ip, strconv.Itoa(int(port))), 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(c, stream); done <- struct{}{} }()
	go func() { _, _ = io.Copy(stream, c); done <- struct{}{} }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	return nil
}

// Drop cuts every tunnel, as a kubelet restart or an idle timeout would.
func (k *fakeKubelet) Drop() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	n := 0
	for c := range k.conns {
		_ = c.Close()
		n++
	}
	return n
}

// SetPodIP makes port-forwards to pod dial ip (the test agent's Pods
// each have a loopback address of their own).
func (k *fakeKubelet) SetPodIP(pod, ip string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.podIPs[pod] = ip
}

func (k *fakeKubelet) Served(pod string) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.served[pod]
}

func (k *fakeKubelet) Close() { k.srv.Close() }
