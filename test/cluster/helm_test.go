//go:build cluster

package cluster_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/cluster"
	helmtest "github.com/llmbench/kubectl-llmbench/test/helm"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// The Helm charts against the real API server. Every object the umbrella
// renders (test hooks, Routes, Ingresses, ServiceMonitors and PVCs
// included) is created with server-side dry-run and strict field
// validation, so a field the API does not know or a value it rejects fails
// here. Then helm installs the umbrella for real, a Pod is made from each
// Deployment as the controllers would, and the plugin's validate must find
// the three engines by label and nothing to fail.
//
// helm comes from $LLMBENCH_HELM (test/helm/run.sh --bin builds it).
func TestHelmChartsOnTheAPIServer(t *testing.T) {
	bin, err := helmtest.Binary()
	if err != nil {
		t.Skipf("skipping the Helm charts: %v", err)
	}
	h := helmtest.Helm{Bin: bin, Home: filepath.Join(t.TempDir(), "helm-home")}
	charts, err := h.Stage(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	umbrella := filepath.Join(charts, helmtest.Umbrella)
	// ServiceMonitor is the Prometheus Operator's CRD; a minimal one lets
	// the API server take the charts' ServiceMonitors.
	if _, err := envtest.InstallCRDs(world.cfg, envtest.CRDInstallOptions{CRDs: []*apiextensionsv1.CustomResourceDefinition{serviceMonitorCRD()}}); err != nil {
		t.Fatal(err)
	}
	a := newApplier(t)

	for _, v := range []struct {
		name  string
		args  []string
		kinds map[string]int
	}{
		{"defaults", nil, map[string]int{"Deployment": 3, "Service": 3, "Pod": 3}},
		{"everything", []string{
			"-f", filepath.Join(umbrella, "values-openshift.yaml"),
			"--set", "vllm.ingress.enabled=true,tgi.ingress.enabled=true,ollama.ingress.enabled=true",
			"--set", "vllm.ingress.hosts[0].host=vllm.example.com,vllm.ingress.hosts[0].paths[0].path=/,vllm.ingress.hosts[0].paths[0].pathType=Prefix",
			"--set", "vllm.ingress.tls[0].hosts[0]=vllm.example.com,vllm.ingress.tls[0].secretName=vllm-tls",
			"--set", "vllm.metrics.serviceMonitor.enabled=true,tgi.metrics.serviceMonitor.enabled=true",
			"--set", "vllm.modelCache.type=pvc,tgi.modelCache.type=pvc,tgi.modelCache.existingClaim=weights",
			"--set", "ollama.service.type=NodePort,ollama.service.nodePort=31434",
			"--set", "global.gpu.resource=nvidia.com/mig-3g.40gb,global.gpu.count=2,global.runtimeClassName=nvidia",
			"--set", "global.nodeSelector.nvidia\\.com/gpu\\.product=NVIDIA-A100-SXM4-80GB",
			"--set", "global.tolerations[0].key=nvidia.com/gpu,global.tolerations[0].operator=Exists,global.tolerations[0].effect=NoSchedule",
			"--set", "global.antiAffinity.mode=preferred,global.hfToken.secretName=hf",
			"--set", "ollama.numParallel=4,vllm.extraArgs[0]=--max-num-seqs=128",
		}, map[string]int{"Deployment": 3, "Service": 3, "Pod": 3, "Route": 3, "Ingress": 3, "ServiceMonitor": 2, "PersistentVolumeClaim": 1}},
	} {
		t.Run(v.name, func(t *testing.T) {
			ns := namespace(t, "helm-"+v.name)
			m, err := h.Template(umbrella, "bench", ns, v.args...)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]int{}
			for _, o := range m {
				a.create(t, ns, o, true)
				got[o.GetKind()]++
			}
			for k, n := range v.kinds {
				if got[k] != n {
					t.Errorf("%d %s objects rendered, want %d (all: %v)", got[k], k, n, got)
				}
			}
		})
	}

	t.Run("install and validate", func(t *testing.T) {
		ns := namespace(t, "helm-install")
		// helm's own install path: dependencies, schema, release storage.
		notes, err := h.Run("install", "bench", umbrella, "-n", ns, "--kubeconfig", world.kubeconfig)
		if err != nil {
			t.Fatal(err)
		}
		if want := "kubectl llmbench validate -n " + ns; !strings.Contains(string(notes), want) {
			t.Errorf("helm install output lacks %q:\n%s", want, notes)
		}
		deps, err := world.kube.AppsV1().Deployments(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(deps.Items) != 3 {
			t.Fatalf("%d Deployments installed, want 3", len(deps.Items))
		}
		for i := range deps.Items {
			podFromTemplate(t, ns, &deps.Items[i])
		}
		out, stderr, code := runPlugin(t, world.kubeconfig, time.Minute, "validate", "-n", ns, "-o", "json")
		var rep cluster.Report
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("validate -o json (exit %d): %v\n%s\n%s", code, err, out, stderr)
		}
		for _, c := range rep.Checks {
			t.Logf("validate: %-16s %-24s %-4s %s", c.Name, c.Engine, c.Status, c.Detail)
			if c.Status == cluster.Fail {
				t.Errorf("validate: %s %s: %s", c.Name, c.Engine, c.Detail)
			}
			if c.Name == cluster.CheckEngines && !(strings.Count(c.Detail, "by label") == 3) {
				t.Errorf("validate did not find the three engines by label: %s", c.Detail)
			}
			if c.Name == cluster.CheckSameModel && c.Status != cluster.Pass {
				t.Errorf("validate same-model: %s %s", c.Status, c.Detail)
			}
		}
		if code != 0 {
			t.Errorf("validate exit %d\n%s", code, stderr)
		}
	})
}

