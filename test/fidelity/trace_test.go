//go:build fidelity

package fidelity

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/sim"
	"github.com/llmbench/kubectl-llmbench/test/plugintest"
)

// TestTraceReplayArrivesOnSchedule: a Mooncake-style trace of 1,000
// Poisson arrivals at 200 req/s is replayed by the binary against a
// simulated vLLM in this process, which stamps each request as it
// arrives. Each arrival's error is its offset from the first arrival less
// the trace's offset; p99 must stay within 1 ms.
func TestTraceReplayArrivesOnSchedule(t *testing.T) {
	const n, rate = 1000, 200.0
	rng := rand.New(rand.NewPCG(7, 7))
	var b strings.Builder
	offsets := make([]time.Duration, n)
	at := 0.0 // ms
	for i := range n {
		offsets[i] = time.Duration(at * float64(time.Millisecond))
		fmt.Fprintf(&b, "{\"offset_ms\": %.3f, \"output_length\": 4}\n", at)
		at += rng.ExpFloat64() / rate * 1000
	}
	path := filepath.Join(t.TempDir(), "trace.jsonl")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	s := sim.New(sim.Options{Seed: 1, TimeScale: 0.01})
	t.Cleanup(func() { s.Close() })
	h := s.Handler(engine.EngineVLLM)
	var mu sync.Mutex
	var arrivals []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/chat/completions" {
			now := time.Now()
			mu.Lock()
			arrivals = append(arrivals, now)
			mu.Unlock()
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)

	bin := buildBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out := t.TempDir()
	cmd := exec.CommandContext(ctx, bin, "run", "--target", "vllm="+srv.URL, "--suite", "load", "--trace", path,
		"--format", "json", "--no-report", "--output-dir", out)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(arrivals) != n {
		t.Fatalf("%d arrivals at the server, want %d", len(arrivals), n)
	}
	// Requests in flight together may reach the handler out of order;
	// sorted, the k-th arrival stands for the k-th offset. The error is
	// each arrival's delay less the median delay: a constant delay (the
	// loopback and HTTP between the binary and this server) shifts every
	// arrival alike and is not a schedule error.
	slices.SortFunc(arrivals, func(a, b time.Time) int { return a.Compare(b) })
	delays := make([]float64, n)
	for i, a := range arrivals {
		delays[i] = float64(a.Sub(arrivals[0]) - offsets[i])
	}
	sorted := slices.Clone(delays)
	slices.Sort(sorted)
	median := sorted[n/2]
	errs := make([]float64, n)
	for i, d := range delays {
		errs[i] = math.Abs(d - median)
	}
	slices.Sort(errs)
	p50, p99 := errs[n/2]/1e3, errs[n*99/100]/1e3
	fmt.Printf("trace replay at %g req/s, %d requests: arrival error at the server (about the median delay) p50 %.0f µs, p99 %.0f µs, max %.0f µs\n", rate, n, p50, p99, errs[n-1]/1e3)
	type line struct {
		Lag float64 `json:"schedule_lag_ms"`
	}
	var lags []float64
	for _, l := range plugintest.ReadJournal[line](t, plugintest.RunFolder(t, out)) {
		lags = append(lags, l.Lag*1000)
	}
	slices.Sort(lags)
	fmt.Printf("  the client's own schedule lag: p50 %.0f µs, p99 %.0f µs; median delay to the server %.0f µs\n", lags[len(lags)/2], lags[len(lags)*99/100], median/1e3)
	if p99 > 1000 {
		t.Errorf("arrival error p99 %.0f µs, want ≤ 1 ms", p99)
	}
}
