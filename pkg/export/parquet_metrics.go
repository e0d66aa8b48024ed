package export

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// MetricsParquetFile holds the engines' scraped metrics, one row per
// sample (docs/parquet-schema.md).
const MetricsParquetFile = "metrics.parquet"

// metricRow is one sample of one scrape, or a failed scrape (metric empty,
// value null, error set). Labels are a JSON object with sorted keys, and a
// histogram bucket's bound is a column of its own, so a BI tool can plot a
// series without parsing either.
type metricRow struct {
	RunID    string    `parquet:"run_id,dict"`
	Engine   string    `parquet:"engine,dict"`
	Source   string    `parquet:"source,dict"`
	TS       time.Time `parquet:"ts,timestamp(nanosecond:utc)"`
	TSUnixNS int64     `parquet:"ts_unix_ns"`
	Scenario string    `parquet:"scenario,dict"`
	Edge     string    `parquet:"edge,dict"`
	Metric   string    `parquet:"metric,dict"`
	Type     string    `parquet:"type,dict"`
	Labels   string    `parquet:"labels,dict"`
	LE       *float64  `parquet:"le,optional"`
	Value    *float64  `parquet:"value,optional"`
	Error    string    `parquet:"error,dict"`
}

// writeMetricsParquet streams the run folder src's metrics.jsonl into
// dst's metrics.parquet; a run without the journal writes nothing.
func writeMetricsParquet(src, dst string, meta meta) error {
	f, err := os.Open(filepath.Join(src, MetricsJournalFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	return writeFile(filepath.Join(dst, MetricsParquetFile), func(w io.Writer) error {
		rw := newRowWriter[metricRow](w, meta)
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			var l MetricsLine
			if len(sc.Bytes()) == 0 || json.Unmarshal(sc.Bytes(), &l) != nil {
				continue // a torn last line; ReadMetricsJournal reports it
			}
			source := "engine"
			if l.Kind != "" {
				source = l.Kind
			}
			row := metricRow{RunID: meta.RunID, Engine: l.Engine, Source: source, TS: utc(l.UnixNS), TSUnixNS: l.UnixNS, Scenario: l.Scenario,
				Edge: l.Edge, Metric: l.Metric, Type: l.Type, Labels: "{}", Error: l.Error}
			if len(l.Labels) > 0 {
				b, err := json.Marshal(l.Labels) // map keys come out sorted
				if err != nil {
					return err
				}
				row.Labels = string(b)
			}
			if le, ok := l.Labels["le"]; ok {
				if v, err := strconv.ParseFloat(le, 64); err == nil {
					row.LE = &v
				}
			}
			if l.Metric != "" {
				v := float64(l.Value)
				row.Value = &v
			}
			if err := rw.add(row); err != nil {
				return err
			}
		}
		if err := sc.Err(); err != nil {
			return fmt.Errorf("reading %s: %w", MetricsJournalFile, err)
		}
		return rw.close()
	})
}
