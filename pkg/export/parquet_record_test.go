package export

import (
	"reflect"
	"strings"
	"testing"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
)

// chunkArrays are the journal fields that go to chunks.parquet in long
// form instead of a column of requests.parquet.
var chunkArrays = map[string]bool{"itl_ms": true, "chunk_offsets_ms": true}

// TestEveryRecordFieldHasAColumnAndIsCopied fails when a field is added to
// engine.Record without a requests.parquet column, or with a column that
// requestRowOf leaves empty: every field is set to a non-zero value and its
// column must come out non-zero.
func TestEveryRecordFieldHasAColumnAndIsCopied(t *testing.T) {
	var rec engine.Record
	rv := reflect.ValueOf(&rec).Elem()
	for i := range rv.NumField() {
		setNonZero(t, rv.Type().Field(i).Name, rv.Field(i))
	}
	row := reflect.ValueOf(requestRowOf(&rec))
	columns := map[string]reflect.Value{}
	for i := range row.NumField() {
		name, _, _ := strings.Cut(row.Type().Field(i).Tag.Get("parquet"), ",")
		columns[name] = row.Field(i)
	}
	for i := range rv.NumField() {
		f := rv.Type().Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if chunkArrays[name] {
			continue
		}
		col, ok := columns[name]
		if !ok {
			t.Errorf("Record.%s (json %q) has no requests.parquet column: add it to requestRow, requestRowOf and docs/parquet-schema.md", f.Name, name)
			continue
		}
		if col.IsZero() {
			t.Errorf("column %q stays empty although Record.%s is set: requestRowOf does not copy it", name, f.Name)
		}
	}
}

func setNonZero(t *testing.T, name string, v reflect.Value) {
	t.Helper()
	switch v.Kind() {
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		v.SetInt(7)
	case reflect.Float64:
		v.SetFloat(7)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		setNonZero(t, name, p.Elem())
		v.Set(p)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 1, 1)
		setNonZero(t, name, s.Index(0))
		v.Set(s)
	default:
		t.Fatalf("Record.%s is a %s: teach setNonZero to fill it", name, v.Kind())
	}
}
