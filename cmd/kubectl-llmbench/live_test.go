package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/sim"
)

// A real terminal: tmux runs `race --simulate` in a 150-column pane, and
// the captured screen must show the three engines' columns side by side,
// their figures, and the finish line.
func TestRaceInARealTerminal(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed (.ci/run installs it)")
	}
	session := "llmbench-race-test"
	tmux := func(args ...string) string {
		out, err := exec.Command("tmux", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	// A private socket: the test never touches the user's own tmux.
	sock := t.TempDir() + "/tmux.sock"
	base := []string{"-S", sock}
	tmux(append(base, "new-session", "-d", "-s", session, "-x", "150", "-y", "45",
		binary+` race --simulate "How do I fix a crashing pod?"; sleep 60`)...)
	t.Cleanup(func() { exec.Command("tmux", append(base, "kill-server")...).Run() })

	var screen string
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(250 * time.Millisecond)
		screen = tmux(append(base, "capture-pane", "-p", "-t", session)...)
		if strings.Contains(screen, "waits") {
			break
		}
	}
	if !strings.Contains(screen, "user waits") {
		t.Fatalf("no finish line within 30 s:\n%s", screen)
	}
	var columns string
	for _, line := range strings.Split(screen, "\n") {
		if strings.Contains(line, "vLLM") && strings.Contains(line, "TGI") && strings.Contains(line, "Ollama") && strings.Count(line, "│") >= 6 {
			columns = line
		}
	}
	if columns == "" {
		t.Errorf("no row with the three engines in columns side by side:\n%s", screen)
	}
	for _, want := range []string{"Race ·", "How do I fix a crashing pod?", "TTFT", "tok/s", "done", "Finish · first word:", "Finish · full answer:"} {
		if !strings.Contains(screen, want) {
			t.Errorf("screen lacks %q:\n%s", want, screen)
		}
	}
}

// Without a terminal the race prints plain lines: no escape sequences in
// a CI log, and every engine's answer and the finish line.
func TestRacePlainWhenNotATerminal(t *testing.T) {
	r := run(t, "race", "--simulate", "--max-tokens", "24", "--rounds", "2", "What is a Service?")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if strings.Contains(r.stdout, "\x1b") {
		t.Errorf("escape sequences in plain output:\n%q", r.stdout)
	}
	for _, want := range []string{"Round 2 of 2", "vLLM: first token", "--- TGI ---", "--- Ollama ---", "Finish · first word:", "After 2 rounds, first word first:"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
}

// simTargets serves the simulators in this process and returns them as
// --target flags, the way a user points the tool at engines they run.
func simTargets(t *testing.T) []string {
	t.Helper()
	s := sim.New(sim.Options{Seed: 3})
	t.Cleanup(func() { s.Close() })
	urls, err := s.StartAll(context.Background(), "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	var flags []string
	for _, e := range []bench.EngineType{bench.EngineVLLM, bench.EngineTGI, bench.EngineOllama} {
		flags = append(flags, "--target", fmt.Sprintf("%s=%s", e, urls[e]))
	}
	return flags
}

func TestDemo(t *testing.T) {
	r := run(t, "demo", "--list")
	if r.code != 0 || !strings.Contains(r.stdout, "Customer support") || !strings.Contains(r.stdout, "Business analysis") {
		t.Fatalf("demo --list: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, engines := range [][]string{{"--simulate"}, simTargets(t)} {
		args := append([]string{"demo", "--scenario", "2", "--max-tokens", "12"}, engines...)
		r := run(t, args...)
		if r.code != 0 {
			t.Fatalf("%v: exit %d\n%s", args, r.code, r.stderr)
		}
		for _, want := range []string{"Scenario 2 · Code review", "━━ vLLM", "━━ TGI", "━━ Ollama", "Dev › Review this Python function",
			"first word", "Timings", "Cost at measured throughput", "USD per 1M output tokens", "illustrative $2.50 per GPU-hour",
			"Human impact", "An estimate, not a measurement: 1 person × 50", "Extra cost a year vs fastest"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("%v: output lacks %q:\n%s", engines, want, r.stdout)
			}
		}
		if n := strings.Count(r.stdout, "Dev ›"); n != 12 {
			t.Errorf("%v: %d user turns shown, want 4 turns × 3 engines", engines, n)
		}
	}
	if r := run(t, "demo", "--simulate", "--scenario", "9"); r.code == 0 || !strings.Contains(r.stderr, "--scenario: no scenario 9") {
		t.Errorf("unknown scenario: exit %d %s", r.code, r.stderr)
	}
}

func TestInspectRedactsAndShowsTheWire(t *testing.T) {
	const key = "sk-do-not-print-7f3a"
	for _, engines := range [][]string{{"--simulate"}, simTargets(t)} {
		args := append([]string{"inspect", "--scenario", "1", "--max-tokens", "6", "--api-key", key}, engines...)
		r := run(t, args...)
		if r.code != 0 {
			t.Fatalf("%v: exit %d\n%s", args, r.code, r.stderr)
		}
		if strings.Contains(r.stdout+r.stderr, key) {
			t.Fatalf("the API key was printed:\n%s", r.stdout)
		}
		for _, want := range []string{"Authorization: Bearer [redacted]", `"max_tokens": 6`, `"num_predict": 6`, "POST http://127.0.0.1:",
			"/api/chat", "data: [DONE]", `"done": true`, "Parsed", "TTFT", "finish reason", "Dialects", "options.num_predict: 6", "NDJSON", "eval_count"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("%v: output lacks %q:\n%s", engines, want, r.stdout)
			}
		}
		// Every event has its arrival offset.
		if n := strings.Count(r.stdout, " ms {"); n < 3*6 {
			t.Errorf("%d timed events, want at least 6 per engine", n)
		}
	}
	r := run(t, "inspect", "--simulate", "--engines", "tgi", "--raw", "--max-tokens", "3")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "data: {") || !strings.HasSuffix(r.stdout, "data: [DONE]\n\n") {
		t.Errorf("--raw: exit %d\n%q\n%s", r.code, r.stdout, r.stderr)
	}
}

