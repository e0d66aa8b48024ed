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

// estimateTokens is the simulator's tokenizer: about four characters a
// token, at least one.
func estimateTokens(chars int) int {
	return max(1, chars/4)
}

// chatTemplateTokens is what a chat template adds per message (role header
// and end-of-turn markers in Llama 3's template).
const chatTemplateTokens = 4

// messageContentChars counts the text of an OpenAI message content, which
// is a string or a list of parts such as {"type":"text","text":"…"}.
func messageContentChars(raw json.RawMessage) int {
	if len(raw) == 0 {
		return 0
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return len(s)
	}
	var parts []struct {
		Text string `json:"text"`
	}
	if json.Unmarshal(raw, &parts) == nil {
		n := 0
		for _, p := range parts {
			n += len(p.Text)
		}
		return n
	}
	return len(raw)
}

func chatPromptTokens(contentChars []int) int {
	total := 0
	for _, c := range contentChars {
		total += c
	}
	return estimateTokens(total) + chatTemplateTokens*len(contentChars)
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
