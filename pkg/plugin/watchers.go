package plugin

import (
	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/load"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

// watcher follows a run as it happens: the live view and the metrics
// endpoint both hear each scenario's edges, each request as it leaves
// and each record as it finishes.
type watcher interface {
	load.Sink
	load.Observer
	load.RequestObserver
}

// watchers fans the run's events out, in order.
type watchers []watcher

func (ws watchers) ScenarioStarted(t engine.Target, s workload.Scenario) {
	for _, w := range ws {
		w.ScenarioStarted(t, s)
	}
}

func (ws watchers) ScenarioFinished(t engine.Target, s workload.Scenario) {
	for _, w := range ws {
		w.ScenarioFinished(t, s)
	}
}

func (ws watchers) RequestSent(rec *engine.Record) {
	for _, w := range ws {
		w.RequestSent(rec)
	}
}

func (ws watchers) Write(rec *engine.Record) error {
	for _, w := range ws {
		if err := w.Write(rec); err != nil {
			return err
		}
	}
	return nil
}
