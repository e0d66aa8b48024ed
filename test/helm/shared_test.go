package helmtest

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// The engine charts share templates by copy: in the umbrella every
// template name lives in one namespace, so the copies must be the same.
// Edit helm/vllm's and copy it to the others.
func TestSharedTemplatesAreIdentical(t *testing.T) {
	shared := map[string][]string{
		"templates/_helpers.tpl":        Engines,
		"templates/service.yaml":        Engines,
		"templates/pvc.yaml":            Engines,
		"templates/route.yaml":          Engines,
		"templates/ingress.yaml":        Engines,
		"templates/servicemonitor.yaml": {"vllm", "tgi"}, // Ollama has no /metrics
		".helmignore":                   append(Engines, Umbrella),
	}
	for file, charts := range shared {
		first, err := os.ReadFile(filepath.Join(Source(), charts[0], file))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range charts[1:] {
			b, err := os.ReadFile(filepath.Join(Source(), c, file))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(first, b) {
				t.Errorf("helm/%s/%s differs from helm/%s/%s: copy it (cp helm/%[3]s/%[2]s helm/%[1]s/%[2]s)", c, file, charts[0], file)
			}
		}
	}
}

// global is one contract between the umbrella and the engines: each
// chart's schema must describe it the same way, or a value the umbrella
// accepts would fail in an engine (or the reverse).
func TestSchemasAgreeOnGlobal(t *testing.T) {
	var want map[string]any
	for _, c := range append([]string{Umbrella}, Engines...) {
		b, err := os.ReadFile(filepath.Join(Source(), c, "values.schema.json"))
		if err != nil {
			t.Fatal(err)
		}
		var s struct {
			Schema      string         `json:"$schema"`
			Additional  *bool          `json:"additionalProperties"`
			Definitions map[string]any `json:"definitions"`
		}
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatalf("helm/%s/values.schema.json: %v", c, err)
		}
		if s.Schema != "http://json-schema.org/draft-07/schema#" {
			t.Errorf("helm/%s/values.schema.json: $schema %q, want draft-07", c, s.Schema)
		}
		if s.Additional == nil || *s.Additional {
			t.Errorf("helm/%s/values.schema.json: top-level additionalProperties must be false, so a typo fails", c)
		}
		got := map[string]any{}
		for _, k := range []string{"global", "model", "gpu"} {
			got[k] = s.Definitions[k]
		}
		if want == nil {
			want = got
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("helm/%s/values.schema.json: definitions global, model and gpu differ from helm/%s's", c, Umbrella)
		}
	}
}