func TestConversation(t *testing.T) {
	for _, engines := range [][]string{{"--simulate"}, simTargets(t)} {
		args := append([]string{"conversation", "--scenario", "1", "--turns", "4", "--max-tokens", "10"}, engines...)
		r := run(t, args...)
		if r.code != 0 {
			t.Fatalf("%v: exit %d\n%s", args, r.code, r.stderr)
		}
		for _, want := range []string{"Planted in turn 1: Our cluster is called orion-7", "turn 3: 6 messages,", "Context growth",
			"ms per 1k prompt tokens", `Context retention (the last answer must contain "orion-7" and "shop-prod")`, "not recalled", "Human impact"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("%v: output lacks %q:\n%s", engines, want, r.stdout)
			}
		}
	}
}

// An engine that does remember: it answers every turn by repeating the
// first thing the user said, so the planted fact comes back in the last
// turn and the check must say "recalled".
func TestConversationRecallsWhenTheEngineRemembers(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/models" {
			fmt.Fprint(w, `{"object":"list","data":[{"id":"echo","object":"model"}]}`)
			return
		}
		var req struct {
			Messages []struct{ Role, Content string } `json:"messages"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		first := ""
		for _, m := range req.Messages {
			if m.Role == "user" {
				first = m.Content
				break
			}
		}
		w.Header().Set("Content-Type", "text/event-stream")
		chunk, _ := json.Marshal(map[string]any{"choices": []any{map[string]any{"index": 0, "delta": map[string]string{"content": "You said: " + first}, "finish_reason": "stop"}}})
		fmt.Fprintf(w, "data: %s\n\ndata: [DONE]\n\n", chunk)
	}))
	defer srv.Close()
	r := run(t, "conversation", "--scenario", "3", "--turns", "3", "--target", "echo=openai+"+srv.URL)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "echo     recalled") {
		t.Errorf("an engine that repeats the planted fact was not credited:\n%s", r.stdout)
	}
}
