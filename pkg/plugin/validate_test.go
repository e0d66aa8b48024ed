package plugin

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/yaml"

	"github.com/llmbench/kubectl-llmbench/pkg/cluster"
)

var validateReport = cluster.Report{
	Namespace: "llm",
	Checks: []cluster.Check{
		{Name: cluster.CheckEngines, Status: cluster.Pass, Detail: "2 found: tgi (llm/tgi, by label), vllm (llm/vllm, by label)"},
		{Name: cluster.CheckPodsReady, Engine: "llm/tgi", Status: cluster.Pass, Detail: "1/1 Pods ready"},
		{Name: cluster.CheckRestarts, Engine: "llm/vllm", Status: cluster.Warn, Detail: "Pod vllm-0 container vllm: 1 restart(s), last OOMKilled (exit 137); ready now, but a restart during a run fails its requests: check kubectl logs vllm-0 -c vllm -n llm --previous"},
		{Name: cluster.CheckSeparateNodes, Status: cluster.Fail, Detail: "tgi and vllm share node gpu-a: they compete for its CPU, memory bandwidth and PCIe, so neither is measured alone; keep engines apart with pod anti-affinity on kubernetes.io/hostname or a nodeSelector per engine"},
	},
	Notes: []string{"cannot list nodes (RBAC); going without them"},
}

func TestWriteValidateReportTable(t *testing.T) {
	var b bytes.Buffer
	if err := writeValidateReport(&b, validateReport, "table"); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	t.Log("\n" + out)
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if got := lines[len(lines)-1]; got != "2 passed, 1 warnings, 1 failed" {
		t.Errorf("last line %q, want the counts", got)
	}
	header := ""
	for _, l := range lines {
		if strings.Contains(l, "Check") {
			header = l
			break
		}
	}
	if !inOrder(header, "Check", "Engine", "Status", "Detail") {
		t.Errorf("header %q, want Check Engine Status Detail", header)
	}
	// The cross-engine row shows a dash for its engine, and long details
	// wrap instead of widening the table.
	for _, want := range []string{"separate-nodes", "llm/vllm", "share node gpu-a", "fail", "warn", "–"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	for _, l := range lines {
		if n := len([]rune(l)); n > 140 {
			t.Errorf("line of %d characters, want details wrapped:\n%s", n, out)
			break
		}
	}
	if strings.Contains(out, "note:") {
		t.Errorf("notes belong on stderr, not in the table:\n%s", out)
	}
}

// inOrder says the line holds the words in this order.
func inOrder(line string, words ...string) bool {
	for _, w := range words {
		i := strings.Index(line, w)
		if i < 0 {
			return false
		}
		line = line[i+len(w):]
	}
	return true
}

func TestWriteValidateReportJSONAndYAML(t *testing.T) {
	for _, format := range []string{"json", "yaml"} {
		var b bytes.Buffer
		if err := writeValidateReport(&b, validateReport, format); err != nil {
			t.Fatal(err)
		}
		var got cluster.Report
		var err error
		if format == "json" {
			err = json.Unmarshal(b.Bytes(), &got)
		} else {
			err = yaml.UnmarshalStrict(b.Bytes(), &got)
		}
		if err != nil {
			t.Fatalf("%s: %v\n%s", format, err, b.String())
		}
		if !reflect.DeepEqual(got, validateReport) {
			t.Errorf("%s round trip: %+v, want %+v", format, got, validateReport)
		}
		for _, want := range []string{`"check"`, `"status"`, `"detail"`, `"namespace"`} {
			key := strings.Trim(want, `"`) + ":"
			if format == "json" {
				key = want + ":"
			}
			if !strings.Contains(b.String(), key) {
				t.Errorf("%s lacks %s:\n%s", format, key, b.String())
			}
		}
	}
}

func TestValidateCommandFlags(t *testing.T) {
	cmd := NewCmdValidate(genericiooptions.NewTestIOStreamsDiscard(), nil)
	for flag, def := range map[string]string{"output": "table", "service": "[]", "gpu-resource": "nvidia.com/gpu", "all-namespaces": "false"} {
		f := cmd.Flags().Lookup(flag)
		if f == nil || f.DefValue != def {
			t.Errorf("--%s: %+v, want default %q", flag, f, def)
		}
	}
	if cmd.Flags().ShorthandLookup("o") == nil || cmd.Flags().ShorthandLookup("A") == nil {
		t.Error("want -o and -A")
	}
	o := &ValidateOptions{output: " YAML ", gpuResource: "nvidia.com/gpu"}
	if err := o.Complete(cmd, nil); err != nil || o.Validate() != nil || o.output != "yaml" {
		t.Errorf("-o YAML: output %q, validate %v", o.output, o.Validate())
	}
	o = &ValidateOptions{output: "wide", gpuResource: "nvidia.com/gpu"}
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "table, json or yaml") {
		t.Errorf("-o wide: %v", err)
	}
	o = &ValidateOptions{output: "table", gpuResource: " "}
	_ = o.Complete(cmd, nil)
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "--gpu-resource") {
		t.Errorf("empty --gpu-resource: %v", err)
	}
}
