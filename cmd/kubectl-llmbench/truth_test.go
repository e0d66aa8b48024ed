package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"
	"time"
)

// truthServer streams a fixed answer in one engine's protocol and records,
// for every request, how long after receiving it the server began writing
// the first generated token: a time the client's TTFT (from its send, to the
// arrival) can never be below.
type truthServer struct {
	mu    sync.Mutex
	truth []time.Duration
	delay time.Duration
	key   string // required bearer token, if set
}

func (s *truthServer) record(d time.Duration) {
	s.mu.Lock()
	s.truth = append(s.truth, d)
	s.mu.Unlock()
}

func (s *truthServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	got := time.Now()
	if s.key != "" && r.Header.Get("Authorization") != "Bearer "+s.key {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	fl := w.(http.Flusher)
	switch r.URL.Path {
	case "/v1/models":
		fmt.Fprint(w, `{"object":"list","data":[{"id":"m","object":"model","created":1,"owned_by":"vllm","root":"m","parent":null,"max_model_len":8192}]}`)
	case "/version":
		fmt.Fprint(w, `{"version":"0.11.0"}`)
	case "/info":
		fmt.Fprint(w, `{"model_id":"m","max_total_tokens":8192,"version":"3.3.6"}`)
	case "/api/tags":
		fmt.Fprint(w, `{"models":[{"name":"m:latest","model":"m:latest"}]}`)
	case "/api/version":
		fmt.Fprint(w, `{"version":"0.11.4"}`)
	case "/v1/chat/completions": // vLLM: role chunk at once, tokens later
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: {\"id\":\"x\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n")
		fl.Flush()
		time.Sleep(s.delay)
		for i := 0; i < 4; i++ {
			fr := "null"
			if i == 3 {
				fr = `"length"`
			}
			if i == 0 {
				s.record(time.Since(got))
			}
			fmt.Fprintf(w, "data: {\"id\":\"x\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" t%d\"},\"logprobs\":null,\"finish_reason\":%s}]}\n\n", i, fr)
			fl.Flush()
			time.Sleep(2 * time.Millisecond)
		}
		fmt.Fprint(w, "data: {\"id\":\"x\",\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"total_tokens\":13,\"completion_tokens\":4}}\n\ndata: [DONE]\n\n")
	case "/generate_stream": // TGI native, no [DONE]
		w.Header().Set("Content-Type", "text/event-stream")
		fl.Flush()
		time.Sleep(s.delay)
		for i := 1; i <= 4; i++ {
			last := `"generated_text":null,"details":null`
			if i == 4 {
				last = `"generated_text":" t1 t2 t3 t4","details":{"finish_reason":"length","generated_tokens":4,"seed":null,"input_length":9}`
			}
			if i == 1 {
				s.record(time.Since(got))
			}
			fmt.Fprintf(w, "data:{\"index\":%d,\"token\":{\"id\":%d,\"text\":\" t%d\",\"logprob\":-1.0,\"special\":false},%s}\n\n", i, i, i, last)
			fl.Flush()
			time.Sleep(2 * time.Millisecond)
		}
	case "/api/chat": // Ollama NDJSON
		w.Header().Set("Content-Type", "application/x-ndjson")
		time.Sleep(s.delay)
		for i := 0; i < 4; i++ {
			if i == 0 {
				s.record(time.Since(got))
			}
			fmt.Fprintf(w, "{\"model\":\"m\",\"created_at\":\"2026-01-01T00:00:00Z\",\"message\":{\"role\":\"assistant\",\"content\":\" t%d\"},\"done\":false}\n", i)
			fl.Flush()
			time.Sleep(2 * time.Millisecond)
		}
		fmt.Fprint(w, "{\"model\":\"m\",\"created_at\":\"2026-01-01T00:00:00Z\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done\":true,\"done_reason\":\"length\",\"total_duration\":60000000,\"prompt_eval_count\":9,\"prompt_eval_duration\":1000000,\"eval_count\":4,\"eval_duration\":8000000}\n")
	default:
		http.NotFound(w, r)
	}
}

// TestTTFTNeverBeforeTheTokenLeftTheServer runs the binary against three
// separate loopback servers, one per protocol, given with --target. Each
// measured TTFT spans more than its server's wait before writing the first
// token (the client's clock starts before the request is sent and stops
// after the token arrives), so sorted, the k-th smallest TTFT is never below
// the k-th smallest of the servers' waits, whatever the machine's load.
// Stamping the role-only chunk, a keep-alive or the headers as the first
// token would put TTFT tens of milliseconds below. How close TTFT comes to
// the truth is a latency, measured against a calibration by `make fidelity`.
func TestTTFTNeverBeforeTheTokenLeftTheServer(t *testing.T) {
	servers := map[string]*truthServer{"vllm": {delay: 25 * time.Millisecond}, "tgi": {delay: 35 * time.Millisecond}, "ollama": {delay: 45 * time.Millisecond}}
	urls := map[string]string{}
	for name, s := range servers {
		hs := httptest.NewServer(s)
		defer hs.Close()
		urls[name] = hs.URL
	}
	out := t.TempDir()
	r := run(t, "run", "--suite", "ttft", "--iterations", "21", "--max-tokens", "4", "--output-dir", out, "--name", "truth",
		"--target", "vllm="+urls["vllm"], "--target", "tgi="+urls["tgi"]+"/generate_stream", "--target", "ollama="+urls["ollama"])
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	measured := map[string][]float64{}
	for _, l := range readJournal(t, runFolder(t, out)) {
		if !l.OK {
			t.Fatalf("request failed: %+v", l)
		}
		if l.Output != 4 || l.Requested != 4 {
			t.Errorf("%s: output %d of requested %d tokens (source %s)", l.Engine, l.Output, l.Requested, l.Source)
		}
		if l.Phase == "measure" {
			measured[l.Engine] = append(measured[l.Engine], *l.TTFTMS)
		}
	}
	for name, s := range servers {
		s.mu.Lock()
		var truth []float64 // every request's, warm-up included: a superset
		for _, d := range s.truth {
			truth = append(truth, float64(d)/1e6)
		}
		s.mu.Unlock()
		m := measured[name]
		if len(m) != 21 {
			t.Fatalf("%s: %d measured requests, want 21", name, len(m))
		}
		if len(truth) < len(m) {
			t.Fatalf("%s: the server saw %d streaming requests, fewer than the %d measured", name, len(truth), len(m))
		}
		sort.Float64s(m)
		sort.Float64s(truth)
		t.Logf("%s: measured TTFT median %.3f ms, server's wait median %.3f ms", name, m[len(m)/2], truth[len(truth)/2])
		for k := range m {
			if m[k] < truth[k]-0.001 {
				t.Errorf("%s: the %d-th smallest TTFT, %.3f ms, is below the %d-th smallest wait before the server wrote the first token, %.3f ms: a stamp before the token arrived", name, k+1, m[k], k+1, truth[k])
			}
		}
	}
}
