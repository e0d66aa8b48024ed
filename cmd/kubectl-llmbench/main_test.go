package main

// End-to-end tests of the real binary: built once, run as a user would,
// against the built-in simulators and against loopback servers that know the
// true emission time of every token.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/llmbench/kubectl-llmbench/test/plugintest"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "llmbench-bin")
	if err != nil {
		panic(err)
	}
	if binary, err = plugintest.Build(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

func run(t *testing.T, args ...string) result {
	t.Helper()
	r := plugintest.Run(t, binary, plugintest.Options{}, args...)
	return result{r.Stdout, r.Stderr, r.Code}
}

// runFolder returns the single run folder under dir.
func runFolder(t *testing.T, dir string) string { t.Helper(); return plugintest.RunFolder(t, dir) }

type journalLine struct {
	Engine     string   `json:"engine"`
	Scenario   string   `json:"scenario"`
	Phase      string   `json:"phase"`
	OK         bool     `json:"ok"`
	ErrorClass string   `json:"error_class"`
	TTFTMS     *float64 `json:"ttft_ms"`
	Output     int      `json:"output_tokens"`
	Requested  int      `json:"requested_output_tokens"`
	Source     string   `json:"output_tokens_source"`
	StartNS    int64    `json:"start_unix_ns"`
}

func readJournal(t *testing.T, dir string) []journalLine {
	t.Helper()
	return plugintest.ReadJournal[journalLine](t, dir)
}

func readJSON(t *testing.T, path string, v any) { t.Helper(); plugintest.ReadJSON(t, path, v) }

func TestSimulateQuickPresetCoversThreeEngines(t *testing.T) {
	out := t.TempDir()
	r := run(t, "run", "--simulate", "--preset", "quick", "--output-dir", out)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	dir := runFolder(t, out)
	if !strings.HasPrefix(filepath.Base(dir), "test_quick_") {
		t.Errorf("run folder %s, want test_quick_YYYYMMDD_HHMMSS", dir)
	}
	perEngine := map[string]int{}
	for _, l := range readJournal(t, dir) {
		if !l.OK {
			t.Errorf("simulated request failed: %+v", l)
		}
		if l.Phase == "measure" {
			perEngine[l.Engine+"/"+l.Scenario]++
		}
	}
	for _, e := range []string{"vllm", "tgi", "ollama"} {
		if perEngine[e+"/ttft"] != 5 || perEngine[e+"/quick_latency"] == 0 {
			t.Errorf("%s: measured %d ttft and %d load requests", e, perEngine[e+"/ttft"], perEngine[e+"/quick_latency"])
		}
	}
	var man struct {
		Status  string `json:"status"`
		Targets []struct {
			Info struct {
				Version string `json:"version"`
			} `json:"info"`
		} `json:"targets"`
	}
	readJSON(t, filepath.Join(dir, "manifest.json"), &man)
	if man.Status != "complete" || len(man.Targets) != 3 {
		t.Errorf("manifest status %q with %d targets", man.Status, len(man.Targets))
	}
	var sum struct {
		Groups []struct {
			Engine  string `json:"engine"`
			Metrics map[string]struct {
				P50 float64 `json:"p50"`
			} `json:"metrics"`
		} `json:"groups"`
	}
	readJSON(t, filepath.Join(dir, "summary.json"), &sum)
	if len(sum.Groups) != 6 {
		t.Errorf("summary has %d groups, want 3 engines × 2 scenarios", len(sum.Groups))
	}
	if !strings.Contains(r.stdout, "Fastest engine per metric") || !strings.Contains(r.stdout, "ttft_ms p50") {
		t.Errorf("terminal summary lacks the fastest-engine table:\n%s", r.stdout)
	}
	checkLiveProgress(t, dir, r.stderr)
}

// checkLiveProgress: in a pipe the run prints plain progress lines, no
// escapes; live.jsonl keeps what the live view showed, and its last
// snapshot counts every journaled request of every lane.
func checkLiveProgress(t *testing.T, dir, stderr string) {
	t.Helper()
	if strings.Contains(stderr, "\x1b") {
		t.Errorf("escape sequences in a pipe:\n%q", stderr)
	}
	progress := regexp.MustCompile(`(?m)^vllm · quick_latency: \d+ done \(\d+%\), ETA \d+s · \d+ failed · \d+ in flight · [\d.]+ req/s · lag p95 .* · TTFT p50/p95 [\d.]+/[\d.]+ ms · TPOT p50/p95 `)
	for _, want := range []*regexp.Regexp{regexp.MustCompile(`(?m)^tgi · ttft: started, 6 requests expected$`), progress,
		regexp.MustCompile(`(?m)^ollama · quick_latency: \d+ requests, \d+ ok, 0 failed in `)} {
		if !want.MatchString(stderr) {
			t.Errorf("stderr lacks %s:\n%s", want, stderr)
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, "live.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	var last struct {
		Lanes []struct {
			Engine, Scenario, State string
			Done, Failed            int
			TTFT                    *float64 `json:"ttft_p50_ms"`
		}
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil || len(lines) < 2 {
		t.Fatalf("live.jsonl (%d lines): %v", len(lines), err)
	}
	journaled := map[string]int{}
	for _, l := range readJournal(t, dir) {
		journaled[l.Engine+"/"+l.Scenario]++
	}
	if len(last.Lanes) != 6 {
		t.Errorf("last snapshot has %d lanes, want 6", len(last.Lanes))
	}
	for _, l := range last.Lanes {
		if k := l.Engine + "/" + l.Scenario; l.State != "done" || l.Done != journaled[k] || l.Failed != 0 || l.TTFT == nil {
			t.Errorf("lane %s: %s, %d done (journal %d), %d failed, ttft %v", k, l.State, l.Done, journaled[k], l.Failed, l.TTFT)
		}
	}
}

func TestUnreachableEngineIsNamedAndOthersRun(t *testing.T) {
	alive := httptest.NewServer(&truthServer{delay: time.Millisecond})
	defer alive.Close()
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	out := t.TempDir()
	r := run(t, "run", "--suite", "ttft", "--iterations", "2", "--output-dir", out,
		"--target", "vllm="+alive.URL, "--target", "ollama="+deadURL)
	if r.code != 0 {
		t.Fatalf("exit %d: one reachable engine is enough\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "ollama") || !strings.Contains(r.stderr, deadURL) {
		t.Errorf("stderr must name the unreachable engine and its URL:\n%s", r.stderr)
	}
	n := 0
	for _, l := range readJournal(t, runFolder(t, out)) {
		if l.Engine == "vllm" && l.OK {
			n++
		}
	}
	if n < 2 {
		t.Errorf("the reachable engine recorded %d successes", n)
	}
}

func TestInterruptWritesSummaryAndExits130(t *testing.T) {
	out := t.TempDir()
	cmd := exec.Command(binary, "run", "--simulate", "--suite", "load", "--concurrency", "4", "--duration", "60s", "--output-dir", out)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Ctrl-C once a measured request has succeeded, however long warm-up
	// takes on this machine: what is measured by then must survive.
	waitForMeasured(t, out, 60*time.Second)
	signaled := time.Now().UnixNano()
	_ = cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 130 {
			t.Errorf("exit %v, want 130\n%s", err, errb.String())
		}
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("did not stop within 20 s of Ctrl-C")
	}
	dir := runFolder(t, out)
	var man struct {
		Status        string `json:"status"`
		InterruptedAt string `json:"interrupted_at"`
	}
	readJSON(t, filepath.Join(dir, "manifest.json"), &man)
	if man.Status != "interrupted" {
		t.Errorf("manifest status %q, want interrupted", man.Status)
	}
	stopped, err := time.Parse(time.RFC3339Nano, man.InterruptedAt)
	if err != nil {
		t.Fatalf("manifest interrupted_at %q: %v", man.InterruptedAt, err)
	}
	if stopped.UnixNano() < signaled {
		t.Errorf("interrupted at %s, before the signal was sent", man.InterruptedAt)
	}
	var sum struct {
		Groups []struct {
			Succeeded int `json:"succeeded"`
		} `json:"groups"`
	}
	readJSON(t, filepath.Join(dir, "summary.json"), &sum)
	lines := readJournal(t, dir)
	if len(sum.Groups) == 0 || sum.Groups[0].Succeeded == 0 || len(lines) == 0 {
		t.Errorf("interrupted run lost its data: %d groups, %d journal lines", len(sum.Groups), len(lines))
	}
	// Ctrl-C stops sending: once the run has seen it, however late a busy
	// machine delivers it, nothing more goes out. A worker that was already
	// on its way records its request as cancelled, never as an answer.
	for _, l := range lines {
		if l.StartNS > stopped.UnixNano() && (l.OK || l.ErrorClass != "canceled") {
			t.Errorf("a request was sent %.3f ms after the run saw Ctrl-C (ok %v, %q)", float64(l.StartNS-stopped.UnixNano())/1e6, l.OK, l.ErrorClass)
		}
	}
}

func TestAPIKeyIsSentButNeverWritten(t *testing.T) {
	const secret = "sk-test-5ecret-never-written"
	srv := httptest.NewServer(&truthServer{delay: time.Millisecond, key: secret})
	defer srv.Close()
	out := t.TempDir()
	r := run(t, "run", "--suite", "ttft", "--iterations", "2", "--output-dir", out, "-v",
		"--target", "vllm="+srv.URL, "--api-key", secret)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, secret) {
		t.Error("the API key reached the terminal")
	}
	filepath.Walk(out, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, _ := os.ReadFile(p)
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("the API key was written to %s", p)
		}
		return nil
	})
	// The server only answers with the key, so success proves it was sent.
	for _, l := range readJournal(t, runFolder(t, out)) {
		if !l.OK {
			t.Errorf("request failed, was the key sent? %+v", l)
		}
	}
}

// waitForMeasured polls a running run's journal until it holds a measured
// request that succeeded.
func waitForMeasured(t *testing.T, out string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		files, _ := filepath.Glob(filepath.Join(out, "test_*", "requests.jsonl"))
		for _, f := range files {
			b, _ := os.ReadFile(f)
			for _, line := range bytes.Split(b, []byte("\n")) {
				var l journalLine
				if json.Unmarshal(line, &l) == nil && l.OK && l.Phase == "measure" {
					return
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no measured request succeeded within %s", limit)
}
