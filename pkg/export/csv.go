package export

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/verdict"
)

// CSV files of a run folder: the Parquet files' rows and column names, for
// spreadsheets and tools without a Parquet reader.
const (
	requestsCSVFile = "requests.csv"
	ChunksCSVFile   = "chunks.csv"
	SummaryCSVFile  = "summary.csv"
)

// csvTimeLayout is RFC 3339 in UTC with all nine fractional digits, so the
// text sorts like the time and no nanosecond is lost.
const csvTimeLayout = "2006-01-02T15:04:05.000000000Z"

// WriteCSV writes requests.csv and summary.csv into dir, streaming requests
// from the run's journal like WriteParquet. chunks.csv can run to hundreds
// of rows per request, so it is left to WriteChunksCSV.
func WriteCSV(dir string, run *Run) error {
	next, done, err := runRecords(run)
	if err != nil {
		return err
	}
	defer done()
	if err := writeFile(filepath.Join(dir, requestsCSVFile), func(w io.Writer) error {
		return writeRequestsCSV(w, next)
	}); err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, SummaryCSVFile), func(w io.Writer) error {
		return writeSummaryCSV(w, run.Summary)
	})
}

// writeRequestsCSV writes requests.csv: requests.parquet's columns.
func writeRequestsCSV(w io.Writer, next nextRecord) error {
	out := newCSVWriter[requestRow](w)
	return forEachRecord(next, func(r *engine.Record) error { return out.write(requestRowOf(r)) }, out.close)
}

// writeChunksCSV writes chunks.csv: chunks.parquet's columns.
func writeChunksCSV(w io.Writer, next nextRecord) error {
	out := newCSVWriter[chunkRow](w)
	return forEachRecord(next, func(r *engine.Record) error { return eachChunk(r, out.write) }, out.close)
}

// writeSummaryCSV writes summary.csv: summary.parquet's columns.
func writeSummaryCSV(w io.Writer, s verdict.Summary) error {
	out := newCSVWriter[summaryRow](w)
	for _, r := range summaryRows(s) {
		if err := out.write(r); err != nil {
			return err
		}
	}
	return out.close()
}

func forEachRecord(next nextRecord, do func(*engine.Record) error, finish func() error) error {
	for {
		rec, err := next()
		if errors.Is(err, io.EOF) {
			return finish()
		}
		if err != nil {
			return err
		}
		if err := do(rec); err != nil {
			return err
		}
	}
}

// csvWriter writes rows of one of the Parquet row types. Columns and names
// come from the same struct and tags as the Parquet schema, so the two
// formats cannot drift apart.
type csvWriter[T any] struct {
	w      *csv.Writer
	fields []func(reflect.Value) string
	record []string
	header bool
}

func newCSVWriter[T any](w io.Writer) *csvWriter[T] {
	t := reflect.TypeFor[T]()
	cw := csv.NewWriter(w)
	// RFC 4180 ends records with CRLF; Excel and Power BI expect it.
	cw.UseCRLF = true
	c := &csvWriter[T]{w: cw}
	for i := range t.NumField() {
		c.fields = append(c.fields, csvField(t.Field(i).Type, i))
	}
	c.record = make([]string, len(c.fields))
	return c
}

// csvColumns is the header of a CSV file written from row type t.
func csvColumns(t reflect.Type) []string {
	names := make([]string, t.NumField())
	for i := range names {
		names[i], _, _ = strings.Cut(t.Field(i).Tag.Get("parquet"), ",")
	}
	return names
}

func (c *csvWriter[T]) write(row T) error {
	if !c.header {
		c.header = true
		if err := c.w.Write(csvColumns(reflect.TypeFor[T]())); err != nil {
			return err
		}
	}
	v := reflect.ValueOf(row)
	for i, f := range c.fields {
		c.record[i] = f(v)
	}
	return c.w.Write(c.record)
}

// close writes the header of an empty file, then flushes.
func (c *csvWriter[T]) close() error {
	if !c.header {
		c.header = true
		if err := c.w.Write(csvColumns(reflect.TypeFor[T]())); err != nil {
			return err
		}
	}
	c.w.Flush()
	return c.w.Error()
}

// csvField formats field i of a row; a nil pointer (a null) is an empty
// field. Floats use the shortest text that parses back to the same bits,
// without an exponent, which spreadsheets would otherwise show.
func csvField(t reflect.Type, i int) func(reflect.Value) string {
	switch {
	case t == reflect.TypeFor[time.Time]():
		return func(v reflect.Value) string { return v.Field(i).Interface().(time.Time).UTC().Format(csvTimeLayout) }
	case t.Kind() == reflect.Pointer:
		elem := csvScalar(t.Elem())
		return func(v reflect.Value) string {
			if p := v.Field(i); !p.IsNil() {
				return elem(p.Elem())
			}
			return ""
		}
	default:
		scalar := csvScalar(t)
		return func(v reflect.Value) string { return scalar(v.Field(i)) }
	}
}

func csvScalar(t reflect.Type) func(reflect.Value) string {
	switch t.Kind() {
	case reflect.String:
		return func(v reflect.Value) string { return v.String() }
	case reflect.Int64:
		return func(v reflect.Value) string { return strconv.FormatInt(v.Int(), 10) }
	case reflect.Float64:
		return func(v reflect.Value) string { return strconv.FormatFloat(v.Float(), 'f', -1, 64) }
	case reflect.Bool:
		return func(v reflect.Value) string { return strconv.FormatBool(v.Bool()) }
	}
	// Only reachable when a column of a new type is added to a row struct.
	panic(fmt.Sprintf("csv: no format for column type %s", t))
}
