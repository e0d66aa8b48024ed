package engine

import (
	"fmt"

	"github.com/valyala/fastjson"
)

// openAIParser reads the OpenAI-compatible SSE chunks of vLLM, TGI's
// Messages API, Ollama's /v1 and any OpenAI-style server, for both
// chat.completion.chunk (delta) and text_completion (text) objects.
type openAIParser struct{ p fastjson.Parser }

func (o *openAIParser) Parse(payload []byte, ev *Event) error {
	ev.reset()
	if string(payload) == string(doneSentinel) {
		ev.Done = true
		return nil
	}
	v, err := o.p.ParseBytes(payload)
	if err != nil {
		return fmt.Errorf("invalid JSON in stream event: %w", err)
	}
	if se := serverErrorFrom(v); se != nil {
		ev.Err = se
		return nil
	}
	if u := v.Get("usage"); u != nil && u.Type() == fastjson.TypeObject {
		ev.HasUsage = true
		ev.PromptTokens = count(u, "prompt_tokens")
		ev.OutputTokens = count(u, "completion_tokens")
		if d := u.Get("prompt_tokens_details"); d != nil && d.Type() == fastjson.TypeObject {
			ev.HasCached, ev.CachedTokens = true, count(d, "cached_tokens")
		}
	}
	choices := v.GetArray("choices")
	if len(choices) == 0 {
		return nil // usage-only chunk (choices: [])
	}
	c := choices[0]
	if d := c.Get("delta"); d != nil {
		ev.Text = append(ev.Text, d.GetStringBytes("content")...)
		// vLLM names it reasoning_content; newer servers (and vLLM >= 0.10
		// with some parsers) use reasoning, and some versions send both with
		// the same text, so take one.
		r := d.GetStringBytes("reasoning_content")
		if len(r) == 0 {
			r = d.GetStringBytes("reasoning")
		}
		ev.Reasoning = append(ev.Reasoning, r...)
		ev.Role = d.Exists("role")
		// Tool calls are generated output too; count them as text so TTFT
		// is not missed for tool-calling responses.
		if tc := d.Get("tool_calls"); tc != nil && tc.Type() == fastjson.TypeArray && len(ev.Text) == 0 {
			ev.Text = append(ev.Text, '\x00')
		}
	} else {
		ev.Text = append(ev.Text, c.GetStringBytes("text")...)
	}
	// TGI /v1/completions writes "" where others write null.
	ev.FinishReason = append(ev.FinishReason, c.GetStringBytes("finish_reason")...)
	return nil
}
