package engine

import (
	"fmt"

	"github.com/valyala/fastjson"
)

// tgiParser reads TGI's native /generate_stream events. The stream has no
// [DONE]: it ends after the event whose generated_text is not null
// (wire-formats.md §2.2), or after an error event.
type tgiParser struct{ p fastjson.Parser }

func (t *tgiParser) Parse(payload []byte, ev *Event) error {
	ev.reset()
	if string(payload) == string(doneSentinel) { // tolerated, never sent
		ev.Done = true
		return nil
	}
	v, err := t.p.ParseBytes(payload)
	if err != nil {
		return fmt.Errorf("invalid JSON in stream event: %w", err)
	}
	if se := serverErrorFrom(v); se != nil {
		ev.Err = se
		ev.Done = true
		return nil
	}
	if tok := v.Get("token"); tok != nil && tok.Type() == fastjson.TypeObject {
		ev.Tokens = 1
		ev.Special = tok.GetBool("special")
		if !ev.Special {
			ev.Text = append(ev.Text, tok.GetStringBytes("text")...)
		}
	}
	if g := v.Get("generated_text"); g != nil && g.Type() != fastjson.TypeNull {
		ev.Done = true
	}
	if d := v.Get("details"); d != nil && d.Type() == fastjson.TypeObject {
		ev.FinishReason = append(ev.FinishReason, d.GetStringBytes("finish_reason")...)
		if d.Exists("generated_tokens") {
			ev.HasUsage = true
			ev.OutputTokens = count(d, "generated_tokens")
			ev.PromptTokens = count(d, "input_length")
		}
	}
	return nil
}
