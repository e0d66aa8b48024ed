package engine

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// Fuzz targets for every parser of network bytes. Seeds are the transcript
// payloads plus hand-made edge cases. Run one with, for example:
//
//	go test ./pkg/bench/engine -run '^$' -fuzz FuzzOpenAIParser -fuzztime 30s

func FuzzOpenAIParser(f *testing.F) {
	fuzzParser(f, APIChat, func(name string) bool { a := apiFor(name); return a == APIChat || a == APICompletions },
		`[DONE]`, `{}`, `null`, `[]`, `{"choices":null}`, `{"choices":[null]}`, `{"choices":[{"delta":null}]}`,
		`{"choices":[{"delta":{"reasoning_content":"r","reasoning":"r"}}]}`,
		`{"choices":[{"delta":{"tool_calls":[{"index":0}]}}]}`,
		`{"choices":[],"usage":{"prompt_tokens":-3,"completion_tokens":-5}}`,
		`{"choices":[],"usage":{"completion_tokens":1e400}}`,
		`{"error":{"message":"m","http_status_code":422}}`, `{"error": "x"}`, `{"object":"error","message":"m"}`,
		`{"choices":[{"text":"\u00e9\ud83d\ude00","finish_reason":""}]}`)
}

func FuzzTGIParser(f *testing.F) {
	fuzzParser(f, APIGenerateStream, func(name string) bool { return apiFor(name) == APIGenerateStream },
		`[DONE]`, `{"token":null}`, `{"token":{"text":"a","special":true}}`, `{"generated_text":""}`,
		`{"details":{"generated_tokens":-1,"input_length":-2}}`, `{"details":{"finish_reason":7}}`,
		`{"error":"Model is overloaded","error_type":"overloaded"}`)
}

func FuzzOllamaParser(f *testing.F) {
	fuzzParser(f, APIOllamaChat, func(name string) bool { return strings.HasSuffix(name, ".ndjson") },
		`{"done":true}`, `{"done":true,"eval_count":-1,"total_duration":-5}`, `{"message":{"thinking":"t"}}`,
		`{"message":null,"response":"r"}`, `{"error":"boom"}`, `{"error":{"message":"m"}}`, `{"done":"true"}`)
}

// fuzzParser checks, for any payload: no panic; the payload is left as it
// was; counts are never negative; an error event carries nothing else; and
// parsing is a function of the payload alone (memory reused from an earlier
// call never leaks into the next event).
func fuzzParser(f *testing.F, api API, use func(string) bool, extra ...string) {
	for _, name := range streamingTranscripts(f) {
		if !use(name) {
			continue
		}
		for _, p := range payloadsOf(name, shorten(name, transcript(f, name))) {
			f.Add(p)
		}
	}
	for _, s := range extra {
		f.Add([]byte(s))
	}
	other := []byte(`{"choices":[{"delta":{"role":"assistant","content":"zz","reasoning":"q"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":9},"token":{"text":"zz"},"details":{"generated_tokens":9,"finish_reason":"x"},"done":true,"eval_count":9,"message":{"content":"zz","thinking":"q"}}`)
	f.Fuzz(func(t *testing.T, payload []byte) {
		p, _ := NewParser(api)
		orig := bytes.Clone(payload)
		var ev Event
		err := p.Parse(payload, &ev)
		if !bytes.Equal(payload, orig) {
			t.Fatalf("Parse modified its input")
		}
		if err != nil {
			return
		}
		checkEvent(t, api, &ev)
		first := snapshot(&ev)
		// Same parser, same Event, after an unrelated payload.
		_ = p.Parse(other, &ev)
		if err := p.Parse(payload, &ev); err != nil {
			t.Fatalf("second parse failed: %v", err)
		}
		if again := snapshot(&ev); again != first {
			t.Fatalf("parse depends on history:\nfirst  %s\nagain  %s", first, again)
		}
	})
}

