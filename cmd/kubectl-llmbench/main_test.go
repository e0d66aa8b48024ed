package main

// End-to-end tests of the real binary: built once, run as a user would,
// against the built-in simulators and against loopback servers that know the
// true emission time of every token.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "llmbench-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "kubectl-llmbench")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the binary: %v\n%s", err, out)
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
	cmd := exec.Command(binary, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{out.String(), errb.String(), code}
}

// runFolder returns the single run folder under dir.
func runFolder(t *testing.T, dir string) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "test_*"))
	if len(m) != 1 {
		t.Fatalf("want one run folder in %s, got %v", dir, m)
	}
	return m[0]
}

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
}

func readJournal(t *testing.T, dir string) []journalLine {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "requests.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []journalLine
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var l journalLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("journal line is not JSON: %v", err)
		}
		out = append(out, l)
	}
	return out
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

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
}

// truthServer streams a fixed answer in one engine's protocol and records
// the true time, from receiving the request, at which the first generated
// token left the server.
type truthServer struct {
	mu    sync.Mutex
	truth []time.Duration
	delay time.Duration
	key   string // required bearer token, if set
}

func (s *truthServer) record(d time.Duration) {
	s.mu.Lock()
	s.truth = append(s.truth, d)
	s.mu.Unlock()
}

func (s *truthServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	got := time.Now()
	if s.key != "" && r.Header.Get("Authorization") != "Bearer "+s.key {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	fl := w.(http.Flusher)
	switch r.URL.Path {
	case "/v1/models":
		fmt.Fprint(w, `{"object":"list","data":[{"id":"m","object":"model","created":1,"owned_by":"vllm","root":"m","parent":null,"max_model_len":8192}]}`)
	case "/version":
		fmt.Fprint(w, `{"version":"0.11.0"}`)
	case "/info":
		fmt.Fprint(w, `{"model_id":"m","max_total_tokens":8192,"version":"3.3.6"}`)
	case "/api/tags":
		fmt.Fprint(w, `{"models":[{"name":"m:latest","model":"m:latest"}]}`)
	case "/api/version":
		fmt.Fprint(w, `{"version":"0.11.4"}`)
	case "/v1/chat/completions": // vLLM: role chunk at once, tokens later
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: {\"id\":\"x\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n")
		fl.Flush()
		time.Sleep(s.delay)
		for i := 0; i < 4; i++ {
			fr := "null"
			if i == 3 {
				fr = `"length"`
			}
			fmt.Fprintf(w, "data: {\"id\":\"x\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" t%d\"},\"logprobs\":null,\"finish_reason\":%s}]}\n\n", i, fr)
			fl.Flush()
			if i == 0 {
				s.record(time.Since(got))
			}
			time.Sleep(2 * time.Millisecond)
		}
		fmt.Fprint(w, "data: {\"id\":\"x\",\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"total_tokens\":13,\"completion_tokens\":4}}\n\ndata: [DONE]\n\n")
	case "/generate_stream": // TGI native, no [DONE]
		w.Header().Set("Content-Type", "text/event-stream")
		fl.Flush()
		time.Sleep(s.delay)
		for i := 1; i <= 4; i++ {
			last := `"generated_text":null,"details":null`
			if i == 4 {
				last = `"generated_text":" t1 t2 t3 t4","details":{"finish_reason":"length","generated_tokens":4,"seed":null,"input_length":9}`
			}
			fmt.Fprintf(w, "data:{\"index\":%d,\"token\":{\"id\":%d,\"text\":\" t%d\",\"logprob\":-1.0,\"special\":false},%s}\n\n", i, i, i, last)
			fl.Flush()
			if i == 1 {
				s.record(time.Since(got))
			}
			time.Sleep(2 * time.Millisecond)
		}
	case "/api/chat": // Ollama NDJSON
		w.Header().Set("Content-Type", "application/x-ndjson")
		time.Sleep(s.delay)
		for i := 0; i < 4; i++ {
			fmt.Fprintf(w, "{\"model\":\"m\",\"created_at\":\"2026-01-01T00:00:00Z\",\"message\":{\"role\":\"assistant\",\"content\":\" t%d\"},\"done\":false}\n", i)
			fl.Flush()
			if i == 0 {
				s.record(time.Since(got))
			}
			time.Sleep(2 * time.Millisecond)
		}
		fmt.Fprint(w, "{\"model\":\"m\",\"created_at\":\"2026-01-01T00:00:00Z\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done\":true,\"done_reason\":\"length\",\"total_duration\":60000000,\"prompt_eval_count\":9,\"prompt_eval_duration\":1000000,\"eval_count\":4,\"eval_duration\":8000000}\n")
	default:
		http.NotFound(w, r)
	}
}

func median(xs []float64) float64 {
	sort.Float64s(xs)
	return xs[len(xs)/2]
}

// TestTTFTWithinOneMillisecondOfTruth is the acceptance check: three
// separate loopback servers, one per protocol, given with --target.
func TestTTFTWithinOneMillisecondOfTruth(t *testing.T) {
	servers := map[string]*truthServer{"vllm": {delay: 25 * time.Millisecond}, "tgi": {delay: 35 * time.Millisecond}, "ollama": {delay: 45 * time.Millisecond}}
	urls := map[string]string{}
	for name, s := range servers {
		hs := httptest.NewServer(s)
		defer hs.Close()
		urls[name] = hs.URL
	}
	out := t.TempDir()
	r := run(t, "run", "--suite", "ttft", "--iterations", "21", "--max-tokens", "4", "--output-dir", out, "--name", "truth",
		"--target", "vllm="+urls["vllm"], "--target", "tgi="+urls["tgi"]+"/generate_stream", "--target", "ollama="+urls["ollama"])
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	measured := map[string][]float64{}
	for _, l := range readJournal(t, runFolder(t, out)) {
		if !l.OK {
			t.Fatalf("request failed: %+v", l)
		}
		if l.Output != 4 || l.Requested != 4 {
			t.Errorf("%s: output %d of requested %d tokens (source %s)", l.Engine, l.Output, l.Requested, l.Source)
		}
		if l.Phase == "measure" {
			measured[l.Engine] = append(measured[l.Engine], *l.TTFTMS)
		}
	}
	for name, s := range servers {
		s.mu.Lock()
		var truth []float64
		for _, d := range s.truth {
			truth = append(truth, float64(d)/1e6)
		}
		s.mu.Unlock()
		m, tr := median(measured[name]), median(truth)
		t.Logf("%s: measured TTFT median %.3f ms, true %.3f ms", name, m, tr)
		if len(measured[name]) != 21 {
			t.Errorf("%s: %d measured requests, want 21", name, len(measured[name]))
		}
		if m < tr || m-tr > 1 {
			t.Errorf("%s: measured median %.3f ms vs true %.3f ms; want within 1 ms above", name, m, tr)
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
	time.Sleep(3 * time.Second)
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
		Status string `json:"status"`
	}
	readJSON(t, filepath.Join(dir, "manifest.json"), &man)
	if man.Status != "interrupted" {
		t.Errorf("manifest status %q, want interrupted", man.Status)
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

func TestUsageErrorsAreActionable(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(cfg, []byte("test_scenarios:\n  load_tests:\n    - name: x\n      concurrent_users: 0\n      duration_seconds: 5\n"), 0o644)
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"run"}, []string{"--target", "--simulate"}},
		{[]string{"run", "--simulate", "-f", cfg}, []string{"load_tests[0].concurrent_users", "0"}},
		{[]string{"run", "--target", "foo=http://127.0.0.1:1"}, []string{"foo", "vllm, tgi, ollama, openai"}},
		{[]string{"run", "--target", "vllm=ftp://x"}, []string{"ftp://x", "http://"}},
		{[]string{"run", "--simulate", "--preset", "huge"}, []string{"--preset", "quick, standard, stress"}},
		{[]string{"run", "--simulate", "--arrival", "poisson"}, []string{"rate"}},
	}
	for _, tc := range cases {
		r := run(t, tc.args...)
		if r.code != 1 {
			t.Errorf("%v: exit %d, want 1", tc.args, r.code)
		}
		for _, w := range tc.want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("%v: error lacks %q:\n%s", tc.args, w, r.stderr)
			}
		}
	}
}

