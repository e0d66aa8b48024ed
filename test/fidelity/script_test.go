//go:build fidelity

package fidelity

import (
	"fmt"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
)

// event is one framed payload of a stream, as the engine writes it.
type event struct {
	b       []byte
	content bool          // carries generated text: a TTFT/ITL event
	at      time.Duration // when the server emits it, after receiving the request
}

// write is one write + flush of the server; marks is how many content
// events it completes (their last byte is in it).
type write struct {
	b     []byte
	at    time.Duration
	marks int
}

// protocol is one engine dialect: how its stream looks, event by event.
type protocol struct {
	name  string
	typ   engine.EngineType
	api   engine.API
	ctype string
	sse   bool
	// events for n content tokens: the first at first, then every gap.
	events func(n int, first, gap time.Duration) []event
}

var protocols = []protocol{
	{
		name: "vllm sse", typ: engine.EngineVLLM, api: engine.APIChat, ctype: "text/event-stream", sse: true,
		events: func(n int, first, gap time.Duration) []event {
			// vLLM's role-only first chunk goes out at once: it must never
			// stop the TTFT clock.
			evs := []event{{b: []byte("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n")}}
			for i := range n {
				fin := "null"
				if i == n-1 {
					fin = `"length"`
				}
				evs = append(evs, event{b: fmt.Appendf(nil, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" t%d\"},\"logprobs\":null,\"finish_reason\":%s}]}\n\n", i, fin), content: true, at: first + time.Duration(i)*gap})
			}
			end := first + time.Duration(n-1)*gap + gap/2
			return append(evs,
				event{b: fmt.Appendf(nil, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"total_tokens\":%d,\"completion_tokens\":%d}}\n\n", 5+n, n), at: end},
				event{b: []byte("data: [DONE]\n\n"), at: end})
		},
	},
	{
		name: "tgi generate_stream", typ: engine.EngineTGI, api: engine.APIGenerateStream, ctype: "text/event-stream", sse: true,
		events: func(n int, first, gap time.Duration) []event {
			var evs []event
			for i := range n {
				tail := `"generated_text":null,"details":null`
				if i == n-1 {
					tail = fmt.Sprintf(`"generated_text":"t","details":{"finish_reason":"length","generated_tokens":%d,"seed":null,"input_length":3}`, n)
				}
				evs = append(evs, event{b: fmt.Appendf(nil, "data:{\"index\":%d,\"token\":{\"id\":%d,\"text\":\" t\",\"logprob\":-1.0,\"special\":false},%s}\n\n", i+1, 100+i, tail), content: true, at: first + time.Duration(i)*gap})
			}
			return evs
		},
	},
	{
		name: "ollama ndjson", typ: engine.EngineOllama, api: engine.APIOllamaChat, ctype: "application/x-ndjson",
		events: func(n int, first, gap time.Duration) []event {
			var evs []event
			for i := range n {
				evs = append(evs, event{b: fmt.Appendf(nil, "{\"model\":\"m\",\"created_at\":\"2026-12-05T10:00:00.000000000Z\",\"message\":{\"role\":\"assistant\",\"content\":\" t%d\"},\"done\":false}\n", i), content: true, at: first + time.Duration(i)*gap})
			}
			end := first + time.Duration(n-1)*gap + gap/2
			return append(evs, event{b: fmt.Appendf(nil, "{\"model\":\"m\",\"created_at\":\"2026-12-05T10:00:00.1Z\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done\":true,\"done_reason\":\"length\",\"total_duration\":1000000,\"prompt_eval_count\":3,\"eval_count\":%d,\"eval_duration\":900000}\n", n), at: end})
		},
	},
}

// framing turns a protocol's events into the server's writes.
type framing struct {
	name  string
	apply func(p protocol, evs []event) []write
	// headersWithFirst holds the response headers back until the first
	// write and sends them in its segment, as Ollama does: the first
	// event then arrives in the read that net/http makes for the headers.
	headersWithFirst bool
}

// splitDelay is how long the second half of a split event waits.
const splitDelay = 300 * time.Microsecond

func oneEventAWrite(_ protocol, evs []event) []write {
	var ws []write
	for _, e := range evs {
		ws = append(ws, write{b: e.b, at: e.at, marks: marks(e)})
	}
	return ws
}

var framings = []framing{
	{name: "one event a write", apply: oneEventAWrite},
	{name: "headers with the first event", apply: oneEventAWrite, headersWithFirst: true},
	{name: "split mid-JSON", apply: func(_ protocol, evs []event) []write {
		// The event is complete only with its second half: that write is
		// its arrival, not the first.
		var ws []write
		for _, e := range evs {
			if !e.content {
				ws = append(ws, write{b: e.b, at: e.at})
				continue
			}
			h := len(e.b) / 2
			ws = append(ws, write{b: e.b[:h], at: e.at}, write{b: e.b[h:], at: e.at + splitDelay, marks: 1})
		}
		return ws
	}},
	{name: "two tokens a write", apply: func(_ protocol, evs []event) []write {
		// Several events in one read arrived together, whatever order
		// they are parsed in: both are stamped with that read.
		var ws []write
		for i := 0; i < len(evs); i++ {
			e := evs[i]
			if e.content && i+1 < len(evs) && evs[i+1].content {
				n := evs[i+1]
				ws = append(ws, write{b: append(append([]byte(nil), e.b...), n.b...), at: n.at, marks: 2})
				i++
				continue
			}
			ws = append(ws, write{b: e.b, at: e.at, marks: marks(e)})
		}
		return ws
	}},
	{name: "keep-alives and blank lines", apply: func(p protocol, evs []event) []write {
		// SSE comments (TGI's keep-alive) and, for NDJSON, an empty first
		// line and blank lines between objects carry nothing: they must
		// neither start the TTFT clock nor count as tokens.
		filler := []byte(": keep-alive\n\n")
		if !p.sse {
			filler = []byte("\n")
		}
		ws := []write{{b: filler}}
		var prev time.Duration
		for _, e := range evs {
			if e.at > prev {
				ws = append(ws, write{b: filler, at: prev + (e.at-prev)/2})
			}
			ws = append(ws, write{b: e.b, at: e.at, marks: marks(e)})
			prev = e.at
		}
		return ws
	}},
}

func marks(e event) int {
	if e.content {
		return 1
	}
	return 0
}
