//go:build e2e && unix

package ollama_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
)

// TestWireMatchesReal sends the same requests to the real Ollama and to the
// simulator and compares what a client reads: status, Content-Type, and
// each event's keys in order with their value types. Values that describe
// the generation (done, done_reason, finish_reason, token counts) must be
// equal too; text, times, ids and durations may differ.
func TestWireMatchesReal(t *testing.T) {
	real, simulated := startBackend(t, "real", 1), startBackend(t, "sim", 1)
	type exchange struct {
		name, method, path string
		body               string
		exact              bool   // the whole body must be equal
		list, key          string // a list of models whose order may differ, and the key naming each
	}
	product := func(api engine.API, model string, maxTokens int) string {
		b, err := engine.Body(engine.Target{Name: "x", Type: engine.EngineOllama, API: api, Model: model}, request(maxTokens))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	var cases []exchange
	for _, ep := range endpoints {
		cases = append(cases,
			exchange{name: ep.name + " tiny", method: "POST", path: ep.api.Path(), body: product(ep.api, "tiny", 8)},
			exchange{name: ep.name + " nosuch", method: "POST", path: ep.api.Path(), body: product(ep.api, "nosuch", 8), exact: true},
		)
	}
	cases = append(cases,
		exchange{name: "v1 completions nosuch", method: "POST", path: "/v1/completions", body: product(engine.APICompletions, "nosuch", 8), exact: true},
		exchange{name: "v1 completions tiny", method: "POST", path: "/v1/completions", body: product(engine.APICompletions, "tiny", 8)},
		exchange{name: "chat without stream", method: "POST", path: "/api/chat", body: `{"model":"tiny","messages":[{"role":"user","content":"hi"}],"stream":false,"options":{"num_predict":8}}`},
		exchange{name: "version", method: "GET", path: "/api/version", exact: true},
		// Ollama lists models newest first by modified_at in whole seconds:
		// two created within a second keep their folder order, otherwise
		// they swap.
		exchange{name: "tags", method: "GET", path: "/api/tags", list: "models", key: "name"},
		exchange{name: "v1 models", method: "GET", path: "/v1/models", list: "data", key: "id"},
	)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want, got := fetch(t, real.url, tc.method, tc.path, tc.body), fetch(t, simulated.url, tc.method, tc.path, tc.body)
			if got.status != want.status || got.contentType != want.contentType {
				t.Errorf("simulator answers %d %q, real Ollama %d %q", got.status, got.contentType, want.status, want.contentType)
			}
			if tc.exact {
				if !bytes.Equal(got.body, want.body) {
					t.Errorf("body differs\n sim: %q\nreal: %q", got.body, want.body)
				}
				return
			}
			if tc.list != "" {
				got.body, want.body = sortList(t, got.body, tc.list, tc.key), sortList(t, want.body, tc.list, tc.key)
			}
			ge, we := events(got), events(want)
			if len(ge) != len(we) {
				t.Errorf("simulator sent %d events, real Ollama %d\n sim: %s\nreal: %s", len(ge), len(we), got.body, want.body)
			}
			for i := range min(len(ge), len(we)) {
				gs, ws := shape(t, ge[i]), shape(t, we[i])
				if gs != ws {
					t.Errorf("event %d differs\n sim: %s\nreal: %s\n sim bytes: %s\nreal bytes: %s", i, gs, ws, ge[i], we[i])
				}
			}
		})
	}

	// Natural stops: lengths differ by design, the shape of the end not.
	for _, ep := range endpoints {
		t.Run(ep.name+" tiny-stop", func(t *testing.T) {
			body := product(ep.api, "tiny-stop", stopMaxTokens)
			ge, we := events(fetch(t, simulated.url, "POST", ep.api.Path(), body)), events(fetch(t, real.url, "POST", ep.api.Path(), body))
			if len(ge) < 3 || len(we) < 3 {
				t.Fatalf("too few events: sim %d, real %d", len(ge), len(we))
			}
			for _, i := range []int{0, 1, -3, -2, -1} {
				g, w := ge[(i+len(ge))%len(ge)], we[(i+len(we))%len(we)]
				gs, ws := shape(t, g), shape(t, w)
				// Counts differ: compare them through eval_count = chunks + 1
				// in TestNaturalStop instead.
				gs, ws = dropCounts(gs), dropCounts(ws)
				if gs != ws {
					t.Errorf("event %d differs\n sim: %s\nreal: %s\n sim bytes: %s\nreal bytes: %s", i, gs, ws, g, w)
				}
			}
		})
	}
}

