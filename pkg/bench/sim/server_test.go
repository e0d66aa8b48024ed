package sim

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
)

// run3 sends three sequential requests to a fresh simulator and returns
// the texts and every modelled token gap.
func run3(t *testing.T, seed int64) (texts []string, gaps []time.Duration) {
	t.Helper()
	opts := fastOptions()
	opts.Seed = seed
	s := New(opts)
	defer s.Close()
	var mu sync.Mutex
	s.engines[engine.EngineVLLM].trace = func(_ uint64, _ int, gap time.Duration) {
		mu.Lock()
		gaps = append(gaps, gap)
		mu.Unlock()
	}
	srv := httptest.NewServer(s.Handler(engine.EngineVLLM))
	defer srv.Close()
	for range 3 {
		resp := post(t, srv.URL+"/v1/completions", `{"prompt":"hi","max_tokens":12,"ignore_eos":true}`)
		texts = append(texts, string(resp.body[strings.Index(string(resp.body), `"text"`):]))
	}
	mu.Lock()
	defer mu.Unlock()
	return texts, gaps
}

func TestSameSeedSameRun(t *testing.T) {
	texts1, gaps1 := run3(t, 42)
	texts2, gaps2 := run3(t, 42)
	if strings.Join(texts1, "|") != strings.Join(texts2, "|") {
		t.Errorf("same seed, different texts:\n%q\n%q", texts1, texts2)
	}
	if len(gaps1) != 3*11 || len(gaps1) != len(gaps2) {
		t.Fatalf("got %d and %d gaps, want 33 each", len(gaps1), len(gaps2))
	}
	distinct := map[time.Duration]bool{}
	for i := range gaps1 {
		if gaps1[i] != gaps2[i] {
			t.Errorf("gap %d: %v vs %v", i, gaps1[i], gaps2[i])
		}
		distinct[gaps1[i]] = true
	}
	if len(distinct) < 2 {
		t.Errorf("gaps %v show no jitter", gaps1)
	}
	if texts1[0] == texts1[1] {
		t.Errorf("consecutive requests produced the same text %q", texts1[0])
	}
	texts3, _ := run3(t, 43)
	if strings.Join(texts1, "|") == strings.Join(texts3, "|") {
		t.Errorf("seeds 42 and 43 produced the same texts")
	}
}

