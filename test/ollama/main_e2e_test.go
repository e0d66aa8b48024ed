//go:build e2e && unix

package ollama_test

// End-to-end tests of the kubectl-llmbench binary against a real Ollama
// (built from the module proxy, serving the tiny GGUF models) and against
// the simulator's Ollama mode configured to match it. Every check runs on
// both: a difference is a simulator bug. Run with
//
//	go test -tags e2e -count=1 -timeout 40m ./test/...
//
// The first run builds Ollama into $LLMBENCH_CACHE (default
// ~/.cache/kubectl-llmbench), which takes minutes; later runs reuse it.
// Checks are on shapes and counts, never speeds: CI shares 2 cores.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/sim"
	"github.com/llmbench/kubectl-llmbench/test/ollama"
	"github.com/llmbench/kubectl-llmbench/test/plugintest"
)

var binary string

// TestMain builds the binary once, as cmd/kubectl-llmbench's tests do;
// $LLMBENCH_E2E_BINARY names a prebuilt one instead.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "llmbench-e2e")
	if err != nil {
		panic(err)
	}
	binary = os.Getenv("LLMBENCH_E2E_BINARY")
	if binary == "" {
		if binary, err = plugintest.Build(dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	// Build (or find) Ollama before any test's clock starts.
	start := time.Now()
	if _, err := ollama.EnsureOllama(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	} else if d := time.Since(start); d > 5*time.Second {
		fmt.Fprintf(os.Stderr, "built ollama v%s in %s\n", ollama.Version, d.Round(time.Second))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// backend is one Ollama-speaking server: the real one or the simulator.
type backend struct {
	name string
	url  string
	kill func()
}

var backendKinds = []string{"real", "sim"}

// simStopTokens is where the simulated tiny-stop ends: any length below the
// requested maximum will do, since the real one's depends on the prompt.
const simStopTokens = 100

// simProfile imitates the real Ollama v0.11.4 serving the tiny models with
// OLLAMA_NUM_PARALLEL=numParallel. Latencies are the order of magnitude
// real-ollama.md measured (280 ms cold load per model, ~5,000 tokens/s);
// nothing asserts them.
func simProfile(numParallel int) sim.Profile {
	return sim.Profile{
		Version: ollama.Version,
		Models: []sim.Model{
			{Name: "tiny", BytePrompt: true},
			{Name: "tiny-stop", BytePrompt: true, NaturalStopTokens: simStopTokens},
		},
		PrefillBase:          2 * time.Millisecond,
		PrefillPerToken:      20 * time.Microsecond,
		DecodePerToken:       250 * time.Microsecond,
		DecodeSlowdownPerSeq: 0.3,
		MaxBatch:             numParallel,
		Jitter:               0.1,
		ColdLoad:             270 * time.Millisecond,
	}
}

func startBackend(t *testing.T, kind string, numParallel int) *backend {
	t.Helper()
	switch kind {
	case "real":
		s := ollama.Start(t, numParallel)
		return &backend{name: kind, url: s.URL, kill: s.Kill}
	case "sim":
		s := sim.New(sim.Options{Seed: 42, Profiles: map[engine.EngineType]sim.Profile{engine.EngineOllama: simProfile(numParallel)}})
		url, err := s.Start(context.Background(), engine.EngineOllama, "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return &backend{name: kind, url: url, kill: func() { _ = s.Close() }}
	}
	t.Fatalf("unknown backend %q", kind)
	return nil
}

// endpoint is one API the binary is pointed at by the URL's path.
type endpoint struct {
	name   string
	path   string // appended to the base URL in --target
	api    engine.API
	source string // output_tokens_source
}

var endpoints = []endpoint{
	{"api_chat", "", engine.APIOllamaChat, engine.TokensFromEvalCount},
	{"api_generate", "/api/generate", engine.APIOllamaGenerate, engine.TokensFromEvalCount},
	{"v1_chat", "/v1/chat/completions", engine.APIChat, engine.TokensFromUsage},
}

type result struct {
	stdout, stderr string
	code           int
	dir            string // the run folder, if one was made
}

// runBinary runs kubectl-llmbench with a time limit.
func runBinary(t *testing.T, limit time.Duration, args ...string) result {
	t.Helper()
	r := plugintest.Run(t, binary, plugintest.Options{Limit: limit}, args...)
	return result{stdout: r.Stdout, stderr: r.Stderr, code: r.Code}
}

// The workload of every run: one system and one user prompt, so that the
// tests know what was asked (the binary's defaults rotate several), greedy
// decoding with seed 42, a TTFT suite of one warm-up and ttftRuns measured
// requests, and no load test unless the flags describe one (then without
// warm-up).
const (
	systemPrompt = "You are a helpful assistant. Answer clearly and concisely."
	userPrompt   = "Explain in a few sentences what a Kubernetes Service does."
	ttftRuns     = 3
)

func writeConfig(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "llmbench.yaml")
	cfg := fmt.Sprintf("benchmark:\n  name: e2e\nworkload:\n  system_prompt: %q\n  prompts:\n    - %q\n  max_tokens: 64\n  temperature: 0\n  seed: 42\n"+
		"test_scenarios:\n  ttft:\n    enabled: true\n    iterations: %d\n    warmup: 1\n", systemPrompt, userPrompt, ttftRuns)
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// runArgs are the arguments of `run` against one backend, endpoint and model.
func runArgs(t *testing.T, b *backend, ep endpoint, model, out string, extra ...string) []string {
	args := []string{"run", "-f", writeConfig(t), "--target", "ollama=" + b.url + ep.path, "--model", "ollama=" + model,
		"--output-dir", out, "--timeout", "60s"}
	return append(args, extra...)
}

// runOK runs the binary and expects a complete run.
func runOK(t *testing.T, b *backend, ep endpoint, model string, extra ...string) (result, []record) {
	t.Helper()
	out := t.TempDir()
	r := runBinary(t, 3*time.Minute, runArgs(t, b, ep, model, out, extra...)...)
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	r.dir = runFolder(t, out)
	checkFinished(t, r.dir, "complete")
	return r, readJournal(t, r.dir)
}

func runFolder(t *testing.T, out string) string { t.Helper(); return plugintest.RunFolder(t, out) }

// record holds the journal fields the checks read.
type record struct {
	Engine       string   `json:"engine"`
	API          string   `json:"api"`
	Model        string   `json:"model"`
	Scenario     string   `json:"scenario"`
	Phase        string   `json:"phase"`
	OK           bool     `json:"ok"`
	HTTPStatus   int      `json:"http_status"`
	ErrorClass   string   `json:"error_class"`
	Error        string   `json:"error"`
	PromptTokens int      `json:"prompt_tokens"`
	Output       int      `json:"output_tokens"`
	Source       string   `json:"output_tokens_source"`
	Requested    int      `json:"requested_output_tokens"`
	Mismatch     bool     `json:"output_mismatch"`
	Chunks       int      `json:"chunks"`
	Finish       string   `json:"finish_reason"`
	StartUnixNS  int64    `json:"start_unix_ns"`
	EndUnixNS    int64    `json:"end_unix_ns"`
	TTFTMS       *float64 `json:"ttft_ms"`
	Sequence     int64    `json:"sequence"`
}

// readJournal parses requests.jsonl; every line must be one JSON object.
func readJournal(t *testing.T, dir string) []record {
	t.Helper()
	return plugintest.ReadJournal[record](t, dir)
}

// checkFinished checks that manifest.json ended with status and that
// summary.json was written.
func checkFinished(t *testing.T, dir, status string) {
	t.Helper()
	var man struct {
		Status string `json:"status"`
	}
	readJSON(t, filepath.Join(dir, "manifest.json"), &man)
	if man.Status != status {
		t.Errorf("manifest status %q, want %q", man.Status, status)
	}
	var sum struct {
		Groups []json.RawMessage `json:"groups"`
	}
	readJSON(t, filepath.Join(dir, "summary.json"), &sum)
}

func readJSON(t *testing.T, path string, v any) { t.Helper(); plugintest.ReadJSON(t, path, v) }

// request is what the binary sends for the configured workload with
// --same-prompts.
func request(maxTokens int) engine.Request {
	seed := int64(42)
	return engine.Request{
		Messages:  []engine.Message{{Role: "system", Content: systemPrompt}, {Role: "user", Content: userPrompt}},
		MaxTokens: maxTokens,
		Seed:      &seed,
	}
}

// tinyPromptTokens is the tiny models' count of that request: their
// template is {{ .Prompt }} (chat keeps the user turn only), one token per
// byte, plus <s> and the leading "▁".
func tinyPromptTokens(api engine.API) int {
	r := request(1)
	if api == engine.APIOllamaGenerate {
		return len(r.Prompt()) + 2
	}
	return len(userPrompt) + 2
}

// facts is what a stream says, read without the product's parser.
type facts struct {
	status       int
	chunks       int // events with generated text
	outputTokens int // eval_count or usage.completion_tokens
	promptTokens int
	finish       string
	done         bool // the final object (done:true, or [DONE])
}

// direct sends the request the binary would send, and reads the stream.
func direct(t *testing.T, baseURL string, api engine.API, model string, req engine.Request) facts {
	t.Helper()
	target := engine.Target{Name: "direct", Type: engine.EngineOllama, BaseURL: baseURL, API: api, Model: model}
	body, err := engine.Body(target, req)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, target.URL(), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	hr.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	f := facts{status: resp.StatusCode}
	if resp.StatusCode != http.StatusOK {
		return f
	}
	if api == engine.APIChat {
		for _, ev := range bytes.Split(b, []byte("\n\n")) {
			data, ok := bytes.CutPrefix(ev, []byte("data: "))
			if !ok {
				continue
			}
			if string(data) == "[DONE]" {
				f.done = true
				continue
			}
			var c struct {
				Choices []struct {
					Delta struct {
						Content string `json:"content"`
					} `json:"delta"`
					FinishReason *string `json:"finish_reason"`
				} `json:"choices"`
				Usage *struct {
					Prompt     int `json:"prompt_tokens"`
					Completion int `json:"completion_tokens"`
				} `json:"usage"`
			}
			if err := json.Unmarshal(data, &c); err != nil {
				t.Fatalf("SSE event is not JSON: %v: %s", err, data)
			}
			for _, ch := range c.Choices {
				if ch.Delta.Content != "" {
					f.chunks++
				}
				if ch.FinishReason != nil {
					f.finish = *ch.FinishReason
				}
			}
			if c.Usage != nil {
				f.promptTokens, f.outputTokens = c.Usage.Prompt, c.Usage.Completion
			}
		}
		return f
	}
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		var o struct {
			Message *struct {
				Content string `json:"content"`
			} `json:"message"`
			Response   string `json:"response"`
			Done       bool   `json:"done"`
			DoneReason string `json:"done_reason"`
			Prompt     int    `json:"prompt_eval_count"`
			Eval       int    `json:"eval_count"`
		}
		if err := json.Unmarshal(line, &o); err != nil {
			t.Fatalf("NDJSON line is not JSON: %v: %s", err, line)
		}
		text := o.Response
		if o.Message != nil {
			text = o.Message.Content
		}
		if text != "" {
			f.chunks++
		}
		if o.Done {
			f.done, f.finish, f.promptTokens, f.outputTokens = true, o.DoneReason, o.Prompt, o.Eval
		}
	}
	return f
}
