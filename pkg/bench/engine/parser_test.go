package engine

import (
	"bytes"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// transcriptWant is what each streaming transcript must parse to. The
// numbers were derived from the transcripts by a separate script, not by
// running this code; see wire-formats.md §5 for what each file represents.
type transcriptWant struct {
	name        string
	payloads    int // payloads read up to and including the stopping one
	tokenEvents int // events carrying text or reasoning
	// ttft is the payload index that stops the TTFT clock. vLLM's role-only
	// first chunk is never it; TGI's and Ollama's first delta is.
	ttft     int
	roleOnly int // role-bearing events with nothing generated
	finish   string
	usage    bool
	prompt   int
	output   int
	tokens   int // TGI /generate_stream: one per token event
	done     bool
	text     string
	errIndex int
	errMsg   string
	errType  string
	errCode  int
	timings  *OllamaTimings
}

var transcriptWants = []transcriptWant{
	{name: "ollama-chat-error-midstream.ndjson", payloads: 4, tokenEvents: 3, ttft: 0, roleOnly: 0, finish: "", done: true, text: "That's", errIndex: 3, errMsg: "an error was encountered while running the model", errType: ""},
	{name: "ollama-chat-length.ndjson", payloads: 5, tokenEvents: 4, ttft: 0, roleOnly: 1, finish: "length", usage: true, prompt: 11, output: 4, done: true, text: "That's a", timings: &OllamaTimings{TotalNS: 98311212, LoadNS: 21003511, PromptEvalCount: 11, PromptEvalNS: 12544100, EvalCount: 4, EvalNS: 40211908, DoneReason: "length"}},
	{name: "ollama-chat.ndjson", payloads: 8, tokenEvents: 7, ttft: 0, roleOnly: 1, finish: "stop", usage: true, prompt: 11, output: 7, done: true, text: "That's a fantastic question!", timings: &OllamaTimings{TotalNS: 174560334, LoadNS: 101397084, PromptEvalCount: 11, PromptEvalNS: 13074791, EvalCount: 7, EvalNS: 52479709, DoneReason: "stop"}},
	{name: "ollama-generate.ndjson", payloads: 8, tokenEvents: 7, ttft: 0, roleOnly: 0, finish: "stop", usage: true, prompt: 11, output: 7, done: true, text: "That's a fantastic question!", timings: &OllamaTimings{TotalNS: 174560334, LoadNS: 101397084, PromptEvalCount: 11, PromptEvalNS: 13074791, EvalCount: 7, EvalNS: 52479709, DoneReason: "stop"}},
	{name: "ollama-openai-chat-stream-legacy.sse", payloads: 10, tokenEvents: 7, ttft: 0, roleOnly: 1, finish: "stop", usage: true, prompt: 11, output: 7, done: true, text: "That's a fantastic question!"},
	{name: "ollama-openai-chat-stream.sse", payloads: 10, tokenEvents: 7, ttft: 0, roleOnly: 0, finish: "stop", usage: true, prompt: 11, output: 7, done: true, text: "That's a fantastic question!"},
	{name: "real-ollama-0.11.4-chat.ndjson", payloads: 65, tokenEvents: 64, ttft: 0, roleOnly: 1, finish: "length", usage: true, prompt: 4, output: 64, done: true, text: "HEmqY$%1S\"sbSvU[8EOjBGBvgHmpgEsEN}gH[jauAEnVsTBH.j`VjsSHT-FM1Y D", timings: &OllamaTimings{TotalNS: 292431519, LoadNS: 273675046, PromptEvalCount: 4, PromptEvalNS: 602727, EvalCount: 64, EvalNS: 17410730, DoneReason: "length"}},
	{name: "real-ollama-0.11.4-generate.ndjson", payloads: 65, tokenEvents: 64, ttft: 0, roleOnly: 0, finish: "length", usage: true, prompt: 4, output: 64, done: true, text: "VQH#koj%Ema_fOfSSDL)/ERbSAPgSQ\"$@:H%Wjh(je-S@VEU]EvuY.gSSvMjsT{3", timings: &OllamaTimings{TotalNS: 16341480, LoadNS: 925477, PromptEvalCount: 4, PromptEvalNS: 420906, EvalCount: 64, EvalNS: 14590335, DoneReason: "length"}},
	{name: "real-ollama-0.11.4-openai-chat-stream-usage.sse", payloads: 19, tokenEvents: 16, ttft: 0, roleOnly: 1, finish: "length", usage: true, prompt: 4, output: 16, done: true, text: "gSO+E$TB,f@A$$.1"},
	{name: "real-ollama-0.11.4-openai-chat-stream.sse", payloads: 66, tokenEvents: 64, ttft: 0, roleOnly: 1, finish: "length", done: true, text: "_VqS@)gX\\8DG{Pj$VAH,ao{j+eg$sbB<E{sSv07S$fTs1bjuNH:5l6LEb{gmEkvu"},
	{name: "real-ollama-0.11.4-openai-completions-stream.sse", payloads: 18, tokenEvents: 16, ttft: 0, roleOnly: 0, finish: "length", done: true, text: "68VS,TzEEk:HEO%["},
	{name: "real-ollama-0.24.0-chat-stop.ndjson", payloads: 26, tokenEvents: 25, ttft: 0, roleOnly: 1, finish: "stop", usage: true, prompt: 4, output: 26, done: true, text: "TwbA8DEH.$\"YV[$kSVPF1W/$)", timings: &OllamaTimings{TotalNS: 288034647, LoadNS: 283108439, PromptEvalCount: 4, PromptEvalNS: 544460, EvalCount: 26, EvalNS: 3198199, DoneReason: "stop"}},
	{name: "real-ollama-0.24.0-chat.ndjson", payloads: 65, tokenEvents: 64, ttft: 0, roleOnly: 1, finish: "length", usage: true, prompt: 4, output: 64, done: true, text: "AWwOU9OD@GQEmVyjYvY6B,f.bf#V+SSM81owH4,L){%y3g<s}5fCj.sHP<$sg{J8", timings: &OllamaTimings{TotalNS: 293641358, LoadNS: 280261123, PromptEvalCount: 4, PromptEvalNS: 514215, EvalCount: 64, EvalNS: 10132739, DoneReason: "length"}},
	{name: "real-ollama-0.24.0-generate.ndjson", payloads: 65, tokenEvents: 64, ttft: 0, roleOnly: 0, finish: "length", usage: true, prompt: 4, output: 64, done: true, text: "%H6FjV@EREjB]$ES,6Hm7vD{sD{8{X,/Q@ojS8TBHAEQCa5:S1Ym[ ODgjs.gEkw", timings: &OllamaTimings{TotalNS: 13392333, LoadNS: 1135274, PromptEvalCount: 4, PromptEvalNS: 193017, EvalCount: 64, EvalNS: 10224141, DoneReason: "length"}},
	{name: "real-ollama-0.24.0-openai-chat-stream-stop.sse", payloads: 5, tokenEvents: 2, ttft: 0, roleOnly: 1, finish: "stop", usage: true, prompt: 4, output: 3, done: true, text: "SD"},
	{name: "real-ollama-0.24.0-openai-chat-stream-usage.sse", payloads: 19, tokenEvents: 16, ttft: 0, roleOnly: 1, finish: "length", usage: true, prompt: 4, output: 16, done: true, text: "S6j[Vs]LXja*{R@8"},
	{name: "real-ollama-0.24.0-openai-chat-stream.sse", payloads: 66, tokenEvents: 64, ttft: 0, roleOnly: 1, finish: "length", done: true, text: ")@LCjjOUsVAY5w@E8bgDGQfbgSu[,${{o+S6%ejT2HSg:a_$J{gW@}\\QEYBD PSp"},
	{name: "real-ollama-0.24.0-openai-completions-stream.sse", payloads: 18, tokenEvents: 16, ttft: 0, roleOnly: 0, finish: "length", done: true, text: "5$px-oRmAEYgVXPH"},
	{name: "tgi-chat-stream-error.sse", payloads: 1, tokenEvents: 0, ttft: -1, roleOnly: 0, finish: "", done: false, text: "", errIndex: 0, errMsg: "Input validation error: `inputs` tokens + `max_new_tokens` must be <= 8192. Given: 8000 `inputs` tokens and 512 `max_new_tokens`", errType: "", errCode: 422},
	{name: "tgi-chat-stream-length.sse", payloads: 9, tokenEvents: 8, ttft: 0, roleOnly: 0, finish: "length", done: true, text: "Hello! How can I help you today"},
	{name: "tgi-chat-stream.sse", payloads: 5, tokenEvents: 2, ttft: 0, roleOnly: 1, finish: "stop", usage: true, prompt: 39, output: 3, done: true, text: "OK!"},
	{name: "tgi-completions-stream.sse", payloads: 9, tokenEvents: 8, ttft: 0, roleOnly: 0, finish: "length", usage: true, prompt: 6, output: 8, done: true, text: " Paris, the capital of France, is"},
	{name: "tgi-generate-stream-axum06.sse", payloads: 10, tokenEvents: 10, ttft: 0, roleOnly: 0, finish: "length", usage: true, prompt: 3, output: 10, tokens: 10, done: true, text: " for /api/v1/projects/1"},
	{name: "tgi-generate-stream-error-midstream.sse", payloads: 4, tokenEvents: 3, ttft: 0, roleOnly: 0, finish: "", tokens: 3, done: true, text: " for /api", errIndex: 3, errMsg: "Request failed during generation: Server error: CUDA out of memory", errType: "generation"},
	{name: "tgi-generate-stream-error-overloaded.sse", payloads: 1, tokenEvents: 0, ttft: -1, roleOnly: 0, finish: "", done: true, text: "", errIndex: 0, errMsg: "Model is overloaded", errType: "overloaded"},
	{name: "tgi-generate-stream-error-validation.sse", payloads: 1, tokenEvents: 0, ttft: -1, roleOnly: 0, finish: "", done: true, text: "", errIndex: 0, errMsg: "Input validation error: `inputs` tokens + `max_new_tokens` must be <= 8192. Given: 8000 `inputs` tokens and 512 `max_new_tokens`", errType: "validation"},
	{name: "tgi-generate-stream.sse", payloads: 10, tokenEvents: 10, ttft: 0, roleOnly: 0, finish: "length", usage: true, prompt: 3, output: 10, tokens: 10, done: true, text: " for /api/v1/projects/1"},
	{name: "vllm-chat-stream-continuous-usage.sse", payloads: 11, tokenEvents: 8, ttft: 1, roleOnly: 1, finish: "length", usage: true, prompt: 41, output: 8, done: true, text: "Hello! How can I help you today"},
	{name: "vllm-chat-stream-error.sse", payloads: 4, tokenEvents: 2, ttft: 1, roleOnly: 1, finish: "", done: false, text: "Hello!", errIndex: 3, errMsg: "Internal server error while generating (example)", errType: "BadRequestError", errCode: 400},
	{name: "vllm-chat-stream.sse", payloads: 11, tokenEvents: 8, ttft: 1, roleOnly: 1, finish: "length", usage: true, prompt: 41, output: 8, done: true, text: "Hello! How can I help you today"},
	{name: "vllm-completions-stream.sse", payloads: 10, tokenEvents: 8, ttft: 0, roleOnly: 0, finish: "length", usage: true, prompt: 7, output: 8, done: true, text: " Paris, the capital of France, is"},
}

func wantFor(name string) (transcriptWant, bool) {
	for _, w := range transcriptWants {
		if w.name == name {
			return w, true
		}
	}
	return transcriptWant{}, false
}

func checkSummary(t *testing.T, w transcriptWant, got streamSummary) {
	t.Helper()
	if got.payloads != w.payloads {
		t.Errorf("payloads = %d, want %d", got.payloads, w.payloads)
	}
	if got.tokenEvents != w.tokenEvents {
		t.Errorf("token-bearing events = %d, want %d", got.tokenEvents, w.tokenEvents)
	}
	if got.ttftIndex != w.ttft {
		t.Errorf("TTFT event index = %d, want %d", got.ttftIndex, w.ttft)
	}
	if got.roleOnly != w.roleOnly {
		t.Errorf("role-only events = %d, want %d", got.roleOnly, w.roleOnly)
	}
	if got.finish != w.finish {
		t.Errorf("finish reason = %q, want %q", got.finish, w.finish)
	}
	if got.hasUsage != w.usage || got.prompt != w.prompt || got.output != w.output {
		t.Errorf("usage = %v prompt=%d output=%d, want %v prompt=%d output=%d",
			got.hasUsage, got.prompt, got.output, w.usage, w.prompt, w.output)
	}
	if got.tokens != w.tokens {
		t.Errorf("Event.Tokens sum = %d, want %d", got.tokens, w.tokens)
	}
	if got.done != w.done {
		t.Errorf("done = %v, want %v", got.done, w.done)
	}
	if got.text != w.text {
		t.Errorf("text = %q, want %q", got.text, w.text)
	}
	if got.reasoning != "" {
		t.Errorf("reasoning = %q, want none", got.reasoning)
	}
	if w.errMsg == "" {
		if got.err != nil {
			t.Errorf("unexpected server error %v at payload %d", got.err, got.errIndex)
		}
	} else {
		switch {
		case got.err == nil:
			t.Errorf("no server error; want %q at payload %d", w.errMsg, w.errIndex)
		default:
			if got.errIndex != w.errIndex {
				t.Errorf("error at payload %d, want %d", got.errIndex, w.errIndex)
			}
			if got.err.Message != w.errMsg || got.err.Type != w.errType || got.err.Code != w.errCode {
				t.Errorf("error = %+v, want message %q type %q code %d", *got.err, w.errMsg, w.errType, w.errCode)
			}
		}
	}
	if !reflect.DeepEqual(got.ollama, w.timings) {
		t.Errorf("ollama timings = %+v, want %+v", got.ollama, w.timings)
	}
}

// TestParseTranscripts replays every streaming transcript, and variants of
// it that are legal on the wire, through the real frameReader and parser.
func TestParseTranscripts(t *testing.T) {
	names := streamingTranscripts(t)
	if len(names) != len(transcriptWants) {
		t.Errorf("%d streaming transcripts on disk, %d expectations: add the new ones to transcriptWants", len(names), len(transcriptWants))
	}
	for _, name := range names {
		w, ok := wantFor(name)
		if !ok {
			t.Errorf("no expectation for transcript %s", name)
			continue
		}
		raw := transcript(t, name)
		api := apiFor(name)
		for _, v := range variants(name, raw) {
			for _, rd := range readers {
				t.Run(name+"/"+v.name+"/"+rd.name, func(t *testing.T) {
					got, err := replay(rd.wrap(v.data), api)
					if err != nil {
						t.Fatalf("replay: %v", err)
					}
					checkSummary(t, w, got)
				})
			}
		}
	}
}

// TestFrameSplitEveryBoundary cuts each transcript (LF and CRLF) into two
// reads at every byte offset: the payloads must not depend on where the
// network split the stream, including between \r and \n.
func TestFrameSplitEveryBoundary(t *testing.T) {
	for _, name := range streamingTranscripts(t) {
		raw := shorten(name, transcript(t, name))
		sse := strings.HasSuffix(name, ".sse")
		want := payloadsOf(name, raw)
		inputs := map[string][]byte{"lf": raw}
		if sse {
			inputs["crlf"] = encodeSSE(sseEvents(raw), sseOpts{eol: "\r\n"})
		} else {
			inputs["crlf"] = encodeNDJSON(want, "\r\n", false)
		}
		for enc, data := range inputs {
			for k := 1; k < len(data); k++ {
				got, err := framesSmall(&splitReader{b: data, k: k}, sse)
				if err != nil {
					t.Fatalf("%s/%s split at %d: %v", name, enc, k, err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("%s/%s split at %d: got %d payloads, want %d; first diff %s", name, enc, k, len(got), len(want), firstDiff(got, want))
				}
			}
		}
	}
}

// TestParseTGIAxum06 pins the no-space framing of TGI <= 2.0 explicitly:
// the payloads must be identical to the axum 0.7 transcript's.
func TestParseTGIAxum06(t *testing.T) {
	old := transcript(t, "tgi-generate-stream-axum06.sse")
	cur := transcript(t, "tgi-generate-stream.sse")
	if !bytes.Contains(old, []byte("\ndata:{")) || bytes.Contains(old, []byte("data: ")) {
		t.Fatal("axum06 transcript no longer has the no-space framing this test is about")
	}
	a, err := frames(bytes.NewReader(old), true)
	if err != nil {
		t.Fatal(err)
	}
	b, err := frames(bytes.NewReader(cur), true)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("axum 0.6 payloads differ from axum 0.7's: %s", firstDiff(a, b))
	}
}

// TestParseErrorBody reads every error body transcript.
func TestParseErrorBody(t *testing.T) {
	const ctxLen = "This model's maximum context length is 8192 tokens. However, you requested 9100 tokens (8900 in the messages, 200 in the completion). Please reduce the length of the messages or completion."
	const tgiValidation = "Input validation error: `inputs` tokens + `max_new_tokens` must be <= 8192. Given: 8000 `inputs` tokens and 512 `max_new_tokens`"
	tests := []struct {
		file string
		want ServerError
		str  string
	}{
		{"vllm-error-400.json", ServerError{ctxLen, "BadRequestError", 400}, "BadRequestError: " + ctxLen},
		{"vllm-error-400-legacy.json", ServerError{ctxLen, "BadRequestError", 400}, "BadRequestError: " + ctxLen},
		{"vllm-error-404-model.json", ServerError{"The model `gpt-4o` does not exist.", "NotFoundError", 404}, ""},
		{"tgi-error-422.json", ServerError{tgiValidation, "validation", 0}, "validation: " + tgiValidation},
		{"tgi-error-429.json", ServerError{"Model is overloaded", "overloaded", 0}, "overloaded: Model is overloaded"},
		{"tgi-health-503.json", ServerError{"unhealthy", "healthcheck", 0}, "healthcheck: unhealthy"},
		{"ollama-error-404.json", ServerError{"model 'llama9' not found", "", 0}, "model 'llama9' not found"},
		{"ollama-error-503-busy.json", ServerError{"server busy, please try again.  maximum pending requests exceeded", "", 0}, ""},
		{"ollama-openai-error-404.json", ServerError{"model 'llama9' not found", "not_found_error", 0}, "not_found_error: model 'llama9' not found"},
		{"real-ollama-0.11.4-error-404.json", ServerError{`model "nosuch" not found, try pulling it first`, "", 0}, ""},
		{"real-ollama-0.11.4-openai-error-404.json", ServerError{`model "nosuch" not found, try pulling it first`, "api_error", 0}, ""},
		{"real-ollama-0.24.0-error-404.json", ServerError{"model 'nosuch' not found", "", 0}, ""},
		{"real-ollama-0.24.0-openai-error-404.json", ServerError{"model 'nosuch' not found", "not_found_error", 0}, ""},
	}
	covered := map[string]bool{}
	for _, tc := range tests {
		covered[tc.file] = true
		t.Run(tc.file, func(t *testing.T) {
			got := ParseErrorBody(transcript(t, tc.file))
			if *got != tc.want {
				t.Errorf("ParseErrorBody = %+v, want %+v", *got, tc.want)
			}
			if tc.str != "" && got.Error() != tc.str {
				t.Errorf("Error() = %q, want %q", got.Error(), tc.str)
			}
		})
	}
	// Every error body on disk must be in the table.
	files, _ := filepath.Glob(filepath.Join(transcriptDir, "*error*.json"))
	for _, f := range files {
		if !covered[filepath.Base(f)] {
			t.Errorf("error body %s is not covered", filepath.Base(f))
		}
	}
}

func TestParseErrorBodyNotJSON(t *testing.T) {
	long := strings.Repeat("x", 600)
	tests := []struct {
		name, body string
		want       ServerError
	}{
		{"gin 404", "404 page not found", ServerError{Message: "404 page not found"}},
		{"vllm empty 500", "", ServerError{}},
		{"json without error", `{"detail":"nope"}`, ServerError{Message: `{"detail":"nope"}`}},
		{"error null", `{"error":null}`, ServerError{Message: `{"error":null}`}},
		{"error number", `{"error":42}`, ServerError{Message: "42"}},
		{"error object without message", `{"error":{"code":500}}`, ServerError{Message: `{"code":500}`, Code: 500}},
		{"long text is cut", long, ServerError{Message: long[:512] + "…"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ParseErrorBody([]byte(tc.body)); *got != tc.want {
				t.Errorf("ParseErrorBody(%.40q) = %+v, want %+v", tc.body, *got, tc.want)
			}
		})
	}
}