func TestDryRunPrintsPlanAndSendsNothing(t *testing.T) {
	srv := &truthServer{delay: time.Millisecond}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	out := t.TempDir()
	r := run(t, "run", "--preset", "standard", "--dry-run", "--output-dir", out, "--target", "vllm="+hs.URL)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	for _, w := range []string{"chat_users_10", "poisson_5rps", "closed loop, 10 users", hs.URL} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("plan lacks %q:\n%s", w, r.stdout)
		}
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("dry run wrote %d entries", len(entries))
	}
	if len(srv.truth) != 0 {
		t.Error("dry run sent requests")
	}
}

func TestInitConfigRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "llmbench.yaml")
	if r := run(t, "init", "-o", path); r.code != 0 {
		t.Fatalf("init: %s", r.stderr)
	}
	r := run(t, "config", "-f", path, "--max-tokens", "77")
	if r.code != 0 {
		t.Fatalf("config: %s", r.stderr)
	}
	for _, w := range []string{"max_tokens: 77", "poisson_8rps", "chat_users_10", "manual_urls"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("effective config lacks %q:\n%s", w, r.stdout)
		}
	}
	if r := run(t, "init", "-o", path); r.code != 1 || !strings.Contains(r.stderr, "--force") {
		t.Errorf("init over an existing file: exit %d %s", r.code, r.stderr)
	}
}