func TestStartAllAndClose(t *testing.T) {
	s := New(fastOptions())
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	urls, err := s.StartAll(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	probes := map[engine.EngineType]string{engine.EngineVLLM: "/health", engine.EngineTGI: "/info", engine.EngineOllama: "/"}
	for _, kind := range simulatedEngines {
		u := urls[kind]
		if !strings.HasPrefix(u, "http://127.0.0.1:") {
			t.Errorf("%s URL %q is not on loopback", kind, u)
		}
		if resp := do(t, "GET", u+probes[kind], ""); resp.status != 200 {
			t.Errorf("%s: status %d", kind, resp.status)
		}
	}
	if _, err := s.Start(ctx, engine.EngineOpenAI, "127.0.0.1:0"); err == nil {
		t.Error("Start accepted an engine the simulator does not imitate")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(urls[engine.EngineVLLM] + "/health"); err == nil {
		t.Error("server still answers after Close")
	}
	if _, err := s.Start(ctx, engine.EngineVLLM, "127.0.0.1:0"); err == nil {
		t.Error("Start succeeded after Close")
	}
}

func TestContextStopsServer(t *testing.T) {
	s := New(fastOptions())
	defer s.Close()
	ctx, cancel := context.WithCancel(t.Context())
	u, err := s.Start(ctx, engine.EngineTGI, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if resp := do(t, "GET", u+"/health", ""); resp.status != 200 {
		t.Fatalf("status %d", resp.status)
	}
	cancel()
	waitFor(t, "the listener to close", func() bool {
		resp, err := http.Get(u + "/health")
		if err == nil {
			resp.Body.Close()
		}
		return err != nil
	})
}

func TestEnginesDoNotShareSchedulers(t *testing.T) {
	opts := latencyOptions(engine.EngineVLLM, func(p *Profile) {
		p.MaxBatch = 1
		p.DecodePerToken = 5 * time.Millisecond
	})
	tgi := opts.Profiles[engine.EngineVLLM]
	opts.Profiles[engine.EngineTGI] = tgi
	_, urls := startSim(t, opts)
	long := startStream(t, urls[engine.EngineVLLM]+"/v1/completions", completionsBody(8, 2000)) // 10 s of decoding
	long.waitFirst(t)
	ts := startStream(t, urls[engine.EngineTGI]+"/v1/completions", `{"prompt":"hi","stream":true,"max_tokens":3}`)
	times := ts.wait(t)
	if len(times) != 3 {
		t.Fatalf("TGI streamed %d tokens, want 3", len(times))
	}
	// Had TGI waited for vLLM's only slot, it could not finish before vLLM's
	// long answer did.
	select {
	case <-long.done:
		t.Errorf("TGI finished only after vLLM's long answer: it waited for vLLM's batch slot")
	default:
	}
	long.cancel()
}

func TestProfileDefaults(t *testing.T) {
	ps := DefaultProfiles()
	v, g, o := ps[engine.EngineVLLM], ps[engine.EngineTGI], ps[engine.EngineOllama]
	if !(v.PrefillBase < g.PrefillBase && g.PrefillBase < o.PrefillBase) ||
		!(v.DecodePerToken < g.DecodePerToken && g.DecodePerToken < o.DecodePerToken) ||
		!(v.MaxBatch > g.MaxBatch && g.MaxBatch > o.MaxBatch) || o.ColdLoad == 0 {
		t.Errorf("default profiles lost their ordering: %+v %+v %+v", v, g, o)
	}
	p := resolveProfile(engine.EngineOllama, Options{TimeScale: 0.5, Profiles: map[engine.EngineType]Profile{
		engine.EngineOllama: {DecodePerToken: 10 * time.Millisecond},
	}})
	if p.DecodePerToken != 5*time.Millisecond || p.Model != o.Model || p.MaxBatch != o.MaxBatch || p.MaxQueue != defaultMaxQueue {
		t.Errorf("resolved profile %+v", p)
	}
	if p := resolveProfile(engine.EngineVLLM, Options{}); p.DecodePerToken != v.DecodePerToken {
		t.Errorf("TimeScale 0 changed the decode time to %v", p.DecodePerToken)
	}
}

func TestDecodeGap(t *testing.T) {
	p := Profile{DecodePerToken: 10 * time.Millisecond, DecodeSlowdownPerSeq: 0.1, Jitter: 0.2}
	cases := []struct {
		running int64
		u       float64
		want    time.Duration
	}{
		{1, 0.5, 10 * time.Millisecond},
		{11, 0.5, 20 * time.Millisecond},
		{1, 0, 8 * time.Millisecond},
		{1, 1, 12 * time.Millisecond},
		{0, 0.5, 10 * time.Millisecond},
	}
	for _, c := range cases {
		if got := p.decodeGap(c.running, c.u); got != c.want {
			t.Errorf("decodeGap(%d, %v) = %v, want %v", c.running, c.u, got, c.want)
		}
	}
}

func TestListenerURL(t *testing.T) {
	cases := map[string]*net.TCPAddr{
		"http://127.0.0.1:80": {IP: net.IPv4zero, Port: 80},
		"http://[::1]:81":     {IP: net.IPv6unspecified, Port: 81},
		"http://10.0.0.2:82":  {IP: net.IPv4(10, 0, 0, 2), Port: 82},
		"http://127.0.0.1:83": {Port: 83},
		"http://[fe80::1]:84": {IP: net.ParseIP("fe80::1"), Port: 84},
	}
	for want, addr := range cases {
		if got := listenerURL(addr); got != want {
			t.Errorf("listenerURL(%v) = %s, want %s", addr, got, want)
		}
	}
}
