package engine

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"sort"
	"testing"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/stats"
)

// accProto is one wire protocol for the accuracy test: how to write the
// head (before the first token), each token, and the tail.
type accProto struct {
	name  string
	typ   EngineType
	api   API
	head  string
	token func(i int, last bool) string
	tail  []string // written after the last token, one write each; the last ends the stream
}

var accProtos = []accProto{
	{
		name: "vllm", typ: EngineVLLM, api: APIChat,
		// vLLM's role chunk: sent at once, it must never stop the TTFT clock.
		head: "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}],\"prompt_token_ids\":null}\n\n",
		token: func(i int, last bool) string {
			fin := "null"
			if last {
				fin = `"length"`
			}
			return fmt.Sprintf("data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" t%d\"},\"logprobs\":null,\"finish_reason\":%s}]}\n\n", i, fin)
		},
		tail: []string{"data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"total_tokens\":11,\"completion_tokens\":6}}\n\n", "data: [DONE]\n\n"},
	},
	{
		name: "tgi", typ: EngineTGI, api: APIGenerateStream,
		token: func(i int, last bool) string {
			if last {
				return fmt.Sprintf("data: {\"index\":%d,\"token\":{\"id\":1,\"text\":\" t\",\"logprob\":-1,\"special\":false},\"generated_text\":\"t t t\",\"details\":{\"finish_reason\":\"length\",\"generated_tokens\":6,\"seed\":null,\"input_length\":3}}\n\n", i+1)
			}
			return fmt.Sprintf("data: {\"index\":%d,\"token\":{\"id\":1,\"text\":\" t\",\"logprob\":-1,\"special\":false},\"generated_text\":null,\"details\":null}\n\n", i+1)
		},
	},
	{
		name: "ollama", typ: EngineOllama, api: APIOllamaChat,
		token: func(i int, last bool) string {
			return fmt.Sprintf("{\"model\":\"m\",\"created_at\":\"2025-10-26T17:15:24.097767Z\",\"message\":{\"role\":\"assistant\",\"content\":\" t%d\"},\"done\":false}\n", i)
		},
		tail: []string{"{\"model\":\"m\",\"created_at\":\"2025-10-26T17:15:24.2Z\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done\":true,\"done_reason\":\"length\",\"total_duration\":90000000,\"prompt_eval_count\":3,\"eval_count\":6,\"eval_duration\":50000000}\n"},
	},
}

// truth is what the server knows: when it received the request and when it
// emitted each token and the stream's last event, all on the monotonic clock
// this process shares with the client.
type truth struct {
	recv   time.Time
	tokens []time.Time
	end    time.Time
}

const (
	accFirst  = 30 * time.Millisecond // first content token after receipt
	accGap    = 10 * time.Millisecond // between content tokens
	accTokens = 6
)

func accuracyServer(t *testing.T, p accProto) (*httptest.Server, <-chan truth) {
	ch := make(chan truth, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tr := truth{recv: time.Now()}
		_, _ = io.Copy(io.Discard, r.Body)
		f := w.(http.Flusher)
		w.Header().Set("Content-Type", contentTypeFor(p.api))
		w.WriteHeader(200)
		// Each emission is stamped before its write: the client cannot have
		// read it any earlier, so a measurement below the stamp is a bug.
		emit := func(s string) time.Time {
			at := time.Now()
			_, _ = io.WriteString(w, s)
			f.Flush()
			return at
		}
		if p.head != "" {
			emit(p.head)
		} else {
			f.Flush()
		}
		for i := range accTokens {
			time.Sleep(time.Until(tr.recv.Add(accFirst + time.Duration(i)*accGap)))
			tr.tokens = append(tr.tokens, emit(p.token(i, i == accTokens-1)))
			tr.end = tr.tokens[i]
		}
		for _, s := range p.tail {
			tr.end = emit(s)
		}
		ch <- tr
	}))
	t.Cleanup(srv.Close)
	return srv, ch
}

func msOf(d time.Duration) float64 { return float64(d) / 1e6 }

// TestTimingsNeverBeforeTheTruth measures against a server that knows the
// truth and holds every sample to what is true on any machine, however
// loaded: no token is stamped before the server wrote it, TTFT and E2E are
// never below the server's own, TTFB comes no later than TTFT, and every
// token is counted. How close the stamps come is a latency; it is measured
// against a calibration of the machine's loopback by `make fidelity`.
func TestTimingsNeverBeforeTheTruth(t *testing.T) {
	const samples = 20
	for _, p := range accProtos {
		t.Run(p.name, func(t *testing.T) {
			srv, truths := accuracyServer(t, p)
			c := testClient(srv.URL, p.typ, p.api)
			var ttftX, itlErr, e2eX []float64
			for range samples {
				rec := do(c, context.Background(), accTokens)
				tr := <-truths
				if !rec.OK {
					t.Fatalf("%s: %s", rec.ErrorClass, rec.Error)
				}
				checkRecord(t, &rec)
				if rec.Chunks != accTokens || rec.OutputTokens != accTokens || rec.OutputMismatch || len(rec.ChunkOffsetMS) != accTokens {
					t.Fatalf("chunks=%d out=%d stamps=%d (%s)", rec.Chunks, rec.OutputTokens, len(rec.ChunkOffsetMS), rec.OutputTokensSource)
				}
				// TTFT from the request's send vs from the server's receipt.
				trueTTFT := msOf(tr.tokens[0].Sub(tr.recv))
				x := *rec.TTFTMS - trueTTFT
				if x < 0 {
					t.Fatalf("TTFT %.3f ms is below the true %.3f ms", *rec.TTFTMS, trueTTFT)
				}
				ttftX = append(ttftX, x)
				// Each token's arrival on the shared clock vs its emission.
				for i, off := range rec.ChunkOffsetMS {
					arrival := rec.StartUnixNS + int64(math.Round(off*1e6))
					if ax := msOf(time.Duration(arrival - c.Clock.UnixNS(tr.tokens[i]))); ax < -0.001 {
						t.Fatalf("token %d arrived %.3f ms before it was sent", i, -ax)
					}
				}
				if rec.TTFBMS == nil || *rec.TTFBMS > *rec.TTFTMS {
					t.Fatalf("TTFB %v after TTFT %v", rec.TTFBMS, *rec.TTFTMS)
				}
				if *rec.TTFTContentMS != *rec.TTFTMS {
					t.Fatalf("content TTFT %v != TTFT %v with no reasoning", *rec.TTFTContentMS, *rec.TTFTMS)
				}
				for i, g := range rec.ITLMS {
					itlErr = append(itlErr, math.Abs(g-msOf(tr.tokens[i+1].Sub(tr.tokens[i]))))
				}
				trueE2E := msOf(tr.end.Sub(tr.recv))
				if *rec.E2EMS < trueE2E {
					t.Fatalf("E2E %.3f ms below the true %.3f ms", *rec.E2EMS, trueE2E)
				}
				e2eX = append(e2eX, *rec.E2EMS-trueE2E)
			}
			t.Logf("median excess TTFT %.3f ms, |ITL error| %.3f ms, E2E %.3f ms (figures only: make fidelity bounds them)", median(ttftX), median(itlErr), median(e2eX))
		})
	}
}

// median of unsorted xs (copied, not reordered).
func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return stats.Percentile(s, 50)
}
