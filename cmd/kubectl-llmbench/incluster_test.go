package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmbench/kubectl-llmbench/test/plugintest"
)

// --in-cluster refuses, before anything is created, what cannot work from
// inside the cluster, and says what to do instead.
func TestInClusterRefusesWhatCannotWork(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--simulate"}, "drop --simulate"},
		{[]string{"--target", "vllm=http://127.0.0.1:8000", "--image", "x/y:1"}, "this machine's loopback"},
		{[]string{"--target", "vllm=http://vllm.llm.svc:8000", "--workers", "0", "--image", "x/y:1"}, "--workers 0"},
		{[]string{"--target", "vllm=http://vllm.llm.svc:8000", "--image", "x/y:1", "-o", "yaml"}, "add --dry-run"},
		{[]string{"--target", "vllm=http://vllm.llm.svc:8000", "--image", "x/y:1", "--find-capacity", "--slo", "ttft_p95=1s"}, "--find-capacity runs on this machine"},
	}
	for _, c := range cases {
		r := run(t, append([]string{"run", "--in-cluster"}, c.args...)...)
		if r.code == 0 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("run --in-cluster %s: exit %d, want an error naming %q:\n%s", strings.Join(c.args, " "), r.code, c.want, r.stderr)
		}
	}
	// A test build is a development build: no image of it exists. Said
	// once a kubeconfig names a cluster (none is contacted before).
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	os.WriteFile(kc, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u, namespace: llm}}]
current-context: x
`), 0o600)
	r := plugintest.Run(t, binary, plugintest.Options{Env: []string{"KUBECONFIG=" + kc}}, "run", "--in-cluster", "--target", "vllm=http://vllm.llm.svc:8000")
	if r.Code == 0 || !strings.Contains(r.Stderr, "make image") || !strings.Contains(r.Stderr, "--image") {
		t.Errorf("a development build without --image: exit %d\n%s", r.Code, r.Stderr)
	}
	if r := run(t, "run", "--simulate", "-o", "yaml"); r.code == 0 || !strings.Contains(r.stderr, "--dry-run --in-cluster") {
		t.Errorf("-o without --in-cluster: exit %d\n%s", r.code, r.stderr)
	}
}
