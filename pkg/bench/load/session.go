package load

import (
	"strings"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
)

// converse is one closed-loop user holding conversations of Turns turns:
// each turn sends the whole history so far (the engine's own answers
// included) with a new user message, after the think time, as a chat user
// does; the context, and with it the prefill, grows turn by turn. A failed
// turn ends its conversation: there is no answer to carry on from.
func (sr *scenarioRun) converse(u int, measureStart, end time.Time) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var answer strings.Builder
	client := *sr.client
	client.Watch = &engine.Watch{Text: func(_ time.Duration, text string) { answer.WriteString(text) }}
	intended := time.Now()
	for !sr.stopped() {
		conv := sr.shard.Global(sr.conversations.Add(1)-1) + 1
		var history []engine.Message
		var followUps []string
		for turn := 1; turn <= sr.s.Turns && !sr.stopped(); turn++ {
			phase, ok := sr.admit(intended, measureStart, end)
			if !ok {
				return
			}
			rec := sr.newRecord(phase, sr.user(u))
			rec.Conversation, rec.Turn = conv, turn
			req := sr.request(rec)
			if turn == 1 {
				if i := rec.PromptIndex; i < len(sr.r.FollowUps) {
					followUps = sr.r.FollowUps[i]
				}
			} else {
				req = continued(history, req, followUps, turn)
			}
			answer.Reset()
			sr.sendOn(&client, rec, req, intended)
			intended = time.Now().Add(sr.s.ThinkTime)
			if !rec.OK {
				break
			}
			// A copy: turn 1's messages are the shared template's.
			history = append(append([]engine.Message(nil), req.Messages...), engine.Message{Role: "assistant", Content: answer.String()})
			if !sleepUntil(sr.stop, timer, intended) {
				return
			}
		}
	}
}

// continued is turn's request: the history, then this turn's user message
// (the conversation's own next turn when it has one, else the template's
// user turn). The context is the engine's own account: a shaped length
// no longer covers it, so none is claimed.
func continued(history []engine.Message, req engine.Request, followUps []string, turn int) engine.Request {
	msgs := append([]engine.Message(nil), history...)
	if k := turn - 2; k < len(followUps) {
		msgs = append(msgs, engine.Message{Role: "user", Content: followUps[k]})
	} else {
		for _, m := range req.Messages {
			if m.Role != "system" {
				msgs = append(msgs, m)
			}
		}
	}
	req.Messages, req.PromptTokens = msgs, 0
	return req
}
