package export

import (
	"errors"
	"io"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
)

// chunkRow is one token-bearing stream event: the journal's
// chunk_offsets_ms and itl_ms arrays in long form, one row per element, so
// they can be grouped and joined instead of unnested. (run_id, request_id)
// joins it to requests.parquet.
type chunkRow struct {
	RunID      string  `parquet:"run_id,dict"`
	Engine     string  `parquet:"engine,dict"`
	Scenario   string  `parquet:"scenario,dict"`
	RequestID  int64   `parquet:"request_id"`
	ChunkIndex int64   `parquet:"chunk_index"`
	OffsetMS   float64 `parquet:"offset_ms"`
	// GapMS is null for the first chunk: it has no predecessor.
	GapMS *float64 `parquet:"gap_ms,optional"`
	// Tokens is 1 when the server's own count of output tokens equals the
	// number of chunks: every chunk carries at least one token, so each
	// carried exactly one. Null when a server packed several tokens into
	// some events (which it does not say), or gave no count.
	Tokens *int64 `parquet:"tokens,optional"`
}

// eachChunk calls emit for every chunk of a record. The journal's own
// itl_ms is used for the gaps so they equal it bit for bit. Records that
// lost their offsets (the in-memory collector drops them) are rebuilt from
// ttft_ms and itl_ms.
func eachChunk(r *engine.Record, emit func(chunkRow) error) error {
	offsets := r.ChunkOffsetMS
	if len(offsets) == 0 && r.TTFTMS != nil {
		offsets = make([]float64, 0, len(r.ITLMS)+1)
		at := *r.TTFTMS
		offsets = append(offsets, at)
		for _, gap := range r.ITLMS {
			at += gap
			offsets = append(offsets, at)
		}
	}
	gapsMatch := len(r.ITLMS) == len(offsets)-1
	var tokens *int64
	if r.OutputTokensSource != "" && r.OutputTokensSource != engine.TokensFromChunks && r.OutputTokens == len(offsets) {
		one := int64(1)
		tokens = &one
	}
	for i, off := range offsets {
		row := chunkRow{RunID: r.RunID, Engine: r.Engine, Scenario: r.Scenario, RequestID: r.RequestID,
			ChunkIndex: int64(i), OffsetMS: off, Tokens: tokens}
		if i > 0 {
			gap := off - offsets[i-1]
			if gapsMatch {
				gap = r.ITLMS[i-1]
			}
			row.GapMS = &gap
		}
		if err := emit(row); err != nil {
			return err
		}
	}
	return nil
}

// writeChunksParquet writes chunks.parquet, one row per token-bearing
// chunk of every record, in row groups of 64k rows as the records come.
func writeChunksParquet(w io.Writer, meta meta, next nextRecord) error {
	rows := newRowWriter[chunkRow](w, meta)
	for {
		rec, err := next()
		if errors.Is(err, io.EOF) {
			return rows.close()
		}
		if err != nil {
			return err
		}
		if err := eachChunk(rec, rows.add); err != nil {
			return err
		}
	}
}
