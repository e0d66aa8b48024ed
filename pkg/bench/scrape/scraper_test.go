package scrape

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Three endpoints: vLLM's metrics, one without any (404, Ollama), one that
// answers garbage. The scraper samples the first before, during and after,
// asks the 404 once, and records every garbage answer as an error.
func TestScraperRecordsEveryOutcome(t *testing.T) {
	body, err := os.ReadFile(filepath.Join(transcriptDir, "vllm-metrics.prom"))
	if err != nil {
		t.Fatal(err)
	}
	var notFound, garbage atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/v/metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_, _ = w.Write(body)
	})
	mux.HandleFunc("/o/metrics", func(w http.ResponseWriter, r *http.Request) { notFound.Add(1); http.NotFound(w, r) })
	mux.HandleFunc("/g/metrics", func(w http.ResponseWriter, r *http.Request) { garbage.Add(1); _, _ = w.Write([]byte("<html>")) })
	srv := httptest.NewServer(mux)
	defer srv.Close()

	var mu sync.Mutex
	got := map[string][]Scrape{}
	s := &Scraper{HTTP: srv.Client(), Interval: 20 * time.Millisecond, Now: func() int64 { return time.Now().UnixNano() },
		Sources: []Source{{Engine: "vllm", URL: srv.URL + "/v/metrics"}, {Engine: "ollama", URL: srv.URL + "/o/metrics"}, {Engine: "bad", URL: srv.URL + "/g/metrics"}},
		Sink: func(sc Scrape) {
			mu.Lock()
			got[sc.Engine] = append(got[sc.Engine], sc)
			mu.Unlock()
		}}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { s.Run(context.Background(), stop); close(done) }()
	time.Sleep(100 * time.Millisecond)
	close(stop)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the scraper did not stop")
	}
	v := got["vllm"]
	if len(v) < 2 {
		t.Fatalf("%d vllm scrapes", len(v))
	}
	for i, sc := range v {
		if sc.Error != "" || len(sc.Samples) < 100 || (i > 0 && sc.UnixNS < v[i-1].UnixNS) {
			t.Errorf("vllm scrape %d: error %q, %d samples", i, sc.Error, len(sc.Samples))
		}
	}
	if o := got["ollama"]; len(o) != 1 || notFound.Load() != 1 || !strings.Contains(o[0].Error, "HTTP 404") {
		t.Errorf("404: %d scrapes, %d asks: %+v", len(o), notFound.Load(), o)
	}
	if b := got["bad"]; len(b) < 2 || int64(len(b)) != garbage.Load() || !strings.Contains(b[0].Error, "not Prometheus text") {
		t.Errorf("garbage: %d scrapes of %d asks", len(b), garbage.Load())
	}
}

// A server that never answers costs one timeout a scrape, not the run.
func TestScraperTimesOut(t *testing.T) {
	hang := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(hang)
	var got []Scrape
	s := &Scraper{HTTP: srv.Client(), Timeout: 50 * time.Millisecond, Now: func() int64 { return time.Now().UnixNano() },
		Sources: []Source{{Engine: "slow", URL: srv.URL + "/metrics"}}, Sink: func(sc Scrape) { got = append(got, sc) }}
	stop := make(chan struct{})
	close(stop) // no interval: before and after only
	s.Run(context.Background(), stop)
	if len(got) != 2 || !strings.Contains(got[0].Error, "deadline") {
		t.Errorf("%+v", got)
	}
}
