package export

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
)

// nextRecord yields a run's records one at a time and io.EOF after the
// last, so an export never needs the whole run in memory. The record it
// returns is only valid until the next call.
type nextRecord func() (*engine.Record, error)

// recordsOf yields records already in memory.
func recordsOf(recs []engine.Record) nextRecord {
	i := 0
	return func() (*engine.Record, error) {
		if i == len(recs) {
			return nil, io.EOF
		}
		i++
		return &recs[i-1], nil
	}
}

// journalRecords decodes a journal line by line. Like ReadJournal it skips
// a damaged line (a crash mid-write) instead of failing the export; LoadRun
// has already reported it.
func journalRecords(r io.Reader) nextRecord {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	line := 0
	return func() (*engine.Record, error) {
		for sc.Scan() {
			line++
			if len(sc.Bytes()) == 0 {
				continue
			}
			// A fresh record each time: decoding into a used one would keep
			// the omitempty fields of the previous line.
			rec := new(engine.Record)
			if err := json.Unmarshal(sc.Bytes(), rec); err != nil {
				continue
			}
			return rec, nil
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("reading journal after line %d: %w", line, err)
		}
		return nil, io.EOF
	}
}

// runRecords streams the run's journal when its folder has one, else its
// records in memory. done closes the journal.
func runRecords(run *Run) (next nextRecord, done func(), err error) {
	if run.Dir != "" {
		f, err := os.Open(filepath.Join(run.Dir, JournalFile))
		if err == nil {
			return journalRecords(f), func() { f.Close() }, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("opening the journal of %s: %w", run.Dir, err)
		}
	}
	return recordsOf(run.Records), func() {}, nil
}
