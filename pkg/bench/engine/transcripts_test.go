package engine

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

// transcriptDir is where the shared wire transcripts live: the repository
// and shared/ are checked out side by side (locally and in CI).
const transcriptDir = "../../../../shared/reference/transcripts"

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

type variant struct {
	name string
	data []byte
}

// variants are re-encodings of a transcript that a correct client must read
// identically: framing details servers and proxies legitimately differ on.
func variants(name string, raw []byte) []variant {
	vs := []variant{{"raw", raw}}
	if strings.HasSuffix(name, ".sse") {
		ev := sseEvents(raw)
		vs = append(vs,
			variant{"crlf", encodeSSE(ev, sseOpts{eol: "\r\n"})},
			variant{"no-space", encodeSSE(ev, sseOpts{prefix: "data:"})},
			variant{"comments", encodeSSE(ev, sseOpts{comments: true})},
			variant{"multiline", encodeSSE(ev, sseOpts{multiline: true})},
			variant{"multiline-crlf-comments", encodeSSE(ev, sseOpts{multiline: true, eol: "\r\n", comments: true})},
			variant{"no-final-blank", bytes.TrimSuffix(raw, []byte("\n"))},
			variant{"no-final-newline", bytes.TrimRight(raw, "\n")},
			variant{"crlf-no-final-newline", bytes.TrimRight(encodeSSE(ev, sseOpts{eol: "\r\n"}), "\r\n")},
		)
		return vs
	}
	lines := payloadsOf(name, raw)
	vs = append(vs,
		variant{"crlf", encodeNDJSON(lines, "\r\n", false)},
		variant{"blank-lines", encodeNDJSON(lines, "\n", true)},
		variant{"no-final-newline", bytes.TrimRight(raw, "\n")},
		variant{"crlf-no-final-newline", bytes.TrimRight(encodeNDJSON(lines, "\r\n", false), "\r\n")},
	)
	return vs
}

type sseOpts struct {
	eol       string // line ending, "\n" by default
	prefix    string // "data: " by default
	comments  bool   // keep-alive comments, event:/id:/retry: fields, comment-only events
	multiline bool   // split each JSON payload over several data: lines
}

func encodeSSE(payloads [][]byte, o sseOpts) []byte {
	if o.eol == "" {
		o.eol = "\n"
	}
	if o.prefix == "" {
		o.prefix = "data: "
	}
	var b bytes.Buffer
	if o.comments {
		b.WriteString(":" + o.eol + o.eol) // TGI's keep-alive, an event with no data
		b.WriteString("retry: 3000" + o.eol + o.eol)
	}
	for i, p := range payloads {
		if o.comments {
			fmt.Fprintf(&b, ": ping %d%sevent: message%sid: %d%s", i, o.eol, o.eol, i, o.eol)
		}
		parts := [][]byte{p}
		if o.multiline {
			parts = splitJSON(p)
		}
		for j, part := range parts {
			if o.comments && j == 1 {
				b.WriteString(": inside an event" + o.eol)
			}
			b.WriteString(o.prefix)
			b.Write(part)
			b.WriteString(o.eol)
		}
		b.WriteString(o.eol)
	}
	return b.Bytes()
}

// splitJSON cuts a JSON text after each comma outside strings. SSE joins a
// multi-line data field with "\n", which JSON reads as whitespace, so the
// payload means the same.
func splitJSON(p []byte) [][]byte {
	var parts [][]byte
	inStr, esc, from := false, false, 0
	for i, c := range p {
		switch {
		case esc:
			esc = false
		case inStr && c == '\\':
			esc = true
		case c == '"':
			inStr = !inStr
		case !inStr && c == ',':
			parts = append(parts, p[from:i+1])
			from = i + 1
		}
	}
	return append(parts, p[from:])
}

func encodeNDJSON(lines [][]byte, eol string, blanks bool) []byte {
	var b bytes.Buffer
	for _, l := range lines {
		if blanks {
			b.WriteString(eol + "  \t" + eol)
		}
		b.Write(l)
		b.WriteString(eol)
	}
	return b.Bytes()
}

type readerKind struct {
	name string
	wrap func([]byte) io.Reader
}

// readers deliver the same bytes in differently sized reads, as TCP does.
var readers = []readerKind{
	{"whole", func(b []byte) io.Reader { return bytes.NewReader(b) }},
	{"one-byte", func(b []byte) io.Reader { return iotest.OneByteReader(bytes.NewReader(b)) }},
	{"random-small", func(b []byte) io.Reader {
		return &choppyReader{b: b, rnd: rand.New(rand.NewSource(int64(len(b)))), max: 13}
	}},
	{"data-err", func(b []byte) io.Reader { return iotest.DataErrReader(bytes.NewReader(b)) }},
}

// choppyReader returns 1..max bytes per Read.
type choppyReader struct {
	b   []byte
	rnd *rand.Rand
	max int
}

func (c *choppyReader) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	n := 1 + c.rnd.Intn(c.max)
	n = min(n, len(p), len(c.b))
	copy(p, c.b[:n])
	c.b = c.b[n:]
	return n, nil
}

// splitReader returns the bytes in exactly two reads, cut at k.
type splitReader struct {
	b []byte
	k int
}

func (s *splitReader) Read(p []byte) (int, error) {
	if len(s.b) == 0 {
		return 0, io.EOF
	}
	n := len(s.b)
	if s.k > 0 {
		n, s.k = s.k, 0
	}
	n = copy(p, s.b[:n])
	s.b = s.b[n:]
	return n, nil
}

// frames returns every payload the frameReader yields, copied.
func frames(r io.Reader, sse bool) ([][]byte, error) {
	return framesBuf(newFrameReader(r, sse))
}

// framesSmall starts the frameReader with a tiny buffer so that growing and
// compacting it are exercised on every transcript.
func framesSmall(r io.Reader, sse bool) ([][]byte, error) {
	return framesBuf(&frameReader{r: r, sse: sse, buf: make([]byte, 16)})
}

func framesBuf(fr *frameReader) ([][]byte, error) {
	var out [][]byte
	for {
		p, _, err := fr.next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, append([]byte{}, p...))
	}
}

// shorten keeps the first three and last three events of a long transcript:
// the middle of the real 64-token captures repeats the same shape, and the
// test's cost grows with the square of the length.
func shorten(name string, raw []byte) []byte { return keepEnds(name, raw, 3) }

// keepEnds keeps the first n and last n events of a transcript.
func keepEnds(name string, raw []byte, n int) []byte {
	sep := []byte("\n")
	if strings.HasSuffix(name, ".sse") {
		sep = []byte("\n\n")
	}
	segs := bytes.SplitAfter(raw, sep)
	if len(segs) <= 2*n+2 {
		return raw
	}
	// SplitAfter leaves an empty last element after the final separator.
	keep := append(append([][]byte{}, segs[:n]...), segs[len(segs)-n-1:]...)
	return bytes.Join(keep, nil)
}

func firstDiff(got, want [][]byte) string {
	for i := range min(len(got), len(want)) {
		if !bytes.Equal(got[i], want[i]) {
			return fmt.Sprintf("at %d: %q vs %q", i, got[i], want[i])
		}
	}
	return "in length"
}
