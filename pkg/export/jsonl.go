// Package export writes a run's records and summaries: the journal, JSON
// files and the terminal table. It reads records and summaries, never
// engines.
package export

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
)

// JournalFile is the per-request journal inside a run folder.
const JournalFile = "requests.jsonl"

// Journal appends one JSON line per record and hands it to the OS before
// returning, so a crash or Ctrl-C loses nothing already measured.
type Journal struct {
	f   *os.File
	buf []byte
}

// OpenJournal creates (or appends to) a journal file.
func OpenJournal(path string) (*Journal, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening journal: %w", err)
	}
	return &Journal{f: f}, nil
}

// Write appends a record; callers serialize calls (load.MultiSink does).
func (j *Journal) Write(rec *engine.Record) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encoding record %d: %w", rec.RequestID, err)
	}
	j.buf = append(append(j.buf[:0], b...), '\n')
	if _, err := j.f.Write(j.buf); err != nil {
		return fmt.Errorf("appending to journal %s: %w", j.f.Name(), err)
	}
	return nil
}

// Close syncs and closes the journal.
func (j *Journal) Close() error {
	if err := j.f.Sync(); err != nil {
		j.f.Close()
		return fmt.Errorf("syncing journal: %w", err)
	}
	return j.f.Close()
}

// readJournal reads every record of a journal. A torn last line (a crash
// mid-write) is skipped and reported, not fatal.
func readJournal(r io.Reader) ([]engine.Record, error) {
	var recs []engine.Record
	err := scanJournal(r, func(rec *engine.Record) { recs = append(recs, *rec) })
	return recs, err
}

// scanJournal calls fn with each record of a journal, in order, without
// holding more than one; fn must not keep the pointer. Damaged lines are
// skipped and reported as ReadJournal reports them; a *JournalReadError
// means the journal could not be read to its end.
func scanJournal(r io.Reader, fn func(*engine.Record)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	line, bad, firstBad := 0, 0, 0
	var firstErr error
	for sc.Scan() {
		line++
		if len(sc.Bytes()) == 0 {
			continue
		}
		// A fresh record each time: decoding into a used one would keep
		// the omitempty fields of the previous line.
		var rec engine.Record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			if bad == 0 {
				firstBad, firstErr = line, err
			}
			bad++
			continue
		}
		fn(&rec)
	}
	if err := sc.Err(); err != nil {
		return &journalReadError{err: fmt.Errorf("reading journal after line %d: %w", line, err)}
	}
	switch {
	case bad == 1:
		return fmt.Errorf("journal line %d is not a record (skipped): %w", firstBad, firstErr)
	case bad > 1:
		return fmt.Errorf("%d journal lines are not records (skipped), the first is line %d: %w", bad, firstBad, firstErr)
	}
	return nil
}

// journalReadError is a journal that could not be read at all, as opposed
// to one damaged line.
type journalReadError struct{ err error }

func (e *journalReadError) Error() string { return e.err.Error() }
func (e *journalReadError) Unwrap() error { return e.err }
