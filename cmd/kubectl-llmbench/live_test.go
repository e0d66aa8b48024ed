package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/sim"
)

// inTmux runs command in a detached 150×45 tmux pane on a private socket
// (never the user's own tmux) and returns the screen (with its colour
// attributes as escapes when escapes is set) once it shows until.
func inTmux(t *testing.T, command, until string, escapes bool) string {
	t.Helper()
	wait, _ := tmuxPane(t, command, escapes)
	return wait(until)
}

// tmuxPane starts command in a pane and returns a wait (the screen once
// it shows until, within 60 s) and ctl, which runs a tmux command on the
// pane (send-keys, display).
func tmuxPane(t *testing.T, command string, escapes bool) (wait func(until string) string, ctl func(sub string, args ...string) string) {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed (.ci/run installs it)")
	}
	sock := t.TempDir() + "/tmux.sock"
	tmux := func(args ...string) string {
		out, err := exec.Command("tmux", append([]string{"-S", sock}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	// Without CI: termenv (rightly) draws no colour for CI logs, and the
	// pane is a real terminal.
	tmux("new-session", "-d", "-s", "llmbench", "-x", "150", "-y", "45", "env -u CI "+command+"; sleep 60")
	t.Cleanup(func() { exec.Command("tmux", "-S", sock, "kill-server").Run() })
	// -S -300: the scrollback too, for output longer than the pane.
	capture := []string{"capture-pane", "-p", "-S", "-300", "-t", "llmbench"}
	if escapes {
		capture = append(capture, "-e")
	}
	ctl = func(sub string, args ...string) string {
		return tmux(append([]string{sub, "-t", "llmbench"}, args...)...)
	}
	return func(until string) string {
		t.Helper()
		var screen string
		for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); {
			time.Sleep(250 * time.Millisecond)
			if screen = tmux(capture...); strings.Contains(screen, until) {
				return screen
			}
		}
		t.Fatalf("%q did not appear within 60 s:\n%s", until, screen)
		return ""
	}, ctl
}

// The run dashboard in a real terminal: while a scenario runs, its
// progress bar, ETA, in-flight count, rate, rolling TTFT and sparkline,
// with what is still to come; at the end every lane done, and the
// summary below the last frame.
func TestRunDashboardInARealTerminal(t *testing.T) {
	out := t.TempDir()
	wait, _ := tmuxPane(t, binary+" run --simulate --preset quick --no-report --output-dir "+out, false)
	// Once a lane has TTFTs to show.
	running := wait(" ms · TPOT p50/p95 ")
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`kubectl-llmbench run quick · \d+s elapsed · \d+% · ETA`),
		regexp.MustCompile(`vllm · (ttft|quick_latency) [█░]{24} \d+%  ETA \d+s · TTFT p50, last minute [▁▂▃▄▅▆▇█ ]+`),
		regexp.MustCompile(`TTFT p50/p95 [\d.]+/[\d.]+ ms · TPOT p50/p95 [\d.]+/[\d.]+ ms`),
		regexp.MustCompile(`\d+ done · 0 failed · \d+ in flight · [\d.]+ req/s · \d+ tok/s · lag p95 `),
		regexp.MustCompile(`ollama · to come: ttft, quick_latency`),
	} {
		if !want.MatchString(running) {
			t.Errorf("running dashboard lacks %s:\n%s", want, running)
		}
	}
	final := wait("Results:")
	for _, e := range []string{"vllm", "tgi", "ollama"} {
		for _, s := range []string{"ttft", "quick_latency"} {
			if !regexp.MustCompile(`✓ ` + e + ` · ` + s + `: \d+ requests, 0 failed in \d+s`).MatchString(final) {
				t.Errorf("last frame lacks %s · %s done:\n%s", e, s, final)
			}
		}
	}
	if strings.Contains(final, "to come") || !strings.Contains(final, "Fastest engine per metric") {
		t.Errorf("last frame or summary wrong:\n%s", final)
	}
	// The frames redraw in place: the header is on screen once.
	if n := strings.Count(final, "kubectl-llmbench run quick ·"); n != 1 {
		t.Errorf("the dashboard header appears %d times; frames must redraw in place:\n%s", n, final)
	}
}

