package bench

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// transcriptDir is where the shared wire transcripts live: the repository
// and shared/ are checked out side by side (locally and in CI).
const transcriptDir = "../../../shared/reference/transcripts"

// transcript reads one transcript, skipping the test when the shared
// checkout is missing rather than failing on an unrelated setup problem.
func transcript(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(transcriptDir, name))
	if errors.Is(err, os.ErrNotExist) {
		tb.Skipf("transcript %s not found under %s: check out the shared reference next to the repository", name, transcriptDir)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// streamingTranscripts lists every *.sse and *.ndjson transcript, so a new
// capture dropped into the folder cannot go untested.
func streamingTranscripts(tb testing.TB) []string {
	tb.Helper()
	var names []string
	for _, pat := range []string{"*.sse", "*.ndjson"} {
		m, err := filepath.Glob(filepath.Join(transcriptDir, pat))
		if err != nil {
			tb.Fatal(err)
		}
		for _, p := range m {
			names = append(names, filepath.Base(p))
		}
	}
	if len(names) == 0 {
		tb.Skipf("no transcripts under %s: check out the shared reference next to the repository", transcriptDir)
	}
	return names
}

// apiFor is the API whose parser reads a transcript, judged by its name.
func apiFor(name string) API {
	switch {
	case strings.HasPrefix(name, "tgi-generate-stream"):
		return APIGenerateStream
	case strings.HasSuffix(name, ".ndjson") && strings.Contains(name, "generate"):
		return APIOllamaGenerate
	case strings.HasSuffix(name, ".ndjson"):
		return APIOllamaChat
	case strings.Contains(name, "completions"):
		return APICompletions
	}
	return APIChat
}

// streamSummary is what a stream said, as the client reads it: payloads are
// consumed until a Done event or an error event, like Client.Do does.
type streamSummary struct {
	payloads     int // payloads parsed, the stopping one included
	tokenEvents  int // events with text or reasoning
	ttftIndex    int // payload index of the first token-bearing event; -1 if none
	contentIndex int // payload index of the first event with text; -1 if none
	roleOnly     int // events with a role and nothing generated
	text         string
	reasoning    string
	finish       string
	hasUsage     bool
	prompt       int
	output       int
	tokens       int // sum of Event.Tokens
	done         bool
	err          *ServerError
	errIndex     int
	ollama       *OllamaTimings
	partial      bool
}

// replay frames r with the real frameReader and parses every payload with
// the API's real parser.
func replay(r io.Reader, api API) (streamSummary, error) {
	p, sse := NewParser(api)
	fr := newFrameReader(r, sse)
	s := streamSummary{ttftIndex: -1, contentIndex: -1, errIndex: -1}
	var ev Event
	var text, reasoning strings.Builder
	for i := 0; ; i++ {
		payload, _, err := fr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return s, err
		}
		s.payloads++
		if err := p.Parse(payload, &ev); err != nil {
			s.partial = fr.partial
			return s, err
		}
		if ev.Err != nil {
			s.err, s.errIndex = ev.Err, i
			s.done = ev.Done
			break
		}
		if len(ev.Text) > 0 || len(ev.Reasoning) > 0 {
			s.tokenEvents++
			if s.ttftIndex < 0 {
				s.ttftIndex = i
			}
		} else if ev.Role {
			s.roleOnly++
		}
		if len(ev.Text) > 0 && s.contentIndex < 0 {
			s.contentIndex = i
		}
		text.Write(ev.Text)
		reasoning.Write(ev.Reasoning)
		s.tokens += ev.Tokens
		if len(ev.FinishReason) > 0 {
			s.finish = string(ev.FinishReason)
		}
		if ev.HasUsage {
			s.hasUsage, s.prompt, s.output = true, ev.PromptTokens, ev.OutputTokens
		}
		if ev.Ollama != nil {
			o := *ev.Ollama
			s.ollama = &o
		}
		if ev.Done {
			s.done = true
			break
		}
	}
	s.text, s.reasoning = text.String(), reasoning.String()
	return s, nil
}

// sseEvents splits an SSE transcript (LF line endings, one data line per
// event, as every transcript is written) into its data payloads.
func sseEvents(b []byte) [][]byte {
	var out [][]byte
	for _, ev := range bytes.Split(b, []byte("\n\n")) {
		for _, line := range bytes.Split(ev, []byte("\n")) {
			if v, ok := bytes.CutPrefix(line, []byte("data:")); ok {
				out = append(out, bytes.TrimPrefix(v, []byte(" ")))
			}
		}
	}
	return out
}

// payloadsOf returns a transcript's payloads, SSE or NDJSON.
func payloadsOf(name string, b []byte) [][]byte {
	if strings.HasSuffix(name, ".sse") {
		return sseEvents(b)
	}
	var out [][]byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if len(bytes.TrimSpace(l)) > 0 {
			out = append(out, l)
		}
	}
	return out
}
