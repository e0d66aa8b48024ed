package sim

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
)

// A count from the engine's /tokenize is the prompt_tokens the same text
// is billed when sent: the calibration of exact-length prompts rests on it.
func TestTokenizeCountsWhatUsageBills(t *testing.T) {
	_, urls := startSim(t, fastOptions())
	hc := engine.NewHTTPClient(engine.HTTPOptions{})
	text := strings.Repeat("Kubernetes schedules pods onto nodes; ", 37)
	for _, typ := range []engine.EngineType{engine.EngineVLLM, engine.EngineTGI} {
		tgt := engine.Target{Name: string(typ), Type: typ, API: engine.APICompletions, BaseURL: urls[typ]}
		info, err := engine.Probe(context.Background(), hc, tgt)
		if err != nil {
			t.Fatal(err)
		}
		if tgt.Model, err = engine.ResolveModel(tgt, info); err != nil {
			t.Fatal(err)
		}
		n, err := engine.CountTokens(context.Background(), hc, tgt, text)
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		c := &engine.Client{HTTP: hc, Target: tgt, Timeout: 10 * time.Second, Clock: engine.NewClock()}
		var rec engine.Record
		// A completions prompt gets no chat template, as /tokenize's prompt.
		c.Do(context.Background(), engine.Request{Messages: []engine.Message{{Role: "user", Content: text}}, MaxTokens: 2}, time.Now(), &rec)
		if !rec.OK || rec.PromptTokens != n || n < 100 {
			t.Errorf("%s: /tokenize says %d, the request was billed %d prompt tokens (ok %v %s)", typ, n, rec.PromptTokens, rec.OK, rec.Error)
		}
	}
	ollama := engine.Target{Name: "ollama", Type: engine.EngineOllama, BaseURL: urls[engine.EngineOllama]}
	if _, err := engine.CountTokens(context.Background(), hc, ollama, text); !errors.Is(err, engine.ErrNoTokenizer) {
		t.Errorf("ollama: %v, want ErrNoTokenizer", err)
	}
}

// The wire shapes: vLLM's count, max_model_len and ids; TGI's list of
// tokens whose offsets cover the text.
func TestTokenizeWireShapes(t *testing.T) {
	_, urls := startSim(t, fastOptions())
	r := post(t, urls[engine.EngineVLLM]+"/tokenize", `{"model":"m","prompt":"Hello there, how are you?"}`)
	var v struct {
		Count       int   `json:"count"`
		MaxModelLen int   `json:"max_model_len"`
		Tokens      []int `json:"tokens"`
	}
	if r.status != http.StatusOK || json.Unmarshal(r.body, &v) != nil || v.Count != len(v.Tokens) || v.Count == 0 || v.MaxModelLen == 0 {
		t.Errorf("vllm /tokenize %d: %s", r.status, r.body)
	}
	text := "Hello there, how are you today?"
	r = post(t, urls[engine.EngineTGI]+"/tokenize", `{"inputs":"`+text+`"}`)
	var toks []struct {
		ID          int    `json:"id"`
		Text        string `json:"text"`
		Start, Stop int
	}
	if r.status != http.StatusOK || json.Unmarshal(r.body, &toks) != nil || len(toks) == 0 {
		t.Fatalf("tgi /tokenize %d: %s", r.status, r.body)
	}
	var joined strings.Builder
	for i, tk := range toks {
		joined.WriteString(tk.Text)
		if i > 0 && tk.Start != toks[i-1].Stop {
			t.Errorf("token %d starts at %d, the previous stopped at %d", i, tk.Start, toks[i-1].Stop)
		}
	}
	if joined.String() != text || toks[len(toks)-1].Stop != len(text) {
		t.Errorf("tokens cover %q, want %q", joined.String(), text)
	}
	if r := post(t, urls[engine.EngineTGI]+"/tokenize", `{"text":"x"}`); r.status != http.StatusUnprocessableEntity {
		t.Errorf("tgi /tokenize without inputs: %d", r.status)
	}
}

// The simulator's tokenizer splits into pieces first and never merges
// across them, like the byte-level BPEs it stands in for: a text's count
// is the sum of its words' counts, which is what exact-length prompts are
// assembled from.
func TestTextTokensArePiecewise(t *testing.T) {
	for text, want := range map[string]int{
		"": 0, " the": 1, " window": 2, ".": 1, "Summarize:": 4, " 2048": 2, "  \n": 1, " héllo": 2,
		"Summarize: the window.": 4 + 1 + 2 + 1,
	} {
		if got := textTokens(text); got != want {
			t.Errorf("textTokens(%q) = %d, want %d", text, got, want)
		}
	}
	words := strings.Fields("the quick careful operator measured every latency twice")
	whole, sum := "Go", textTokens("Go")
	for _, w := range words {
		whole += " " + w
		sum += textTokens(" " + w)
	}
	if got := textTokens(whole + "."); got != sum+1 {
		t.Errorf("%q: %d tokens, its pieces add up to %d", whole+".", got, sum+1)
	}
}