func checkEvent(t *testing.T, api API, ev *Event) {
	t.Helper()
	if ev.PromptTokens < 0 || ev.OutputTokens < 0 || ev.Tokens < 0 {
		t.Fatalf("negative count: %+v", ev)
	}
	if !ev.HasUsage && (ev.PromptTokens != 0 || ev.OutputTokens != 0) {
		t.Fatalf("token counts without usage: %+v", ev)
	}
	if ev.Tokens > 1 || (api != APIGenerateStream && ev.Tokens != 0) {
		t.Fatalf("Tokens = %d", ev.Tokens)
	}
	if ev.Err != nil {
		if len(ev.Text) > 0 || len(ev.Reasoning) > 0 || ev.HasUsage || ev.Ollama != nil {
			t.Fatalf("error event carries more: %+v", ev)
		}
		if api != APIChat && api != APICompletions && !ev.Done {
			t.Fatalf("%s error event does not end the stream", api)
		}
	}
	if ev.Special && len(ev.Text) > 0 {
		t.Fatalf("special token has text %q", ev.Text)
	}
	if o := ev.Ollama; o != nil {
		if !ev.Done || o.EvalCount != ev.OutputTokens || o.PromptEvalCount != ev.PromptTokens {
			t.Fatalf("ollama timings inconsistent with the event: %+v %+v", ev, o)
		}
		if o.TotalNS < 0 || o.LoadNS < 0 || o.PromptEvalNS < 0 || o.EvalNS < 0 {
			t.Fatalf("negative duration: %+v", o)
		}
	}
}

func snapshot(ev *Event) string {
	s := fmt.Sprintf("text=%q reasoning=%q role=%v tokens=%d finish=%q usage=%v/%d/%d done=%v special=%v",
		ev.Text, ev.Reasoning, ev.Role, ev.Tokens, ev.FinishReason, ev.HasUsage, ev.PromptTokens, ev.OutputTokens, ev.Done, ev.Special)
	if ev.Err != nil {
		s += fmt.Sprintf(" err=%+v", *ev.Err)
	}
	if ev.Ollama != nil {
		s += fmt.Sprintf(" ollama=%+v", *ev.Ollama)
	}
	return s
}

// chunkReader returns n bytes per Read.
type chunkReader struct {
	b []byte
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.b[:min(c.n, len(c.b))])
	c.b = c.b[n:]
	return n, nil
}

// FuzzFrameReader: framing must not depend on how reads split the bytes,
// and never invents bytes.
func FuzzFrameReader(f *testing.F) {
	for _, name := range streamingTranscripts(f) {
		// Small seeds: the fuzzer minimises every new input, and that costs
		// time in proportion to its length.
		raw := keepEnds(name, transcript(f, name), 1)
		f.Add(raw, strings.HasSuffix(name, ".sse"), uint8(len(raw)%7))
	}
	for _, s := range []string{"data: a\r\n\r\n", "data:a\rdata: b\n\n", ":\n\ndata\n\n", "data: a\ndata: b\n", "\r\r\n\n", "{}\r"} {
		f.Add([]byte(s), true, uint8(1))
		f.Add([]byte(s), false, uint8(2))
	}
	f.Fuzz(func(t *testing.T, data []byte, sse bool, chunk uint8) {
		whole, err := frames(bytes.NewReader(data), sse)
		if err != nil {
			t.Fatalf("whole: %v", err)
		}
		split, err := framesSmall(&chunkReader{b: data, n: int(chunk%32) + 1}, sse)
		if err != nil {
			t.Fatalf("split: %v", err)
		}
		if len(whole) != len(split) {
			t.Fatalf("%d payloads read whole, %d read in %d-byte pieces", len(whole), len(split), chunk%32+1)
		}
		total := 0
		for i := range whole {
			if !bytes.Equal(whole[i], split[i]) {
				t.Fatalf("payload %d: %q whole, %q in pieces", i, whole[i], split[i])
			}
			total += len(whole[i])
			if !sse && (bytes.IndexByte(whole[i], '\n') >= 0 || len(bytes.TrimSpace(whole[i])) == 0) {
				t.Fatalf("NDJSON payload %q", whole[i])
			}
		}
		if total > len(data) {
			t.Fatalf("payloads hold %d bytes, the input %d", total, len(data))
		}
		if len(whole) > bytes.Count(data, []byte("\n"))+1 {
			t.Fatalf("%d payloads from %d lines", len(whole), bytes.Count(data, []byte("\n"))+1)
		}
	})
}

