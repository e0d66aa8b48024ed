package engine

import (
	"github.com/valyala/fastjson"
)

// Parser turns one payload of a stream into an Event. A Parser is used by
// one stream at a time and reuses its memory between calls, which is what
// keeps parsing under a microsecond and allocation-free per chunk.
type Parser interface {
	Parse(payload []byte, ev *Event) error
}

// NewParser returns the parser for an API and whether its framing is SSE
// (true) or NDJSON (false).
func NewParser(api API) (Parser, bool) {
	switch api {
	case APIGenerateStream:
		return &tgiParser{}, true
	case APIOllamaChat, APIOllamaGenerate:
		return &ollamaParser{}, false
	default:
		return &openAIParser{}, true
	}
}

var doneSentinel = []byte("[DONE]")

// count reads a token count. Counts are never negative; a server (or a
// corrupted stream) that says otherwise gets 0 rather than a negative
// number poisoning sums downstream.
func count(v *fastjson.Value, keys ...string) int {
	if n := v.GetInt(keys...); n > 0 {
		return n
	}
	return 0
}

// serverErrorFrom reads an error in any of the shapes in wire-formats.md:
// {"error":{"message","type","code"}} (vLLM >= 0.10.1, OpenAI, Ollama /v1),
// {"error":{"message","http_status_code"}} (TGI /v1 in-stream),
// {"object":"error","message","type","code"} (vLLM <= 0.10.0),
// {"error":"…","error_type":"…"} (TGI native), {"error":"…"} (Ollama native).
// It returns nil when v is not an error.
func serverErrorFrom(v *fastjson.Value) *ServerError {
	if e := v.Get("error"); e != nil && e.Type() != fastjson.TypeNull {
		switch e.Type() {
		case fastjson.TypeString:
			return &ServerError{Message: string(e.GetStringBytes()), Type: string(v.GetStringBytes("error_type"))}
		case fastjson.TypeObject:
			se := &ServerError{Message: string(e.GetStringBytes("message")), Type: string(e.GetStringBytes("type"))}
			se.Code = e.GetInt("code")
			if se.Code == 0 {
				se.Code = e.GetInt("http_status_code")
			}
			if se.Message == "" {
				se.Message = string(e.MarshalTo(nil))
			}
			return se
		default:
			return &ServerError{Message: string(e.MarshalTo(nil))}
		}
	}
	if string(v.GetStringBytes("object")) == "error" {
		return &ServerError{Message: string(v.GetStringBytes("message")), Type: string(v.GetStringBytes("type")), Code: v.GetInt("code")}
	}
	return nil
}

// ParseErrorBody reads a non-2xx response body. Bodies that are not JSON
// (vLLM's empty 500, gin's "404 page not found") become their text.
func ParseErrorBody(body []byte) *ServerError {
	var p fastjson.Parser
	if v, err := p.ParseBytes(body); err == nil {
		if se := serverErrorFrom(v); se != nil {
			return se
		}
	}
	msg := string(body)
	if len(msg) > 512 {
		msg = msg[:512] + "…"
	}
	return &ServerError{Message: msg}
}
