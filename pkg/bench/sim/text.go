package sim

import (
	"encoding/json"
	"math/rand/v2"
	"strconv"
	"strings"
)

// word is one simulated token. Texts are plain ASCII without quotes,
// backslashes or <>&, so every engine's JSON encoder would write them
// verbatim and they can be appended between quotes without escaping.
type word struct {
	text    string
	id      int    // TGI token id
	logprob string // TGI logprob, as serde_json prints an f32
	special bool   // EOS: hidden from generated text
}

var vocab = func() []word {
	texts := []string{
		" the", " model", " token", " server", " latency", " batch", " of", " and",
		" to", " a", " in", " is", " that", " for", " with", " request",
		" stream", " first", " time", " each", " GPU", " cache", " prompt", " output",
		" throughput", " queue", " decode", " prefill", " scheduler", " kernel", " memory", " layer",
		",", ".", " it", " can", " will", " more", " when", " per",
		" second", " user", " load", " fast", " slow", " under", " than", " this",
	}
	ws := make([]word, len(texts))
	for i, t := range texts {
		// Fixed, plausible-looking ids and log-probabilities; only their
		// types and formats matter to a client.
		lp := strconv.FormatFloat(float64(float32(-0.01-float64((i*7919)%400)/100)), 'f', -1, 32)
		if !strings.Contains(lp, ".") {
			lp += ".0" // serde_json prints whole floats as -1.0
		}
		ws[i] = word{text: t, id: 279 + (i*7727)%30000, logprob: lp}
	}
	return ws
}()

// eosWord is Llama 3's end-of-turn token as TGI streams it: special, kept
// out of generated_text. The OpenAI-style APIs show it as empty content.
var eosWord = word{text: "<|eot_id|>", id: 128009, logprob: "-0.0009765625", special: true}

// textTokens is the simulator's tokenizer. Like the byte-level BPE of
// real models it first splits text into pieces (a run of letters, digits
// or other marks, each with the space before it, or a run of spaces) and
// never merges across pieces, so a text's count is the sum of its pieces'
// counts; each piece is about four bytes a token. Prompts shaped to an
// exact token length (#15) are built from counted pieces the same way
// against the real tokenizers.
func textTokens(s string) int {
	n := 0
	eachToken(s, func(int, int) { n++ })
	return n
}

// eachToken calls fn with the byte offsets of each of s's tokens.
func eachToken(s string, fn func(start, stop int)) {
	for at := 0; at < len(s); {
		k := pieceLen(s[at:])
		t := (k + 3) / 4
		for i := range t {
			fn(at+i*k/t, at+(i+1)*k/t)
		}
		at += k
	}
}

// pieceLen is the length in bytes of the piece s starts with.
func pieceLen(s string) int {
	i := 0
	if s[0] == ' ' && len(s) > 1 && !isSpace(s[1]) {
		i = 1 // a word takes the space before it
	}
	if isSpace(s[i]) {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		return i
	}
	class := byteClass(s[i])
	for i < len(s) && !isSpace(s[i]) && byteClass(s[i]) == class {
		i++
	}
	return i
}

func isSpace(b byte) bool { return b == ' ' || b == '\n' || b == '\t' || b == '\r' }

// byteClass: 0 letters (and every non-ASCII byte, so UTF-8 is never
// split inside a character), 1 digits, 2 other marks.
func byteClass(b byte) int {
	switch {
	case b >= '0' && b <= '9':
		return 1
	case b >= 0x80 || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z':
		return 0
	}
	return 2
}

// chatTemplateTokens is what a chat template adds per message (role header
// and end-of-turn markers in Llama 3's template).
const chatTemplateTokens = 4

// messageContentText is the text of an OpenAI message content, which is a
// string or a list of parts such as {"type":"text","text":"…"}.
func messageContentText(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct {
		Text string `json:"text"`
	}
	if json.Unmarshal(raw, &parts) == nil {
		var b strings.Builder
		for _, p := range parts {
			b.WriteString(p.Text)
		}
		return b.String()
	}
	return string(raw)
}

// chatPromptTokens counts a chat's messages with the template around each.
func chatPromptTokens(contents []string) int {
	total := 0
	for _, c := range contents {
		total += textTokens(c)
	}
	return max(1, total) + chatTemplateTokens*len(contents)
}

// randomHex returns n lower-case hex digits, like vLLM's request ids.
func randomHex(rng *rand.Rand, n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[rng.IntN(16)]
	}
	return string(b)
}
