//go:build fidelity

package fidelity

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/llmbench/kubectl-llmbench/test/plugintest"
)

// TestFindCapacityLandsNearTheSimulatorsSaturation: the simulated Ollama
// decodes 4 sequences at once at about 16 ms a token when full, so 64-token
// answers saturate it near 3.7 req/s, and the search must land within one
// step of that. It is a fidelity check, not a unit test: on a busy machine
// the simulator's sleeps overshoot and its saturation falls.
func TestFindCapacityLandsNearTheSimulatorsSaturation(t *testing.T) {
	b, stdout := runSummary(t, "run", "--simulate", "--engines", "ollama", "--suite", "load", "--find-capacity", "--capacity-from", "2",
		"--duration", "3s", "--warmup", "0s", "--max-tokens", "64", "--slo", "ttft_p95=500ms")
	var s struct {
		Capacity []struct {
			Sustained *float64 `json:"sustained"`
		} `json:"capacity"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Capacity) != 1 || s.Capacity[0].Sustained == nil {
		t.Fatalf("no sustained level: %s\n%s", b, stdout)
	}
	const saturation = 3.7
	got := *s.Capacity[0].Sustained
	fmt.Printf("capacity search on the simulated Ollama: sustained %g req/s (saturation %g, band %g–%g)\n", got, saturation, saturation/2, saturation*1.25)
	if got < saturation/2 || got > saturation*1.25 {
		t.Errorf("sustained %g req/s, want within one step of %g", got, saturation)
	}
}

// runSummary runs the binary built as a user gets it with args (and json
// output into a folder of the test's) and returns its summary.json and
// its stdout.
func runSummary(t *testing.T, args ...string) ([]byte, string) {
	t.Helper()
	out := t.TempDir()
	cmd := exec.Command(buildBinary(t), append(args, "--format", "json", "--output-dir", out)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	dirs, _ := filepath.Glob(filepath.Join(out, "test_*", "summary.json"))
	if len(dirs) != 1 {
		t.Fatalf("summary files: %v", dirs)
	}
	b, err := os.ReadFile(dirs[0])
	if err != nil {
		t.Fatal(err)
	}
	return b, stdout.String()
}

// buildBinary builds the plugin as a user gets it, once per test.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin, err := plugintest.Build(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return bin
}
