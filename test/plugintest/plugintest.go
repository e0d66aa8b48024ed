// Package plugintest builds the real kubectl-llmbench binary and runs it
// as a user would, for every end-to-end suite (cmd/kubectl-llmbench, the
// real Ollama, the API server, fidelity), and reads what a run leaves.
package plugintest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Root is the module's root folder.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Build builds the plugin into dir and returns its path.
func Build(dir string) (string, error) {
	bin := filepath.Join(dir, "kubectl-llmbench")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/kubectl-llmbench")
	cmd.Dir = Root()
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building kubectl-llmbench: %v\n%s", err, out)
	}
	return bin, nil
}

// Result is what one run of the binary printed and how it exited.
type Result struct {
	Stdout, Stderr string
	Code           int
}

// Options shape a run: the working folder, extra environment, and a time
// limit past which the test fails (0: none).
type Options struct {
	Dir   string
	Env   []string
	Limit time.Duration
}

// Run runs bin with args; a non-zero exit is a Result, a binary that
// cannot start or outlives the limit fails the test.
func Run(t testing.TB, bin string, o Options, args ...string) Result {
	t.Helper()
	ctx := context.Background()
	if o.Limit > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Limit)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = o.Dir
	if o.Env != nil {
		cmd.Env = append(os.Environ(), o.Env...)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("kubectl-llmbench %s: still running after %s\nstderr:\n%s", strings.Join(args, " "), o.Limit, errb.String())
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running kubectl-llmbench %s: %v", strings.Join(args, " "), err)
	}
	return Result{Stdout: out.String(), Stderr: errb.String(), Code: code}
}

// RunFolder is the single run folder under dir.
func RunFolder(t testing.TB, dir string) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "test_*"))
	if len(m) != 1 {
		t.Fatalf("want one run folder in %s, got %v", dir, m)
	}
	return m[0]
}

// ReadJSON decodes the file at path into v.
func ReadJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// ReadJournal decodes a run folder's requests.jsonl into the fields T
// names; every line must be one JSON object.
func ReadJournal[T any](t testing.TB, dir string) []T {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "requests.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for n := 1; sc.Scan(); n++ {
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("requests.jsonl line %d is not JSON: %v\n%.300s", n, err, sc.Bytes())
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