// Ctrl-C while the dashboard draws: the run stops as it does anywhere
// (the message shows above the last frame), writes its summary, exits 130,
// and gives the terminal back as it found it (the cursor it hid shown,
// typing echoed); a second Ctrl-C quits at once, the cursor shown too.
func TestRunDashboardStopsOnCtrlC(t *testing.T) {
	for _, presses := range []int{1, 2} {
		out := t.TempDir()
		wait, ctl := tmuxPane(t, binary+" run --simulate --preset quick --no-report --output-dir "+out+"; echo exit=$?", false)
		wait(" ms · TPOT p50/p95 ")
		for range presses {
			ctl("send-keys", "C-c")
		}
		screen := wait("exit=130")
		var want []string
		if presses == 1 {
			want = append(want, "stopping: no new requests", "interrupted: the summary of what was measured is in", "Results: ")
			if _, err := os.Stat(filepath.Join(runFolder(t, out), "summary.json")); err != nil {
				t.Errorf("no summary after Ctrl-C: %v", err)
			}
		}
		for _, w := range want {
			if !strings.Contains(screen, w) {
				t.Errorf("%d Ctrl-C: screen lacks %q:\n%s", presses, w, screen)
			}
		}
		if c := strings.TrimSpace(ctl("display", "-p", "#{cursor_flag}")); c != "1" {
			t.Errorf("%d Ctrl-C: cursor left hidden (cursor_flag %q)", presses, c)
		}
		// A cooked terminal echoes what is typed (the pane's shell is
		// sleeping, so nothing else would show it).
		ctl("send-keys", "still-cooked")
		wait("still-cooked")
	}
}

// NO_COLOR: the dashboard draws no colour, and the same lines.
func TestRunDashboardHonoursNoColor(t *testing.T) {
	sgrColour := regexp.MustCompile(`\x1b\[[0-9;]*3[0-7]m|\x1b\[[0-9;]*38;`)
	wait, _ := tmuxPane(t, binary+" run --simulate --preset quick --no-report --output-dir "+t.TempDir(), true)
	coloured := wait("in flight")
	if !sgrColour.MatchString(coloured) {
		t.Errorf("no colour in a colour terminal:\n%q", coloured)
	}
	wait, _ = tmuxPane(t, "NO_COLOR=1 "+binary+" run --simulate --preset quick --no-report --output-dir "+t.TempDir(), true)
	plain := wait("in flight")
	if sgrColour.MatchString(plain) {
		t.Errorf("colour despite NO_COLOR:\n%q", plain)
	}
	if !strings.Contains(plain, "TTFT p50, last minute") {
		t.Errorf("NO_COLOR changed the dashboard:\n%s", plain)
	}
}

// sideBySide finds a screen row with all three engines' columns.
func sideBySide(screen string) bool {
	for _, line := range strings.Split(screen, "\n") {
		if strings.Contains(line, "vLLM") && strings.Contains(line, "TGI") && strings.Contains(line, "Ollama") && strings.Count(line, "│") >= 6 {
			return true
		}
	}
	return false
}

// A real terminal: the captured screen of `race --simulate` must show the
// three engines' columns side by side, their figures, and the finish line.
func TestRaceInARealTerminal(t *testing.T) {
	screen := inTmux(t, binary+` race --simulate "How do I fix a crashing pod?"`, "user waits", false)
	if !sideBySide(screen) {
		t.Errorf("no row with the three engines in columns side by side:\n%s", screen)
	}
	for _, want := range []string{"Race ·", "How do I fix a crashing pod?", "TTFT", "tok/s", "done", "Finish · first word:", "Finish · full answer:"} {
		if !strings.Contains(screen, want) {
			t.Errorf("screen lacks %q:\n%s", want, screen)
		}
	}
}

// Colour in a terminal, none with NO_COLOR: the layout is the same.
func TestRaceHonoursNoColor(t *testing.T) {
	sgrColour := regexp.MustCompile(`\x1b\[[0-9;]*3[0-7]m|\x1b\[[0-9;]*38;`)
	coloured := inTmux(t, binary+` race --simulate --max-tokens 16 "Hi"`, "user waits", true)
	if !sgrColour.MatchString(coloured) {
		t.Errorf("no colour in a colour terminal:\n%q", coloured)
	}
	plain := inTmux(t, "NO_COLOR=1 "+binary+` race --simulate --max-tokens 16 "Hi"`, "user waits", true)
	if sgrColour.MatchString(plain) {
		t.Errorf("colour despite NO_COLOR:\n%q", plain)
	}
	if !sideBySide(plain) {
		t.Errorf("NO_COLOR changed the layout:\n%s", plain)
	}
}

// demo --live races each turn of a scenario, each engine hearing its own
// answers back, then prints the tables.
func TestDemoLiveInARealTerminal(t *testing.T) {
	screen := inTmux(t, binary+` demo --simulate --scenario 1 --live --max-tokens 12`, "Extra cost a year", false)
	for _, want := range []string{"Customer support · turn 4 of 4 · Maya asks", "Timings", "Cost at measured throughput", "Human impact"} {
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
	for _, e := range []engine.EngineType{engine.EngineVLLM, engine.EngineTGI, engine.EngineOllama} {
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
