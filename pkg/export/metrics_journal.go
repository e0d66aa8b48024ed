package export

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/scrape"
)

// MetricsJournalFile is the engines' own metrics, scraped during the run.
const MetricsJournalFile = "metrics.jsonl"

// MetricsLine is one line of metrics.jsonl: one sample of one scrape, or
// (with Error) a scrape that failed.
type MetricsLine struct {
	Engine string `json:"engine"`
	// Kind is "gpu" for a GPU exporter's samples, empty for the engine's.
	Kind   string            `json:"kind,omitempty"`
	UnixNS int64             `json:"ts_unix_ns"`
	Metric string            `json:"metric,omitempty"`
	Type   string            `json:"type,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
	Value  MetricValue       `json:"value"`
	Error  string            `json:"error,omitempty"`
	// Scenario and Edge mark a scrape at a scenario's start or end.
	Scenario string `json:"scenario,omitempty"`
	Edge     string `json:"edge,omitempty"`
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
	tk := sc.Engine
	if sc.Kind != "" {
		tk += " " + sc.Kind
	}
	t := j.Tally[tk]
	if t == nil {
		t = &ScrapeTally{}
		j.Tally[tk] = t
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
	}
	if sc.Error != "" || len(sc.Samples) == 0 {
		// A line even without samples: a boundary scrape must be in the
		// journal for the window it cuts.
		if err := add(MetricsLine{Engine: sc.Engine, Kind: sc.Kind, UnixNS: sc.UnixNS, Error: sc.Error, Scenario: sc.Scenario, Edge: sc.Edge}); err != nil {
			return err
		}
	}
	for _, s := range sc.Samples {
		if err := add(MetricsLine{Engine: sc.Engine, Kind: sc.Kind, UnixNS: sc.UnixNS, Metric: s.Metric, Type: s.Type, Labels: s.Labels, Value: MetricValue(s.Value),
			Scenario: sc.Scenario, Edge: sc.Edge}); err != nil {
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

// ReadMetricsJournal reads metrics.jsonl back into scrapes, in the order
// they were taken per engine: the lines of one scrape are adjacent. A
// line that does not decode (the last one of a crashed run) is skipped
// and counted in the returned warning.
func ReadMetricsJournal(r io.Reader) ([]scrape.Scrape, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	var out []scrape.Scrape
	bad, line := 0, 0
	for sc.Scan() {
		line++
		if len(sc.Bytes()) == 0 {
			continue
		}
		var l MetricsLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			bad++
			continue
		}
		n := len(out)
		if n == 0 || out[n-1].Engine != l.Engine || out[n-1].Kind != l.Kind || out[n-1].UnixNS != l.UnixNS || out[n-1].Edge != l.Edge || out[n-1].Scenario != l.Scenario {
			out = append(out, scrape.Scrape{Engine: l.Engine, Kind: l.Kind, UnixNS: l.UnixNS, Scenario: l.Scenario, Edge: l.Edge})
			n++
		}
		s := &out[n-1]
		if l.Error != "" {
			s.Error = l.Error
		}
		if l.Metric != "" {
			s.Samples = append(s.Samples, scrape.Sample{Metric: l.Metric, Type: l.Type, Labels: l.Labels, Value: float64(l.Value)})
		}
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("reading %s after line %d: %w", MetricsJournalFile, line, err)
	}
	if bad > 0 {
		return out, fmt.Errorf("%d lines of %s are not samples (skipped)", bad, MetricsJournalFile)
	}
	return out, nil
}

// LoadMetricsJournal reads dir's metrics.jsonl; a run without one (no
// engine serves metrics, or scraping was off) has no scrapes and no error.
func LoadMetricsJournal(dir string) ([]scrape.Scrape, error) {
	f, err := os.Open(filepath.Join(dir, MetricsJournalFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the engines' metrics: %w", err)
	}
	defer f.Close()
	return ReadMetricsJournal(f)
}

// MetricValue is a sample's value in JSON: a number, or "NaN", "+Inf" or
// "-Inf" as the exposition writes them (an empty summary's quantiles are
// NaN), which encoding/json would refuse and lose the whole scrape over.
type MetricValue float64

// MarshalJSON writes a number, or the exposition's word for one JSON lacks.
func (v MetricValue) MarshalJSON() ([]byte, error) {
	f := float64(v)
	switch {
	case math.IsNaN(f):
		return []byte(`"NaN"`), nil
	case math.IsInf(f, 1):
		return []byte(`"+Inf"`), nil
	case math.IsInf(f, -1):
		return []byte(`"-Inf"`), nil
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 64), nil
}

// UnmarshalJSON reads what MarshalJSON writes.
func (v *MetricValue) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("metric value %q: %w", s, err)
		}
		*v = MetricValue(f)
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*v = MetricValue(f)
	return nil
}
