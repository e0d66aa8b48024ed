package load

import (
	"context"
	"sync"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
)

// RaceEvent is one step of one lane of a race: new text, or the end.
type RaceEvent struct {
	Lane int
	// At is the time since the race started, on the monotonic clock; every
	// lane shares the start.
	At   time.Duration
	Text string
	// Done is the finished request's record; nil for a text step.
	Done *engine.Record
}

// Race sends reqs[i] to clients[i], all at the same instant, and reports
// each lane's text as it arrives, then its record; events is closed when
// every lane has finished, and the caller must drain it until then. The
// returned records are in client order. Each record is timed exactly as a
// benchmark request is; the watch only copies text.
func Race(ctx context.Context, clients []*engine.Client, reqs []engine.Request, events chan<- RaceEvent) []engine.Record {
	recs := make([]engine.Record, len(clients))
	start := time.Now()
	var wg sync.WaitGroup
	for i, c := range clients {
		lane := *c
		show := func(_ time.Duration, text string) {
			events <- RaceEvent{Lane: i, At: time.Since(start), Text: text}
		}
		lane.Watch = &engine.Watch{Text: show, Reasoning: show}
		rec := &recs[i]
		rec.Engine, rec.EngineType, rec.API, rec.Model = c.Target.Name, c.Target.Type, c.Target.API, c.Target.Model
		rec.Phase, rec.RequestID = engine.PhaseMeasure, int64(i+1)
		wg.Go(func() {
			lane.Do(ctx, reqs[i], start, rec)
			done := *rec
			events <- RaceEvent{Lane: i, At: time.Since(start), Done: &done}
		})
	}
	wg.Wait()
	close(events)
	return recs
}
