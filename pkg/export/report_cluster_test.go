package export

import (
	"strings"
	"testing"

	"github.com/llmbench/kubectl-llmbench/pkg/placement"
)

func TestAccessNotes(t *testing.T) {
	info := func(methods ...placement.Method) *placement.Info {
		c := &placement.Info{Namespace: "llm"}
		for i, m := range methods {
			c.Engines = append(c.Engines, placement.EngineMeta{Target: []string{"vllm", "tgi", "ollama"}[i], Access: m})
		}
		return c
	}
	cases := []struct {
		name    string
		c       *placement.Info
		want    []string
		notWant []string
	}{
		{"all through routes: nothing to say", info(placement.MethodRoute, placement.MethodRoute), nil, []string{"outside", "different ways"}},
		{"all port-forwarded", info(placement.MethodPortForward, placement.MethodPortForward, placement.MethodPortForward),
			[]string{"vllm (port-forward), tgi (port-forward), ollama (port-forward)", "same way"}, []string{"different ways"}},
		{"mixed", info(placement.MethodRoute, placement.MethodPortForward, placement.MethodPortForward),
			[]string{"tgi (port-forward)", "different ways (route: vllm; port-forward: tgi, ollama)", "--access"}, []string{"vllm (port-forward)", "still hold"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := strings.Join(accessNotes(c.c), "\n")
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("lacks %q:\n%s", w, got)
				}
			}
			for _, w := range c.notWant {
				if strings.Contains(got, w) {
					t.Errorf("has %q:\n%s", w, got)
				}
			}
		})
	}
}
