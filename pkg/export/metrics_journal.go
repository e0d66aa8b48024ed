package export

import (
	"encoding/json"
	"fmt"
	"os"
	"sync"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/scrape"
)

// MetricsJournalFile is the engines' own metrics, scraped during the run.
const MetricsJournalFile = "metrics.jsonl"

// MetricsLine is one line of metrics.jsonl: one sample of one scrape, or
// (with Error) a scrape that failed.
type MetricsLine struct {
	Engine string            `json:"engine"`
	UnixNS int64             `json:"ts_unix_ns"`
	Metric string            `json:"metric,omitempty"`
	Type   string            `json:"type,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
	Value  float64           `json:"value"`
	Error  string            `json:"error,omitempty"`
}

// MetricsJournal appends each scrape as it completes, like the request
// journal: a crash keeps every scrape already taken.
type MetricsJournal struct {
	mu  sync.Mutex
	f   *os.File
	buf []byte
	// Tally is per engine: scrapes taken, failed, and the first failure.
	Tally map[string]*ScrapeTally
}

// ScrapeTally counts one engine's scrapes for the manifest.
type ScrapeTally struct {
	Scrapes    int    `json:"scrapes"`
	Failed     int    `json:"failed"`
	Samples    int    `json:"samples"`
	FirstError string `json:"first_error,omitempty"`
}

// OpenMetricsJournal creates (or appends to) metrics.jsonl.
func OpenMetricsJournal(path string) (*MetricsJournal, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening the metrics journal: %w", err)
	}
	return &MetricsJournal{f: f, Tally: map[string]*ScrapeTally{}}, nil
}

// Write appends one scrape; safe from several goroutines.
func (j *MetricsJournal) Write(sc scrape.Scrape) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	t := j.Tally[sc.Engine]
	if t == nil {
		t = &ScrapeTally{}
		j.Tally[sc.Engine] = t
	}
	t.Scrapes++
	j.buf = j.buf[:0]
	add := func(l MetricsLine) error {
		b, err := json.Marshal(l)
		if err != nil {
			return err
		}
		j.buf = append(append(j.buf, b...), '\n')
		return nil
	}
	if sc.Error != "" {
		t.Failed++
		if t.FirstError == "" {
			t.FirstError = sc.Error
		}
		if err := add(MetricsLine{Engine: sc.Engine, UnixNS: sc.UnixNS, Error: sc.Error}); err != nil {
			return err
		}
	}
	for _, s := range sc.Samples {
		if err := add(MetricsLine{Engine: sc.Engine, UnixNS: sc.UnixNS, Metric: s.Metric, Type: s.Type, Labels: s.Labels, Value: s.Value}); err != nil {
			return fmt.Errorf("encoding %s: %w", s.Metric, err)
		}
	}
	t.Samples += len(sc.Samples)
	if _, err := j.f.Write(j.buf); err != nil {
		return fmt.Errorf("appending to %s: %w", j.f.Name(), err)
	}
	return nil
}

// Close syncs and closes the journal.
func (j *MetricsJournal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.f.Sync(); err != nil {
		j.f.Close()
		return err
	}
	return j.f.Close()
}
