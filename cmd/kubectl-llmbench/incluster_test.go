package main

import (
	"strings"
	"testing"
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
		// A test build is a development build: no image of it exists.
		{[]string{"--target", "vllm=http://vllm.llm.svc:8000"}, "make image"},
	}
	for _, c := range cases {
		r := run(t, append([]string{"run", "--in-cluster"}, c.args...)...)
		if r.code == 0 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("run --in-cluster %s: exit %d, want an error naming %q:\n%s", strings.Join(c.args, " "), r.code, c.want, r.stderr)
		}
	}
	if r := run(t, "run", "--simulate", "-o", "yaml"); r.code == 0 || !strings.Contains(r.stderr, "--dry-run --in-cluster") {
		t.Errorf("-o without --in-cluster: exit %d\n%s", r.code, r.stderr)
	}
}
