package engine

import (
	"fmt"

	"github.com/valyala/fastjson"
)

// ollamaParser reads Ollama's native NDJSON from /api/chat and /api/generate.
// The final object (done:true) carries the server's counts and timings in
// nanoseconds, each omitted when zero (wire-formats.md §3.2).
type ollamaParser struct{ p fastjson.Parser }

func (o *ollamaParser) Parse(payload []byte, ev *Event) error {
	ev.reset()
	v, err := o.p.ParseBytes(payload)
	if err != nil {
		return fmt.Errorf("invalid JSON in stream line: %w", err)
	}
	if se := serverErrorFrom(v); se != nil {
		ev.Err = se
		ev.Done = true
		return nil
	}
	if m := v.Get("message"); m != nil && m.Type() == fastjson.TypeObject {
		ev.Text = append(ev.Text, m.GetStringBytes("content")...)
		ev.Reasoning = append(ev.Reasoning, m.GetStringBytes("thinking")...)
		ev.Role = m.Exists("role")
	} else {
		ev.Text = append(ev.Text, v.GetStringBytes("response")...)
		ev.Reasoning = append(ev.Reasoning, v.GetStringBytes("thinking")...)
	}
	if v.GetBool("done") {
		ev.Done = true
		ev.FinishReason = append(ev.FinishReason, v.GetStringBytes("done_reason")...)
		ev.HasUsage = true
		ev.PromptTokens = count(v, "prompt_eval_count")
		ev.OutputTokens = count(v, "eval_count")
		ev.Ollama = &OllamaTimings{
			TotalNS:         nanos(v, "total_duration"),
			LoadNS:          nanos(v, "load_duration"),
			PromptEvalCount: ev.PromptTokens,
			PromptEvalNS:    nanos(v, "prompt_eval_duration"),
			EvalCount:       ev.OutputTokens,
			EvalNS:          nanos(v, "eval_duration"),
			DoneReason:      string(ev.FinishReason),
		}
	}
	return nil
}

// nanos reads a duration field; absent (Ollama omits zeros) and negative
// values are 0.
func nanos(v *fastjson.Value, key string) int64 {
	if n := v.GetInt64(key); n > 0 {
		return n
	}
	return 0
}
