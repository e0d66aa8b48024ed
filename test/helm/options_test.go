//go:build helm

package helmtest

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/llmbench/kubectl-llmbench/pkg/cluster"
	"github.com/llmbench/kubectl-llmbench/pkg/placement"
)

// The optional parts of the charts (schema, Routes, metrics, helm test,
// model cache), rendered and checked.

// A typo in values fails at install with a message naming it.
func TestSchemaRejectsTypos(t *testing.T) {
	for _, tc := range []struct {
		chart string
		set   string
		want  string
	}{
		{Umbrella, "global.gpus.count=2", "additional properties 'gpus' not allowed"},
		{Umbrella, "global.model.maxModelLen=8192", "additional properties 'maxModelLen' not allowed"},
		{Umbrella, "global.antiAffinity.mode=soft", "value must be one of 'required', 'preferred', 'none'"},
		{Umbrella, "global.model.dtype=fp16", "/global/model/dtype"},
		{Umbrella, "vllm.servedModelNam=x", "additional properties 'servedModelNam' not allowed"},
		{Umbrella, "ollama.metrics.podAnnotations=true", "additional properties 'metrics' not allowed"},
		{Umbrella, "tgi.probes.startup.failureThreshhold=10", "additional properties 'failureThreshhold' not allowed"},
		{Umbrella, "replicas=2", "additional properties 'replicas' not allowed"},
		{"vllm", "gpu.count=-1", "/gpu/count"},
		{"tgi", "modelCache.type=hostPath", "/modelCache/type"},
		{"ollama", "service.port=70000", "/service/port"},
	} {
		_, err := helm.Template(chart(tc.chart), "bench", ns, "--set", tc.set)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s --set %s: want an error with %q, got %v", tc.chart, tc.set, tc.want, err)
		}
	}
	// A values file with a typo fails lint too.
	f := filepath.Join(t.TempDir(), "typo.yaml")
	if err := os.WriteFile(f, []byte("global:\n  modle:\n    id: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := helm.Run("lint", "--strict", chart(Umbrella), "-f", f); err == nil || !strings.Contains(string(out)+err.Error(), "modle") {
		t.Errorf("lint with a typo in values passed or did not name it: %v\n%s", err, out)
	}
}

func TestOpenShiftRoutesReachEachEngine(t *testing.T) {
	args := []string{"-f", filepath.Join(chart(Umbrella), "values-openshift.yaml")}
	for _, e := range Engines {
		args = append(args, "--set", e+".route.host="+e+".apps.example.com")
	}
	m := render(t, Umbrella, args...)
	routes := m.Kind("Route")
	if len(routes) != 3 {
		t.Fatalf("%d Routes, want 3", len(routes))
	}
	deps := engines(t, m)
	pods, nodes := podsOf(deps)
	snap := &cluster.Snapshot{Namespace: ns, Services: services(t, m), Pods: pods, Nodes: nodes, HasRoutes: true}
	for _, r := range routes {
		r.SetNamespace(ns)
		snap.Routes = append(snap.Routes, *r)
		if r.GetAnnotations()["haproxy.router.openshift.io/timeout"] == "" {
			t.Errorf("Route %s: no router timeout: the 30 s default cuts long streams", r.GetName())
		}
	}
	for _, e := range snap.Engines() {
		ways := snap.Ways(e, "")
		want := "https://" + string(e.Type) + ".apps.example.com"
		if len(ways) == 0 || ways[0].Method != placement.MethodRoute || ways[0].URL != want {
			t.Errorf("%s: first way %+v, want the Route %s", e.Service, ways, want)
		}
	}
	tgi := deps["tgi"].Spec.Template.Spec.Containers[0]
	if tgi.Ports[0].ContainerPort != 8080 || !slices.Contains(tgi.Args, "--port=8080") {
		t.Errorf("tgi on OpenShift: port %d, args %v; want 8080 (restricted SCC)", tgi.Ports[0].ContainerPort, tgi.Args)
	}
}

