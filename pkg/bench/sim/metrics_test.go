package sim

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/scrape"
)

// The simulated vLLM's /metrics is vLLM's: every family it serves has the
// transcript's HELP and TYPE lines word for word, the content type is the
// same, and the numbers are what it did: one success per request, a TTFT
// observation each, the prompt and generated tokens it counted.
func TestVLLMMetricsTellWhatItDid(t *testing.T) {
	ref := string(readTranscript(t, "vllm-metrics.prom"))
	_, urls := startSim(t, fastOptions())
	url := urls[engine.EngineVLLM]
	const n = 5
	prompt, generated := 0, 0
	for i := range n {
		r := post(t, url+"/v1/chat/completions", `{"messages":[{"role":"user","content":"hello there number `+strings.Repeat("x", i)+`"}],"max_tokens":7,"ignore_eos":true,"stream":true,"stream_options":{"include_usage":true}}`)
		if r.status != 200 {
			t.Fatalf("HTTP %d: %s", r.status, r.body)
		}
		p, g := usageOf(t, r.body)
		prompt, generated = prompt+p, generated+g
	}
	r := do(t, "GET", url+"/metrics", "")
	if r.status != 200 || r.header.Get("Content-Type") != "text/plain; version=0.0.4; charset=utf-8" {
		t.Fatalf("HTTP %d, %q", r.status, r.header.Get("Content-Type"))
	}
	for _, line := range strings.Split(string(r.body), "\n") {
		if strings.HasPrefix(line, "# ") && !strings.Contains(ref, line+"\n") {
			t.Errorf("not in the transcript: %q", line)
		}
	}
	ss, err := scrape.Parse(bytes.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	value := func(metric string, labels map[string]string) float64 {
		s, ok := scrape.Find(ss, metric, labels)
		if !ok {
			t.Fatalf("no %s %v", metric, labels)
		}
		return s.Value
	}
	if v := value("vllm:request_success_total", map[string]string{"finished_reason": "length"}); v != n {
		t.Errorf("length successes %g, want %d", v, n)
	}
	if v := value("vllm:time_to_first_token_seconds_count", nil); v != n {
		t.Errorf("ttft count %g", v)
	}
	if v := value("vllm:inter_token_latency_seconds_count", nil); v != n*6 {
		t.Errorf("itl count %g, want %d gaps", v, n*6)
	}
	if v := value("vllm:prompt_tokens_total", nil); v != float64(prompt) {
		t.Errorf("prompt tokens %g, usage said %d", v, prompt)
	}
	if v := value("vllm:generation_tokens_total", nil); v != float64(generated) {
		t.Errorf("generation tokens %g, usage said %d", v, generated)
	}
	if v := value("vllm:num_requests_running", nil); v != 0 {
		t.Errorf("running %g when idle", v)
	}
}

func TestPyFloatWritesAsPrometheusClient(t *testing.T) {
	for v, want := range map[float64]string{0: "0.0", 16: "16.0", 0.4375: "0.4375", 146.37586566557613: "146.37586566557613",
		1.7600000000009596e9: "1.7600000000009596e+09", 235271: "235271.0"} {
		if got := pyFloat(v); got != want {
			t.Errorf("pyFloat(%v) = %q, want %q", v, got, want)
		}
	}
}

// usageOf reads the usage chunk of a vLLM stream.
func usageOf(t *testing.T, body []byte) (prompt, completion int) {
	t.Helper()
	evs, err := sseEvents(body)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		var v struct {
			Usage *struct {
				Prompt     int `json:"prompt_tokens"`
				Completion int `json:"completion_tokens"`
			} `json:"usage"`
		}
		if json.Unmarshal([]byte(ev), &v) == nil && v.Usage != nil {
			return v.Usage.Prompt, v.Usage.Completion
		}
	}
	t.Fatalf("no usage in %s", body)
	return 0, 0
}

// The simulated TGI's /metrics is TGI's: its HELP and TYPE lines and
// bucket bounds are the transcript's, word for word, and its counts are
// what it served.
func TestTGIMetricsTellWhatItDid(t *testing.T) {
	ref := string(readTranscript(t, "tgi-metrics.prom"))
	_, urls := startSim(t, fastOptions())
	url := urls[engine.EngineTGI]
	const n = 4
	for range n {
		if r := post(t, url+"/generate_stream", `{"inputs":"hello there","parameters":{"max_new_tokens":5}}`); r.status != 200 {
			t.Fatalf("HTTP %d: %s", r.status, r.body)
		}
	}
	r := do(t, "GET", url+"/metrics", "")
	if r.status != 200 || r.header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Fatalf("HTTP %d, %q", r.status, r.header.Get("Content-Type"))
	}
	for _, line := range strings.Split(string(r.body), "\n") {
		known := strings.HasPrefix(line, "# ") || strings.Contains(line, "_bucket{le=")
		if strings.Contains(line, "_bucket{le=") {
			line = line[:strings.Index(line, "} ")+1] // the bound, not the count
		}
		if known && !strings.Contains(ref, line) {
			t.Errorf("not in the transcript: %q", line)
		}
	}
	ss, err := scrape.Parse(bytes.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, s := range ss {
		if s.Labels == nil {
			got[s.Metric] = s.Value
		}
	}
	if got["tgi_request_count"] != n || got["tgi_request_success"] != n || got["tgi_request_duration_count"] != n || got["tgi_request_generated_tokens_sum"] != n*5 {
		t.Errorf("counts %v", got)
	}
}
