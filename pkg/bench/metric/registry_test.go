package metric

import (
	"reflect"
	"testing"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
)

// Every registered accessor reads its own field: set one pointer field of
// a record at a time and exactly one metric must see it.
func TestEachAccessorReadsOneDistinctField(t *testing.T) {
	rt := reflect.TypeOf(engine.Record{})
	seen := map[string]string{}
	for i := 0; i < rt.NumField(); i++ {
		f := rt.Field(i)
		if f.Type != reflect.TypeOf((*float64)(nil)) {
			continue
		}
		var r engine.Record
		v := 1.5
		reflect.ValueOf(&r).Elem().Field(i).Set(reflect.ValueOf(&v))
		for _, d := range Defs {
			if d.Of == nil {
				continue
			}
			if p := d.Of(&r); p != nil {
				if prev, ok := seen[d.Name]; ok {
					t.Errorf("%s reads both %s and %s", d.Name, prev, f.Name)
				}
				seen[d.Name] = f.Name
			}
		}
	}
	for _, d := range Defs {
		if d.Of != nil && seen[d.Name] == "" {
			t.Errorf("%s reads no float field of Record", d.Name)
		}
	}
}

func TestNamesAreUniqueAndLabelled(t *testing.T) {
	names := map[string]bool{}
	for _, d := range Defs {
		if names[d.Name] || d.Label == "" || d.Unit == "" {
			t.Errorf("%+v: duplicate, or no label or unit", d)
		}
		names[d.Name] = true
	}
	if !HigherIsBetter(TokensPerS) || HigherIsBetter(TTFT) || Label(TTFT) != "TTFT" || Label("nope") != "nope" {
		t.Error("lookups disagree with Defs")
	}
}
