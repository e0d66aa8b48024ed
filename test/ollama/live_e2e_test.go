//go:build e2e && unix

package ollama_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The live commands against the real Ollama: its streams reach the race
// view, inspect shows its real wire, and a conversation feeds its own
// answers back. The tiny model's random weights emit arbitrary bytes, which
// must reach the output as text, never as terminal control codes.
func TestLiveCommandsOnRealOllama(t *testing.T) {
	b := startBackend(t, "real", 1)
	target := []string{"--target", "ollama=" + b.url, "--model", "ollama=tiny", "--timeout", "60s"}

	r := runBinary(t, 2*time.Minute, append([]string{"race", "--max-tokens", "16", "--rounds", "2", "What does a Service do?"}, target...)...)
	if r.code != 0 {
		t.Fatalf("race: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	answer := regexp.MustCompile(`(?s)--- Ollama ---\n(.+?)\n\n`).FindStringSubmatch(r.stdout)
	if answer == nil || strings.TrimSpace(answer[1]) == "" {
		t.Errorf("race shows no answer from the real Ollama:\n%s", r.stdout)
	}
	if regexp.MustCompile("[\x00-\x08\x0b-\x1f\x7f]").MatchString(r.stdout) {
		t.Errorf("control characters from the model reached the output:\n%q", r.stdout)
	}
	for _, want := range []string{"Ollama: first token", "Ollama: TTFT", "16 tokens", "Finish · first word: Ollama", "After 2 rounds"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("race output lacks %q:\n%s", want, r.stdout)
		}
	}

	r = runBinary(t, 2*time.Minute, append([]string{"inspect", "--max-tokens", "8"}, target...)...)
	if r.code != 0 {
		t.Fatalf("inspect: exit %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"POST " + b.url + "/api/chat", `"num_predict": 8`, "Response 200 OK · application/x-ndjson", `"done":true`,
		"8 output tokens (from eval_count)", "options.num_predict: 8"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("inspect output lacks %q:\n%s", want, r.stdout)
		}
	}

	r = runBinary(t, 3*time.Minute, append([]string{"conversation", "--turns", "3", "--max-tokens", "8"}, target...)...)
	if r.code != 0 {
		t.Fatalf("conversation: exit %d\n%s", r.code, r.stderr)
	}
	// Each turn carries the earlier ones: the prompt grows.
	turns := regexp.MustCompile(`turn (\d): (\d+) messages, (\d+) prompt tokens`).FindAllStringSubmatch(r.stdout, -1)
	grew := len(turns) == 2 && atoi(t, turns[1][3]) > atoi(t, turns[0][3])
	if len(turns) != 2 || turns[0][2] != "2" || turns[1][2] != "4" || !grew {
		t.Errorf("turns %v: want 2 then 4 messages and a growing prompt\n%s", turns, r.stdout)
	}
	for _, want := range []string{"Context growth", "Context retention", "Ollama   not recalled", "Human impact"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("conversation output lacks %q:\n%s", want, r.stdout)
		}
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
