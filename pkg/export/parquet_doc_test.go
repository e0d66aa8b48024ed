package export

import (
	"bufio"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// docColumn is one row of a column table in docs/parquet-schema.md.
type docColumn struct{ name, parquetType, null string }

// docColumns reads the column tables of docs/parquet-schema.md by file.
func docColumns(t *testing.T) map[string][]docColumn {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "docs", "parquet-schema.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]docColumn{}
	file := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if h, ok := strings.CutPrefix(line, "## "); ok {
			file = strings.TrimSpace(h)
			continue
		}
		cells := strings.Split(line, "|")
		// | `name` | Parquet | DuckDB | null | unit | meaning |
		if len(cells) != 8 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		out[file] = append(out[file], docColumn{strings.Trim(strings.TrimSpace(cells[1]), "`"),
			strings.TrimSpace(cells[2]), strings.TrimSpace(cells[4])})
	}
	return out
}

// parquetTypeName renders a column's type as the documentation writes it.
func parquetTypeName(f parquet.Field) string {
	lt := ""
	if l := f.Type().LogicalType(); l != nil {
		lt = l.String()
	}
	switch {
	case lt == "STRING":
		return "STRING"
	case lt == "TIMESTAMP(isAdjustedToUTC=true,unit=NANOS)":
		return "TIMESTAMP(NANOS, UTC)"
	case lt == "" || lt == "INT(64,true)":
		return f.Type().Kind().String()
	default:
		return lt
	}
}

func TestDocsDescribeEveryParquetColumn(t *testing.T) {
	dir := t.TempDir()
	run := fixtureRun(t, dir)
	writeMetricsFixture(t, dir)
	if err := WriteParquet(dir, run); err != nil {
		t.Fatal(err)
	}
	docs := docColumns(t)
	for _, name := range []string{requestsParquetFile, ChunksParquetFile, SummaryParquetFile, MetricsParquetFile} {
		var got []docColumn
		for _, f := range openParquet(t, filepath.Join(dir, name)).Schema().Fields() {
			null := "no"
			if f.Optional() {
				null = "yes"
			}
			got = append(got, docColumn{f.Name(), parquetTypeName(f), null})
		}
		if !reflect.DeepEqual(got, docs[name]) {
			t.Errorf("docs/parquet-schema.md does not describe %s as written:\nfile %v\ndocs %v", name, got, docs[name])
		}
	}
}
