package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
)

// transcriptsDir is shared/reference/transcripts beside the repository
// checkout (/work/main next to /work/shared here and in CI).
const transcriptsDir = "../../../../shared/reference/transcripts"

func readTranscript(t *testing.T, name string) []byte {
	t.Helper()
	if _, err := os.Stat(transcriptsDir); err != nil {
		t.Skipf("transcripts not found at %s (shared/ is expected beside the checkout): %v", transcriptsDir, err)
	}
	b, err := os.ReadFile(filepath.Join(transcriptsDir, name))
	if err != nil {
		t.Fatalf("reading transcript: %v", err)
	}
	return b
}

// fastOptions keeps default profiles but runs them 100 times faster.
func fastOptions() Options {
	return Options{Seed: 7, TimeScale: 0.01}
}

// startSim serves every engine on loopback for the length of the test.
func startSim(t *testing.T, opts Options) (*Server, map[engine.EngineType]string) {
	t.Helper()
	s := New(opts)
	urls, err := s.StartAll(t.Context(), "127.0.0.1")
	if err != nil {
		t.Fatalf("StartAll: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, urls
}

// profilesWith returns the default profiles with one engine's replaced by
// what edit makes of it.
func profilesWith(kind engine.EngineType, edit func(*Profile)) map[engine.EngineType]Profile {
	ps := DefaultProfiles()
	p := ps[kind]
	edit(&p)
	ps[kind] = p
	return ps
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func do(t *testing.T, method, url, body string) response {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading %s: %v", url, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func post(t *testing.T, url, body string) response { return do(t, http.MethodPost, url, body) }

// sseEvents splits a body that must consist only of `data: <payload>\n\n`
// events, and checks that every JSON payload is compact.
func sseEvents(body []byte) ([]string, error) {
	var events []string
	rest := body
	for len(rest) > 0 {
		end := bytes.Index(rest, []byte("\n\n"))
		if end < 0 {
			return nil, fmt.Errorf("event %d does not end with a blank line: %q", len(events), rest)
		}
		ev := rest[:end]
		rest = rest[end+2:]
		payload, ok := bytes.CutPrefix(ev, []byte("data: "))
		if !ok {
			return nil, fmt.Errorf("event %d does not start with %q: %q", len(events), "data: ", ev)
		}
		if bytes.ContainsRune(payload, '\n') {
			return nil, fmt.Errorf("event %d spans lines: %q", len(events), ev)
		}
		if err := checkCompact(payload); err != nil && string(payload) != "[DONE]" {
			return nil, fmt.Errorf("event %d: %w", len(events), err)
		}
		events = append(events, string(payload))
	}
	return events, nil
}

// ndjsonLines splits a body of compact JSON objects, each ending in "\n".
func ndjsonLines(body []byte) ([]string, error) {
	if len(body) == 0 || body[len(body)-1] != '\n' {
		return nil, fmt.Errorf("body does not end with a newline: %q", body)
	}
	var lines []string
	for _, l := range bytes.Split(body[:len(body)-1], []byte("\n")) {
		if err := checkCompact(l); err != nil {
			return nil, fmt.Errorf("line %d: %w", len(lines), err)
		}
		lines = append(lines, string(l))
	}
	return lines, nil
}

func checkCompact(b []byte) error {
	var c bytes.Buffer
	if err := json.Compact(&c, b); err != nil {
		return fmt.Errorf("invalid JSON %q: %w", b, err)
	}
	if !bytes.Equal(c.Bytes(), b) {
		return fmt.Errorf("JSON is not compact: %q", b)
	}
	return nil
}

// shape lists, in document order, every key path with the kind of its
// value: ".choices[].delta.content:string". Arrays contribute their first
// element only, and whether they are empty. Two bodies with equal shapes
// have the same keys in the same order, the same nulls and the same types.
func shape(data []byte) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var out []string
	var walk func(path string, record bool) error
	walk = func(path string, record bool) error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		add := func(kind string) {
			if record {
				out = append(out, path+":"+kind)
			}
		}
		switch v := tok.(type) {
		case json.Delim:
			if v == '{' {
				add("object")
				for dec.More() {
					k, err := dec.Token()
					if err != nil {
						return err
					}
					if err := walk(path+"."+k.(string), record); err != nil {
						return err
					}
				}
			} else {
				if !dec.More() {
					add("array(empty)")
				} else {
					add("array")
				}
				for first := true; dec.More(); first = false {
					if err := walk(path+"[]", record && first); err != nil {
						return err
					}
				}
			}
			_, err := dec.Token() // the closing delimiter
			return err
		case string:
			add("string")
		case json.Number:
			if strings.ContainsAny(v.String(), ".eE") {
				add("float")
			} else {
				add("int")
			}
		case bool:
			add("bool")
		case nil:
			add("null")
		}
		return nil
	}
	if err := walk("", true); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("trailing data after the JSON value")
	}
	return out, nil
}

func mustShape(t *testing.T, what string, data string) []string {
	t.Helper()
	s, err := shape([]byte(data))
	if err != nil {
		t.Fatalf("%s: %v in %q", what, err, data)
	}
	return s
}

// sameShape fails the test when got and want differ in shape.
func sameShape(t *testing.T, what, got, want string) {
	t.Helper()
	g, w := mustShape(t, what+" (simulator)", got), mustShape(t, what+" (transcript)", want)
	if strings.Join(g, "\n") != strings.Join(w, "\n") {
		t.Errorf("%s: shape differs\n got: %s\nwant: %s\n got body: %s\nwant body: %s", what, g, w, got, want)
	}
}
