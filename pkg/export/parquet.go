package export

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/parquet-go/parquet-go"
)

// Parquet files of a run folder, for DuckDB, pandas, Polars or Spark. Every
// column is documented in docs/parquet-schema.md.
const (
	requestsParquetFile = "requests.parquet"
	ChunksParquetFile   = "chunks.parquet"
	SummaryParquetFile  = "summary.parquet"
)

// parquetSchemaVersion is stored in every Parquet file's key/value metadata.
// Bump it when a column is renamed, retyped, removed or changes meaning, so
// notebooks written against an older layout can tell.
const parquetSchemaVersion = "1"

// Keys of the file metadata every Parquet file carries.
const (
	metaSchemaVersion = "llmbench.schema_version"
	MetaToolVersion   = "llmbench.tool_version"
	MetaRunID         = "llmbench.run_id"
)

// meta is what an exported file says about where it came from.
type meta struct {
	RunID       string
	ToolVersion string
}

// metaOf takes a run's identity from its manifest.
func metaOf(run *Run) meta {
	id := run.Manifest.RunID
	if id == "" {
		id = run.Summary.RunID
	}
	return meta{RunID: id, ToolVersion: run.Manifest.ToolVersion}
}

// rowGroupRows bounds how many rows a writer buffers before it flushes a
// row group: memory stays flat however long the run, and 64k rows is still
// large enough for good compression and fast scans.
const rowGroupRows = 64 * 1024

// batchRows is how many rows are handed to parquet-go at once; one call per
// row would spend more time in the call than in encoding.
const batchRows = 1024

func parquetOptions(meta meta) []parquet.WriterOption {
	return []parquet.WriterOption{
		parquet.Compression(&parquet.Zstd),
		parquet.MaxRowsPerRowGroup(rowGroupRows),
		// parquet-go sorts these keys when it writes the footer, so the
		// output does not depend on map order.
		parquet.KeyValueMetadata(metaSchemaVersion, parquetSchemaVersion),
		parquet.KeyValueMetadata(MetaToolVersion, meta.ToolVersion),
		parquet.KeyValueMetadata(MetaRunID, meta.RunID),
	}
}

// rowWriter batches rows of one Parquet file.
type rowWriter[T any] struct {
	w   *parquet.GenericWriter[T]
	buf []T
}

func newRowWriter[T any](w io.Writer, meta meta) *rowWriter[T] {
	return &rowWriter[T]{w: parquet.NewGenericWriter[T](w, parquetOptions(meta)...), buf: make([]T, 0, batchRows)}
}

func (rw *rowWriter[T]) add(row T) error {
	rw.buf = append(rw.buf, row)
	if len(rw.buf) == cap(rw.buf) {
		return rw.flush()
	}
	return nil
}

func (rw *rowWriter[T]) flush() error {
	if len(rw.buf) == 0 {
		return nil
	}
	_, err := rw.w.Write(rw.buf)
	clear(rw.buf) // drop references to strings and slices already encoded
	rw.buf = rw.buf[:0]
	return err
}

// close writes the last rows and the footer.
func (rw *rowWriter[T]) close() error {
	if err := rw.flush(); err != nil {
		return err
	}
	return rw.w.Close()
}

// WriteParquet writes requests.parquet, chunks.parquet and summary.parquet
// into dir, and metrics.parquet from the run's metrics.jsonl when it has
// one. Requests are streamed from the run's journal when it has one
// (chunk offsets live only there: the in-memory collector drops them), else
// from run.Records. Each file appears whole or not at all.
func WriteParquet(dir string, run *Run) error {
	meta := metaOf(run)
	next, done, err := runRecords(run)
	if err != nil {
		return err
	}
	defer done()
	files, err := createFiles(dir, requestsParquetFile, ChunksParquetFile)
	if err != nil {
		return err
	}
	defer files.abort()
	if err := writeRequestsAndChunksParquet(files.w[0], files.w[1], meta, next); err != nil {
		return fmt.Errorf("writing %s and %s in %s: %w", requestsParquetFile, ChunksParquetFile, dir, err)
	}
	if err := files.commit(); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, SummaryParquetFile), func(w io.Writer) error {
		return writeSummaryParquet(w, meta, run.Summary)
	}); err != nil {
		return err
	}
	if run.Dir == "" {
		return nil
	}
	if err := writeMetricsParquet(run.Dir, dir, meta); err != nil {
		return fmt.Errorf("writing %s in %s: %w", MetricsParquetFile, dir, err)
	}
	return nil
}

// writeRequestsAndChunksParquet reads the records once and feeds both
// files, so a journal is decoded a single time.
func writeRequestsAndChunksParquet(reqOut, chunkOut io.Writer, meta meta, next nextRecord) error {
	reqs := newRowWriter[requestRow](reqOut, meta)
	chunks := newRowWriter[chunkRow](chunkOut, meta)
	for {
		rec, err := next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if err := reqs.add(requestRowOf(rec)); err != nil {
			return err
		}
		if err := eachChunk(rec, chunks.add); err != nil {
			return err
		}
	}
	if err := reqs.close(); err != nil {
		return err
	}
	return chunks.close()
}

// pendingFiles are written under a temporary name and renamed into place
// only when all of them succeeded, so a reader never sees a half file.
type pendingFiles struct {
	paths []string
	f     []*os.File
	w     []io.Writer
	done  bool
}

func createFiles(dir string, names ...string) (*pendingFiles, error) {
	p := &pendingFiles{}
	for _, n := range names {
		path := filepath.Join(dir, n)
		f, err := os.Create(path + ".tmp")
		if err != nil {
			p.abort()
			return nil, fmt.Errorf("creating %s (is the run folder writable?): %w", path, err)
		}
		p.paths, p.f, p.w = append(p.paths, path), append(p.f, f), append(p.w, f)
	}
	return p, nil
}

func (p *pendingFiles) commit() error {
	for i, f := range p.f {
		if err := f.Close(); err != nil {
			return fmt.Errorf("writing %s: %w", p.paths[i], err)
		}
	}
	for i, path := range p.paths {
		if err := os.Rename(p.f[i].Name(), path); err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
	}
	p.done = true
	return nil
}

// abort removes the temporary files unless commit succeeded.
func (p *pendingFiles) abort() {
	if p.done {
		return
	}
	for _, f := range p.f {
		f.Close()
		os.Remove(f.Name())
	}
}

// writeFile writes one file through write, atomically.
func writeFile(path string, write func(w io.Writer) error) error {
	files, err := createFiles(filepath.Dir(path), filepath.Base(path))
	if err != nil {
		return err
	}
	defer files.abort()
	if err := write(files.w[0]); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return files.commit()
}
