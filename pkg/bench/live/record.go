package live

import (
	"context"
	"encoding/json"
	"io"
	"time"
)

// File is where a run folder keeps the board's snapshots: what the live
// view showed, one JSON object per line.
const File = "live.jsonl"

// Record writes a snapshot to w every interval until ctx ends, and one
// last when it does; the first write error ends it and is returned (the
// run goes on without).
func Record(ctx context.Context, b *Board, w io.Writer, every time.Duration) error {
	enc := json.NewEncoder(w)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return enc.Encode(b.Snapshot())
		case <-t.C:
			if err := enc.Encode(b.Snapshot()); err != nil {
				return err
			}
		}
	}
}
