package load

import (
	"context"
	"strings"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

// Exchange is one turn of a conversation with one engine: what the user
// said, what the engine answered (untrusted text), and the request's
// record, timed like any benchmark request.
type Exchange struct {
	User   string
	Answer string
	Record engine.Record
	// Context is how many messages the request carried (system prompt and
	// history included).
	Context int
}

// Conversation lays out the user turns of a story: its turns as written,
// or, with retention, n turns where the first also plants the story's
// fact and the last asks for it back.
func Conversation(s workload.Story, n int, retention bool) []string {
	if !retention {
		return append([]string(nil), s.Turns...)
	}
	if n < 2 {
		n = 2
	}
	turns := make([]string, 0, n)
	for i := range n - 1 {
		t := strings.TrimSpace(s.Turns[i%len(s.Turns)])
		if i == 0 && s.Fact != "" {
			t = strings.TrimSpace(s.Fact) + "\n\n" + t
		}
		turns = append(turns, t)
	}
	return append(turns, strings.TrimSpace(s.Recall))
}

// History is one engine's side of a conversation so far, as messages to
// send back with the next turn.
func History(exchanges []Exchange) []engine.Message {
	var msgs []engine.Message
	for _, e := range exchanges {
		msgs = append(msgs, engine.Message{Role: "user", Content: strings.TrimSpace(e.User)})
		msgs = append(msgs, engine.Message{Role: "assistant", Content: e.Answer})
	}
	return msgs
}

// Say sends the next turn of a story to one engine, with the engine's own
// earlier answers as context, and returns the exchange. onText, if set,
// sees the answer as it streams.
func Say(ctx context.Context, c *engine.Client, s workload.Story, history []Exchange, user string, onText func(at time.Duration, text string)) Exchange {
	var answer strings.Builder
	client := *c
	client.Watch = &engine.Watch{Text: func(at time.Duration, text string) {
		answer.WriteString(text)
		if onText != nil {
			onText(at, text)
		}
	}}
	req := s.Request(History(history), user)
	rec := engine.Record{Engine: c.Target.Name, EngineType: c.Target.Type, API: c.Target.API, Model: c.Target.Model,
		Phase: engine.PhaseMeasure, RequestID: int64(len(history) + 1)}
	client.Do(ctx, req, time.Now(), &rec)
	return Exchange{User: user, Answer: answer.String(), Record: rec, Context: len(req.Messages)}
}