// sortList orders body's list by key, keeping every other byte.
func sortList(t *testing.T, body []byte, list, key string) []byte {
	t.Helper()
	var outer map[string]json.RawMessage
	if err := json.Unmarshal(body, &outer); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(outer[list], &items); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	name := func(raw json.RawMessage) string {
		var m map[string]any
		_ = json.Unmarshal(raw, &m)
		s, _ := m[key].(string)
		return s
	}
	slices.SortStableFunc(items, func(a, b json.RawMessage) int { return strings.Compare(name(a), name(b)) })
	joined := []byte("[")
	for i, it := range items {
		if i > 0 {
			joined = append(joined, ',')
		}
		joined = append(joined, it...)
	}
	joined = append(joined, ']')
	i := bytes.Index(body, outer[list])
	return append(append(append([]byte(nil), body[:i]...), joined...), body[i+len(outer[list]):]...)
}

type answer struct {
	status      int
	contentType string
	body        []byte
}

func fetch(t *testing.T, base, method, path, body string) answer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header.Get("Content-Type"), b}
}

// events splits an NDJSON or SSE body into its JSON payloads; "[DONE]" is
// kept as is, and a whole JSON body is one event.
func events(a answer) []string {
	var out []string
	if strings.HasPrefix(a.contentType, "text/event-stream") {
		for _, ev := range strings.Split(string(a.body), "\n\n") {
			if ev == "" {
				continue
			}
			out = append(out, ev) // "data: " prefix kept: framing is compared too
		}
		return out
	}
	for _, line := range strings.Split(strings.TrimRight(string(a.body), "\n"), "\n") {
		out = append(out, line)
	}
	if strings.HasSuffix(string(a.body), "\n") && !strings.HasPrefix(a.contentType, "application/x-ndjson") {
		out = append(out, "(trailing newline)")
	}
	return out
}

// valueKeys are compared by value, not only by type.
var valueKeys = map[string]bool{
	"done": true, "done_reason": true, "finish_reason": true, "role": true, "object": true,
	"model": true, "system_fingerprint": true, "owned_by": true, "index": true, "name": true, "id": false,
	"eval_count": true, "prompt_eval_count": true, "prompt_tokens": true, "completion_tokens": true, "total_tokens": true,
	"parent_model": true, "format": true, "family": true,
}

// shape renders a JSON event as its keys in order and value types, with
// the values of valueKeys. A "data: " prefix is kept outside the JSON.
func shape(t *testing.T, ev string) string {
	t.Helper()
	prefix := ""
	if p, rest, ok := strings.Cut(ev, " "); ok && strings.HasSuffix(p, ":") {
		prefix, ev = p+" ", rest
	}
	if ev == "[DONE]" || !strings.HasPrefix(ev, "{") && !strings.HasPrefix(ev, "[") {
		return prefix + ev
	}
	dec := json.NewDecoder(strings.NewReader(ev))
	dec.UseNumber()
	var sb strings.Builder
	sb.WriteString(prefix)
	var walk func(key string) error
	walk = func(key string) error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch v := tok.(type) {
		case json.Delim:
			sb.WriteString(v.String())
			if v == '{' || v == '[' {
				first := true
				for dec.More() {
					if !first {
						sb.WriteByte(',')
					}
					first = false
					k := ""
					if v == '{' {
						kt, err := dec.Token()
						if err != nil {
							return err
						}
						k = kt.(string)
						sb.WriteString(k + ":")
					}
					if err := walk(k); err != nil {
						return err
					}
				}
				end, err := dec.Token()
				if err != nil {
					return err
				}
				sb.WriteString(end.(json.Delim).String())
			}
		case string:
			if valueKeys[key] {
				fmt.Fprintf(&sb, "%q", v)
			} else {
				sb.WriteString("s")
			}
		case json.Number:
			if valueKeys[key] {
				sb.WriteString(v.String())
			} else {
				sb.WriteString("n")
			}
		case bool:
			fmt.Fprint(&sb, v)
		case nil:
			sb.WriteString("null")
		}
		return nil
	}
	if err := walk(""); err != nil {
		t.Fatalf("not JSON: %v: %s", err, ev)
	}
	return sb.String()
}

var contextIDs = regexp.MustCompile(`context:\[[n,]*\]`)

// dropCounts blanks the token counts of a shape, and the length of
// /api/generate's context, which holds the generated tokens.
func dropCounts(s string) string {
	s = contextIDs.ReplaceAllString(s, "context:[n...]")
	for _, k := range []string{"eval_count:", "completion_tokens:", "total_tokens:"} {
		for i := strings.Index(s, k); i >= 0; {
			j := i + len(k)
			e := j
			for e < len(s) && s[e] >= '0' && s[e] <= '9' {
				e++
			}
			s = s[:j] + "n" + s[e:]
			next := strings.Index(s[j:], k)
			if next < 0 {
				break
			}
			i = j + next
		}
	}
	return s
}
