// Package helmtest renders this repository's Helm charts (helm/) with a
// real helm binary, for the chart checks beside it and for the
// server-side dry-run against a real API server in test/cluster.
// test/helm/run.sh builds helm from the Go module proxy and names it in
// $LLMBENCH_HELM.
package helmtest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	runtimeutil "k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// EnvHelm names the helm binary.
const EnvHelm = "LLMBENCH_HELM"

// Engines are the engine charts, in the umbrella's dependency order.
var Engines = []string{"vllm", "tgi", "ollama"}

// Umbrella deploys the three engines for one comparison.
const Umbrella = "llmbench-engines"

// Binary is the helm binary named by $LLMBENCH_HELM.
func Binary() (string, error) {
	h := os.Getenv(EnvHelm)
	if h == "" {
		return "", fmt.Errorf("%s is not set: run test/helm/run.sh, which builds helm from the Go module proxy and sets it (or point it at any helm v3)", EnvHelm)
	}
	if _, err := os.Stat(h); err != nil {
		return "", fmt.Errorf("%s=%s: %w", EnvHelm, h, err)
	}
	return h, nil
}

// Source is the repository's helm/ folder.
func Source() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "helm")
}

// Helm runs helm with its config, cache and data under home (so no
// user's repositories are read and nothing is fetched).
type Helm struct {
	Bin  string
	Home string
}

// Run runs helm with args; the error carries helm's stderr.
func (h Helm) Run(args ...string) ([]byte, error) {
	cmd := exec.Command(h.Bin, args...)
	cmd.Env = append(os.Environ(),
		"HELM_CONFIG_HOME="+filepath.Join(h.Home, "config"),
		"HELM_CACHE_HOME="+filepath.Join(h.Home, "cache"),
		"HELM_DATA_HOME="+filepath.Join(h.Home, "data"),
	)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return out.Bytes(), fmt.Errorf("helm %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out.Bytes(), nil
}

// Stage copies helm/ into dir and builds the umbrella's dependencies there
// (file:// charts: no network), so a render never sees a stale charts/
// folder of the working tree. It returns the staged helm/ folder.
func (h Helm) Stage(dir string) (string, error) {
	charts := filepath.Join(dir, "helm")
	if err := os.CopyFS(charts, os.DirFS(Source())); err != nil {
		return "", fmt.Errorf("copying the charts: %w", err)
	}
	umbrella := filepath.Join(charts, Umbrella)
	if err := os.RemoveAll(filepath.Join(umbrella, "charts")); err != nil {
		return "", err
	}
	if _, err := h.Run("dependency", "build", umbrella); err != nil {
		return "", err
	}
	return charts, nil
}

// Template renders a chart as `helm template RELEASE CHART -n NAMESPACE
// ARGS...` and decodes every manifest, test hooks included.
func (h Helm) Template(chart, release, namespace string, args ...string) (Manifests, error) {
	out, err := h.Run(append([]string{"template", release, chart, "--namespace", namespace}, args...)...)
	if err != nil {
		return nil, err
	}
	return Decode(out)
}

// Manifests are rendered objects, in helm's order.
type Manifests []*unstructured.Unstructured

// Decode splits a multi-document YAML stream into objects; empty
// documents are skipped.
func Decode(b []byte) (Manifests, error) {
	var out Manifests
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		var m map[string]any
		if err := yaml.Unmarshal(doc, &m); err != nil {
			return nil, fmt.Errorf("decoding a rendered manifest: %w\n%s", err, doc)
		}
		if len(m) == 0 {
			continue
		}
		out = append(out, &unstructured.Unstructured{Object: m})
	}
}

// Kind returns the objects of one kind.
func (m Manifests) Kind(kind string) Manifests {
	var out Manifests
	for _, o := range m {
		if o.GetKind() == kind {
			out = append(out, o)
		}
	}
	return out
}

// Into converts an object into a typed one, failing on fields the type
// does not have (a typo in a template).
func Into(o *unstructured.Unstructured, typed any) error {
	if err := runtimeutil.DefaultUnstructuredConverter.FromUnstructuredWithValidation(o.Object, typed, true); err != nil {
		return fmt.Errorf("%s %s: %w", o.GetKind(), o.GetName(), err)
	}
	return nil
}