func TestMetricsForVLLMAndTGI(t *testing.T) {
	m := render(t, Umbrella, "--set", "vllm.metrics.serviceMonitor.enabled=true", "--set", "tgi.metrics.serviceMonitor.enabled=true")
	for e, d := range engines(t, m) {
		a := d.Spec.Template.Annotations
		hasMetrics := e != "ollama" // Ollama has no /metrics
		if (a["prometheus.io/scrape"] == "true") != hasMetrics || (hasMetrics && (a["prometheus.io/path"] != "/metrics" || a["prometheus.io/port"] != fmt.Sprint(wantPorts[e]))) {
			t.Errorf("%s: scrape annotations %v", e, a)
		}
	}
	sms := m.Kind("ServiceMonitor")
	if len(sms) != 2 {
		t.Fatalf("%d ServiceMonitors, want 2 (vLLM, TGI)", len(sms))
	}
	svcs := services(t, m)
	for _, sm := range sms {
		eps, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
		sel, _, _ := unstructured.NestedStringMap(sm.Object, "spec", "selector", "matchLabels")
		matched := 0
		for _, s := range svcs {
			if labels.SelectorFromSet(sel).Matches(labels.Set(s.Labels)) {
				matched++
			}
		}
		ep := map[string]any{}
		if len(eps) == 1 {
			ep, _ = eps[0].(map[string]any)
		}
		if len(eps) != 1 || ep["port"] != "http" || ep["path"] != "/metrics" || matched != 1 {
			t.Errorf("ServiceMonitor %s: endpoints %v, selects %d Services; want port http /metrics on one", sm.GetName(), eps, matched)
		}
	}
}

func TestHelmTestPodsStreamOneRequest(t *testing.T) {
	m := render(t, Umbrella)
	svcs := services(t, m)
	paths := map[string]string{"vllm": ":8000/v1/completions", "tgi": ":80/generate_stream", "ollama": ":11434/api/generate"}
	pods := m.Kind("Pod")
	if len(pods) != 3 {
		t.Fatalf("%d test Pods, want 3", len(pods))
	}
	for _, o := range pods {
		var p corev1.Pod
		if err := Into(o, &p); err != nil {
			t.Fatal(err)
		}
		if p.Annotations["helm.sh/hook"] != "test" {
			t.Errorf("Pod %s is not a helm test hook", p.Name)
		}
		if _, ok := p.Labels[cluster.EngineLabel]; ok {
			t.Errorf("test Pod %s carries %s: discovery and anti-affinity would count it as an engine", p.Name, cluster.EngineLabel)
		}
		for _, s := range svcs {
			if labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(p.Labels)) {
				t.Errorf("Service %s selects test Pod %s", s.Name, p.Name)
			}
		}
		e := strings.TrimSuffix(strings.TrimPrefix(p.Name, "bench-"), "-test-stream")
		c := p.Spec.Containers[0]
		if url := envValues(c.Env)[0]; url != "http://bench-"+e+paths[e] {
			t.Errorf("%s: test URL %s, want http://bench-%s%s", p.Name, url, e, paths[e])
		}
		script := strings.Join(c.Args, "\n")
		if !strings.Contains(script, "curl") || !strings.Contains(script, "-N") || !strings.Contains(script, "exit 1") {
			t.Errorf("%s: the script does not stream with curl and fail:\n%s", p.Name, script)
		}
	}
}

func TestModelCacheVolume(t *testing.T) {
	m := render(t, Umbrella, "--set", "vllm.modelCache.type=pvc", "--set", "vllm.modelCache.size=100Gi",
		"--set", "tgi.modelCache.type=pvc", "--set", "tgi.modelCache.existingClaim=shared-weights")
	pvcs := m.Kind("PersistentVolumeClaim")
	if len(pvcs) != 1 || pvcs[0].GetName() != "bench-vllm-cache" {
		t.Fatalf("PVCs %v, want only bench-vllm-cache", pvcs)
	}
	claims := map[string]string{}
	for e, d := range engines(t, m) {
		for _, v := range d.Spec.Template.Spec.Volumes {
			if v.Name == "model-cache" {
				switch {
				case v.PersistentVolumeClaim != nil:
					claims[e] = v.PersistentVolumeClaim.ClaimName
				case v.EmptyDir != nil:
					claims[e] = "emptyDir"
				}
			}
		}
	}
	want := map[string]string{"vllm": "bench-vllm-cache", "tgi": "shared-weights", "ollama": "emptyDir"}
	for e, w := range want {
		if claims[e] != w {
			t.Errorf("%s: model cache %q, want %q", e, claims[e], w)
		}
	}
}
