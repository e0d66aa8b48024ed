package plugin

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/load"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *updateGolden {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update once)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (rerun with -update if intended):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func plainRenderer() *lipgloss.Renderer {
	r := lipgloss.NewRenderer(os.Stdout)
	r.SetColorProfile(termenv.Ascii)
	return r
}

func f64(v float64) *float64 { return &v }

// raceMidway is a race with vLLM done, TGI streaming, Ollama still
// waiting, and text that tries to clear the screen and ring the bell.
func raceMidway() *raceState {
	s := newRaceState("How do I fix a crashing pod?", []engine.Target{{Name: "vllm"}, {Name: "tgi"}, {Name: "ollama"}}, 3)
	s.startRound()
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	for i, w := range strings.Fields("Check the pod's events first: kubectl describe pod shows why it restarts.") {
		s.apply(load.RaceEvent{Lane: 0, At: ms(40 + 10*i), Text: w + " "})
	}
	s.apply(load.RaceEvent{Lane: 1, At: ms(95), Text: "\x1b[2JLook at\x07 the logs "})
	s.apply(load.RaceEvent{Lane: 1, At: ms(130), Text: "of the previous container."})
	s.apply(load.RaceEvent{Lane: 0, At: ms(200), Done: &engine.Record{OK: true, OutputTokens: 13, OutputTokensPerS: f64(80)}})
	s.now = ms(250)
	return s
}

func TestRaceFramesWideAndNarrow(t *testing.T) {
	s := raceMidway()
	golden(t, "race_wide.golden", renderRace(s, 120, plainRenderer()))
	golden(t, "race_narrow.golden", renderRace(s, 60, plainRenderer()))
	for _, frame := range []string{renderRace(s, 120, plainRenderer()), renderRace(s, 60, plainRenderer())} {
		if strings.ContainsAny(frame, "\x1b\x07") {
			t.Errorf("model output reached the terminal as control codes:\n%q", frame)
		}
		if strings.Contains(frame, "Finish") {
			t.Error("a finish line before every engine finished")
		}
	}
}

func TestRaceFinishLine(t *testing.T) {
	s := raceMidway()
	s.apply(load.RaceEvent{Lane: 1, At: 300 * time.Millisecond, Done: &engine.Record{OK: true, OutputTokens: 9}})
	s.apply(load.RaceEvent{Lane: 2, At: 30 * time.Second, Done: &engine.Record{ErrorClass: engine.ErrTimeout, Error: "no answer in 30s\x1b]0;pwned\x07"}})
	frame := renderRace(s, 120, plainRenderer())
	golden(t, "race_finished.golden", frame)
	for _, want := range []string{
		"Finish · first word: vLLM 40 ms · TGI 95 ms (+55 ms)",
		"Finish · full answer: vLLM 200 ms · TGI 300 ms",
		"TGI's user waits 55 ms longer for the first word than vLLM's.",
		"Ollama failed (timeout): no answer in 30s",
	} {
		if !strings.Contains(frame, want) {
			t.Errorf("frame lacks %q:\n%s", want, frame)
		}
	}
	if strings.Contains(frame, "pwned\x07") || strings.Contains(frame, "\x1b]") {
		t.Errorf("an error message steered the terminal:\n%q", frame)
	}
	if s.firsts["vllm"] != 1 || s.firsts["tgi"] != 0 {
		t.Errorf("tally %v", s.firsts)
	}
}
