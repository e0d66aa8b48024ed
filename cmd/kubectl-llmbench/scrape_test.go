package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/sim"
	"github.com/llmbench/kubectl-llmbench/pkg/export"
)

// Through the binary: vLLM engines whose /metrics hangs past the scrape
// timeout, answers garbage, or is hidden (404) are benchmarked exactly
// as one whose metrics work; each failure is in the manifest and the
// metrics journal, the log warns, and their windows say why they could
// not be reconciled.
func TestBrokenMetricsNeverCostTheBenchmark(t *testing.T) {
	s := sim.New(sim.Options{Seed: 4, TimeScale: 0.3})
	t.Cleanup(func() { s.Close() })
	vllm := s.Handler(engine.EngineVLLM)
	serve := func(metrics http.HandlerFunc) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/metrics" {
				metrics(w, r)
				return
			}
			vllm.ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	slow := serve(func(w http.ResponseWriter, r *http.Request) {
		select { // past the 1 s scrape timeout, and no longer than the test
		case <-r.Context().Done():
		case <-time.After(3 * time.Second):
		}
	})
	garbage := serve(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write([]byte("<html>this { is not = prometheus\n"))
	})
	hidden := serve(func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	good, err := s.Start(context.Background(), engine.EngineVLLM, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	r := run(t, "run", "--target", "slow=vllm+"+slow, "--target", "garbage=vllm+"+garbage, "--target", "hidden=vllm+"+hidden, "--target", "good=vllm+"+good,
		"--parallel", "--preset", "quick", "--duration", "2s", "--iterations", "3", "--scrape-interval", "200ms", "--format", "json", "--output-dir", out)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	dir := runFolder(t, out)
	ok := map[string]int{}
	for _, l := range readJournal(t, dir) {
		if l.OK && l.Phase != "warmup" {
			ok[l.Engine]++
		}
	}
	for _, e := range []string{"slow", "garbage", "hidden", "good"} {
		if ok[e] < 3 {
			t.Errorf("%s: %d successful measured requests", e, ok[e])
		}
	}
	back, err := export.LoadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	why := map[string]string{"slow": "deadline exceeded", "garbage": "", "hidden": "HTTP 404"}
	for e, want := range why {
		tally := back.Manifest.MetricsScrapes[e]
		if tally == nil || tally.Failed == 0 || !strings.Contains(tally.FirstError, want) {
			t.Errorf("%s: manifest tally %+v, want failures with %q", e, tally, want)
		}
	}
	if h := back.Manifest.MetricsScrapes["hidden"]; h != nil && h.Scrapes != 1 {
		t.Errorf("hidden was asked %d times; a 404 is asked once", h.Scrapes)
	}
	if g := back.Manifest.MetricsScrapes["good"]; g == nil || g.Failed != 0 || g.Scrapes < 4 {
		t.Errorf("good: %+v", g)
	}
	windows := map[string][]string{}
	for _, w := range back.Summary.EngineMetrics {
		windows[w.Engine] = append(windows[w.Engine], w.Unavailable)
	}
	for _, e := range []string{"slow", "garbage"} {
		if len(windows[e]) == 0 || !strings.Contains(windows[e][0], "failed") {
			t.Errorf("%s: windows %q, want each to say its scrape failed", e, windows[e])
		}
	}
	for _, u := range windows["good"] {
		if u != "" {
			t.Errorf("good: window unavailable: %s", u)
		}
	}
	log, err := os.ReadFile(filepath.Join(dir, "run.log"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), "scraping engine metrics failed") {
		t.Error("run.log does not warn about the failed scrapes")
	}
}
