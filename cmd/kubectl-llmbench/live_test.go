package main

import (
	"os/exec"
	"strings"
	"testing"
	"time"
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
