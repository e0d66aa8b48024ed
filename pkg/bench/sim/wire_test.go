package sim

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestAppendStringMatchesEncodingJSON holds the Go-style escaper to
// encoding/json's own output, which is what Ollama writes.
func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range appendStringSeeds {
		want, _ := json.Marshal(s)
		if got := appendString(nil, s, true); !bytes.Equal(got, want) {
			t.Errorf("appendString(%q, go) = %s, want %s", s, got, want)
		}
	}
}

var appendStringSeeds = []string{
	"", "plain", `quote " and \ backslash`, "tab\tnew\nline\r", "\b\f\x00\x1f\x7f",
	"<html>&amp;", "é 中文 🙂", "\u2028\u2029", "bad \xff utf8", "\xe2\x82",
}

// TestAppendStringPythonStyle checks that non-Go engines keep <>& and
// non-ASCII as they are while still producing valid JSON.
func TestAppendStringPythonStyle(t *testing.T) {
	got := string(appendString(nil, "<a href=\"x\">é</a>\n", false))
	if want := `"<a href=\"x\">é</a>\n"`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range appendStringSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendString(nil, s, true); !bytes.Equal(got, want) {
			t.Fatalf("go style: %s, want %s", got, want)
		}
		if !utf8.ValidString(s) {
			return // Python and Rust strings are always valid UTF-8
		}
		var back string
		if err := json.Unmarshal(appendString(nil, s, false), &back); err != nil {
			t.Fatalf("python style is not valid JSON: %v", err)
		}
		if back != s {
			t.Fatalf("python style round trip: %q, want %q", back, s)
		}
	})
}

func TestVocabularyNeedsNoEscaping(t *testing.T) {
	// Only vLLM and TGI emit the EOS token, and their encoders leave <> alone.
	if got := string(appendString(nil, eosWord.text, false)); got != `"`+eosWord.text+`"` {
		t.Errorf("EOS %q needs escaping: %s", eosWord.text, got)
	}
	for _, w := range append(vocab, eosWord) {
		if got := string(appendString(nil, w.text, true)); got != `"`+w.text+`"` && !w.special {
			t.Errorf("word %q needs escaping: %s", w.text, got)
		}
		if !strings.Contains(w.logprob, ".") {
			t.Errorf("logprob %q of %q is not written as a float", w.logprob, w.text)
		}
	}
}

func TestShapeSeesDifferences(t *testing.T) {
	pairs := [][2]string{
		{`{"a":1,"b":null}`, `{"b":null,"a":1}`},
		{`{"a":1}`, `{"a":1.5}`},
		{`{"a":null}`, `{"a":"x"}`},
		{`{"c":[]}`, `{"c":[1]}`},
		{`{"c":[{"x":1}]}`, `{"c":[{"y":1}]}`},
		{`{"a":{}}`, `{"a":{"b":true}}`},
	}
	for _, p := range pairs {
		a, errA := shape([]byte(p[0]))
		b, errB := shape([]byte(p[1]))
		if errA != nil || errB != nil {
			t.Fatalf("shape: %v %v", errA, errB)
		}
		if strings.Join(a, ",") == strings.Join(b, ",") {
			t.Errorf("%s and %s have the same shape %v", p[0], p[1], a)
		}
	}
	if _, err := shape([]byte(`{"a":1}{}`)); err == nil {
		t.Error("trailing data was accepted")
	}
}