// FuzzClientStream runs Client.readStream, the timer itself, over arbitrary
// bodies for every API and checks the Record it fills is coherent.
func FuzzClientStream(f *testing.F) {
	for _, name := range streamingTranscripts(f) {
		api := apiFor(name)
		for i, a := range APIs {
			if a == api {
				f.Add(keepEnds(name, transcript(f, name), 2), uint8(i))
			}
		}
	}
	f.Add([]byte("data: [DONE]\n\ndata: garbage\n\n"), uint8(0))
	f.Add([]byte("{\"done\":true}\n{garbage\n"), uint8(3))
	f.Fuzz(func(t *testing.T, body []byte, which uint8) {
		api := APIs[int(which)%len(APIs)]
		c := &Client{Target: Target{Name: "f", Type: EngineVLLM, API: api}, Clock: NewClock()}
		var rec Record
		ctx := context.Background()
		start := time.Now()
		rec.HTTPStatus = 200
		c.readStream(ctx, ctx, bytes.NewReader(body), nil, start, &rec)
		checkRecord(t, &rec)
	})
}

// checkRecord holds for every record Client.Do fills.
func checkRecord(t *testing.T, rec *Record) {
	t.Helper()
	if rec.OK != (rec.ErrorClass == "") {
		t.Fatalf("OK=%v with error class %q (%s)", rec.OK, rec.ErrorClass, rec.Error)
	}
	if rec.OK && (rec.TTFTMS == nil || rec.E2EMS == nil || *rec.TTFTMS > *rec.E2EMS) {
		t.Fatalf("ok record without a sane TTFT/E2E: ttft=%v e2e=%v", rec.TTFTMS, rec.E2EMS)
	}
	if !rec.OK && rec.Error == "" {
		t.Fatalf("failed record without an error message (%s)", rec.ErrorClass)
	}
	if rec.OutputTokens < 0 || rec.PromptTokens < 0 || rec.Chunks < 0 {
		t.Fatalf("negative counts: out=%d prompt=%d chunks=%d", rec.OutputTokens, rec.PromptTokens, rec.Chunks)
	}
	if rec.OutputTokensSource == "" && rec.HTTPStatus/100 == 2 {
		t.Fatal("a stream was read but output_tokens_source is empty")
	}
	if len(rec.ChunkOffsetMS) != rec.Chunks {
		t.Fatalf("%d chunk offsets for %d chunks", len(rec.ChunkOffsetMS), rec.Chunks)
	}
	if rec.Chunks > 0 && len(rec.ITLMS) != rec.Chunks-1 {
		t.Fatalf("%d ITL gaps for %d chunks", len(rec.ITLMS), rec.Chunks)
	}
	if (rec.TTFTMS != nil) != (rec.Chunks > 0) {
		t.Fatalf("TTFT %v with %d chunks", rec.TTFTMS, rec.Chunks)
	}
	for _, g := range rec.ITLMS {
		if g < 0 {
			t.Fatalf("negative ITL %v", g)
		}
	}
	for i := 1; i < len(rec.ChunkOffsetMS); i++ {
		if rec.ChunkOffsetMS[i] < rec.ChunkOffsetMS[i-1] {
			t.Fatalf("chunk offsets go backwards: %v", rec.ChunkOffsetMS)
		}
	}
	if rec.TTFTContentMS != nil && *rec.TTFTContentMS < *rec.TTFTMS {
		t.Fatalf("content TTFT %v before TTFT %v", *rec.TTFTContentMS, *rec.TTFTMS)
	}
}
