package scrape

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Source is one engine's metrics endpoint, or the GPU exporter serving
// its GPUs (Kind KindGPU).
type Source struct {
	Engine string
	URL    string // …/metrics
	Kind   string
	// HTTP replaces the Scraper's client for this source (the API
	// server's proxy carries the kubeconfig's credentials).
	HTTP *http.Client
	// Select, when set, keeps the samples of a page worth recording: a
	// GPU exporter's page covers every GPU of a node and far more fields
	// than the run reads.
	Select func([]Sample) []Sample
}

// KindGPU marks a scrape of a GPU exporter (DCGM) rather than the engine.
const KindGPU = "gpu"

// Scrape is one engine's metrics at one instant, or why there were none.
type Scrape struct {
	Engine string `json:"engine"`
	// Kind is "" for the engine's own metrics, KindGPU for its GPUs'.
	Kind string `json:"kind,omitempty"`
	// UnixNS is when the answer arrived, on the run's clock.
	UnixNS     int64    `json:"ts_unix_ns"`
	DurationMS float64  `json:"duration_ms"`
	Samples    []Sample `json:"samples,omitempty"`
	Error      string   `json:"error,omitempty"`
	// Scenario and Edge (start or end) mark a scrape taken at a
	// scenario's boundary, the instants a reconciliation's window is cut
	// at; the periodic scrapes between them carry neither.
	Scenario string `json:"scenario,omitempty"`
	Edge     string `json:"edge,omitempty"`
}

// Edges of a scenario a boundary scrape is taken at.
const (
	EdgeStart = "start"
	EdgeEnd   = "end"
)

// maxBody bounds a metrics page: vLLM's is tens of kilobytes.
const maxBody = 32 << 20

// Fetch scrapes one endpoint once. Asking for the text format keeps
// servers that could answer OpenMetrics to the one expfmt reads.
func Fetch(ctx context.Context, hc *http.Client, url string) ([]Sample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4;q=1,*/*;q=0.1")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, &StatusError{URL: url, Status: resp.StatusCode}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxBody {
		return nil, fmt.Errorf("%s: more than %d MiB of metrics", url, maxBody>>20)
	}
	// OpenMetrics ends with "# EOF", which the text parser refuses.
	text := string(body)
	if t := strings.TrimRight(text, "\n"); strings.HasSuffix(t, "# EOF") {
		text = strings.TrimSuffix(t, "# EOF")
	}
	return Parse(strings.NewReader(text))
}

// StatusError is a metrics endpoint that did not answer 200.
type StatusError struct {
	URL    string
	Status int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s answered HTTP %d", e.URL, e.Status)
}

// Scraper scrapes its sources before the first request, every Interval,
// and once more when stopped. A source answering 404 has no metrics there
// (Ollama, a proxy that hides them): it is recorded once and not asked
// again.
type Scraper struct {
	HTTP     *http.Client
	Sources  []Source
	Interval time.Duration
	// Timeout bounds one scrape (default: the interval, at most 5 s).
	Timeout time.Duration
	// Now stamps a scrape on the run's clock (Unix nanoseconds).
	Now func() int64
	// Sink receives every scrape as it completes, from one goroutine per
	// source.
	Sink func(Scrape)

	mu   sync.Mutex
	gone map[string]bool
	// one serialises the scrapes of each source (by URL): a mark and a
	// periodic scrape never overlap on one endpoint, and a 404 is asked
	// once even when they start together.
	one map[string]*sync.Mutex
}

// Run scrapes until stop closes (the run's requests are done), then
// scrapes once more and returns. ctx cancels it outright.
func (s *Scraper) Run(ctx context.Context, stop <-chan struct{}) {
	var wg sync.WaitGroup
	for _, src := range s.Sources {
		wg.Go(func() { s.loop(ctx, stop, src) })
	}
	wg.Wait()
}

func (s *Scraper) loop(ctx context.Context, stop <-chan struct{}, src Source) {
	s.once(ctx, src)
	if s.Interval > 0 {
		t := time.NewTicker(s.Interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-stop:
				s.once(ctx, src)
				return
			case <-t.C:
				s.once(ctx, src)
			}
		}
	}
	select {
	case <-ctx.Done():
	case <-stop:
		s.once(ctx, src)
	}
}

// Mark scrapes engine's sources now, tagged as scenario's edge, and
// returns once the scrape is recorded: called before a scenario's first
// request and after its last, it bounds the scenario's window exactly
// where the interval's scrapes would blur it.
func (s *Scraper) Mark(ctx context.Context, engine, scenario, edge string) {
	for _, src := range s.Sources {
		if src.Engine == engine {
			s.scrape(ctx, src, scenario, edge)
		}
	}
}

func (s *Scraper) once(ctx context.Context, src Source) { s.scrape(ctx, src, "", "") }

func (s *Scraper) scrape(ctx context.Context, src Source, scenario, edge string) {
	s.mu.Lock()
	if s.one == nil {
		s.one = map[string]*sync.Mutex{}
	}
	lock := s.one[src.URL]
	if lock == nil {
		lock = &sync.Mutex{}
		s.one[src.URL] = lock
	}
	s.mu.Unlock()
	lock.Lock()
	defer lock.Unlock()
	s.mu.Lock()
	gone := s.gone[src.URL]
	s.mu.Unlock()
	if gone {
		return
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = min(max(s.Interval, time.Second), 5*time.Second)
	}
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hc := s.HTTP
	if src.HTTP != nil {
		hc = src.HTTP
	}
	started := time.Now()
	samples, err := Fetch(sctx, hc, src.URL)
	if src.Select != nil && err == nil {
		samples = src.Select(samples)
	}
	sc := Scrape{Engine: src.Engine, Kind: src.Kind, UnixNS: s.Now(), DurationMS: float64(time.Since(started)) / 1e6, Samples: samples,
		Scenario: scenario, Edge: edge}
	if err != nil {
		sc.Error = err.Error()
		var se *StatusError
		if errors.As(err, &se) && se.Status == http.StatusNotFound {
			s.mu.Lock()
			if s.gone == nil {
				s.gone = map[string]bool{}
			}
			s.gone[src.URL] = true
			s.mu.Unlock()
		}
	}
	s.Sink(sc)
}