// applier creates rendered objects through the dynamic client, finding
// each kind's resource by API discovery (as kubectl apply does).
type applier struct {
	dyn    dynamic.Interface
	mapper *restmapper.DeferredDiscoveryRESTMapper
}

func newApplier(t *testing.T) *applier {
	t.Helper()
	dc, err := discovery.NewDiscoveryClientForConfig(world.cfg)
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(world.cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &applier{dyn: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))}
}

func (a *applier) create(t *testing.T, ns string, o *unstructured.Unstructured, dryRun bool) {
	t.Helper()
	gvk := o.GroupVersionKind()
	mapping, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		t.Fatalf("%s %s: no such resource on the API server: %v", gvk, o.GetName(), err)
	}
	o = o.DeepCopy()
	o.SetNamespace(ns)
	opts := metav1.CreateOptions{FieldValidation: metav1.FieldValidationStrict}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	if _, err := a.dyn.Resource(mapping.Resource).Namespace(ns).Create(context.Background(), o, opts); err != nil {
		t.Errorf("create %s %s (dry-run %v): %v", o.GetKind(), o.GetName(), dryRun, err)
	}
}

// podFromTemplate does what the Deployment controller and the scheduler
// would: one Pod from the template on a GPU node of its own, Running and
// Ready.
func podFromTemplate(t *testing.T, ns string, d *appsv1.Deployment) {
	t.Helper()
	ctx := context.Background()
	nodeName := "helm-gpu-" + d.Spec.Template.Labels[cluster.EngineLabel]
	node(t, nodeName, "NVIDIA-H100-80GB-HBM3")
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: d.Name + "-0", Namespace: ns, Labels: d.Spec.Template.Labels, Annotations: d.Spec.Template.Annotations},
		Spec:       *d.Spec.Template.Spec.DeepCopy(),
	}
	pod.Spec.NodeName = nodeName
	pod, err := world.kube.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod.Status = corev1.PodStatus{
		Phase:      corev1.PodRunning,
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}, {Type: corev1.ContainersReady, Status: corev1.ConditionTrue}},
		HostIP:     "127.0.0.1",
	}
	for _, c := range pod.Spec.Containers {
		pod.Status.ContainerStatuses = append(pod.Status.ContainerStatuses, corev1.ContainerStatus{Name: c.Name, Image: c.Image, Ready: true,
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}})
	}
	if _, err := world.kube.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// serviceMonitorCRD is the minimal monitoring.coreos.com/v1 ServiceMonitor.
func serviceMonitorCRD() *apiextensionsv1.CustomResourceDefinition {
	preserve := true
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "servicemonitors.monitoring.coreos.com"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "monitoring.coreos.com",
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "servicemonitors", Singular: "servicemonitor", Kind: "ServiceMonitor", ListKind: "ServiceMonitorList"},
			Scope: apiextensionsv1.NamespaceScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type:       "object",
					Properties: map[string]apiextensionsv1.JSONSchemaProps{"spec": {Type: "object", XPreserveUnknownFields: &preserve}},
				}},
			}},
		},
	}
}
