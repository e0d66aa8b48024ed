package load

import (
	"sync"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
)

// Sink receives each finished Record once. The journal, the progress view
// and the in-memory collector are sinks side by side.
type Sink interface {
	Write(rec *engine.Record) error
}

// SinkFunc adapts a function to a Sink.
type SinkFunc func(rec *engine.Record) error

func (f SinkFunc) Write(rec *engine.Record) error { return f(rec) }

// MultiSink fans a record out to several sinks, one record at a time, so
// no sink needs its own locking.
type MultiSink struct {
	mu    sync.Mutex
	sinks []Sink
}

func NewMultiSink(sinks ...Sink) *MultiSink { return &MultiSink{sinks: sinks} }

func (m *MultiSink) Write(rec *engine.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var first error
	for _, s := range m.sinks {
		if err := s.Write(rec); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Collector keeps every record in memory: for a handful of requests (one
// race, tests). A benchmark run folds its records into a Summarizer
// instead, whose memory does not grow with the run.
type Collector struct {
	mu      sync.Mutex
	Records []engine.Record
}

func (c *Collector) Write(rec *engine.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.Records = append(c.Records, *rec)
	return nil
}

// Snapshot returns a copy of the records so far.
func (c *Collector) Snapshot() []engine.Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]engine.Record(nil), c.Records...)
}
