// Package dashboards checks the Grafana dashboards in dashboards/: each
// is a valid dashboard (the Grafana Foundation SDK's strict unmarshal),
// every query parses as PromQL (Prometheus's own parser) and selects only
// series that exist, either the benchmark's own (a real
// openmetrics.Exporter, gathered) or the engines' (their captured
// /metrics transcripts), with labels they carry.
package dashboards

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const dashboardDir = "../../dashboards"

func readDashboard(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dashboardDir, "kubectl-llmbench.json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDashboardsAreValid(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(dashboardDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no dashboards in %s", dashboardDir)
	}
	k := known(t)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, err := range check(b, k) {
				t.Error(err)
			}
		})
	}
}

// TestDashboardCoversEveryExporterMetric keeps the dashboard in step with
// the exporter: a new family with no panel fails here.
func TestDashboardCoversEveryExporterMetric(t *testing.T) {
	b := readDashboard(t)
	for name := range exporterSeries(t) {
		base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_sum"), "_count")
		if base == "llmbench_build_info" || strings.HasSuffix(name, "_sum") || strings.HasSuffix(name, "_count") {
			continue
		}
		if !bytes.Contains(b, []byte(base)) {
			t.Errorf("no panel shows %s", base)
		}
	}
}

// TestCheckRejects proves the check can fail: each broken copy of the
// dashboard must be caught, for the reason given.
func TestCheckRejects(t *testing.T) {
	good := readDashboard(t)
	k := known(t)
	if errs := check(good, k); len(errs) != 0 {
		t.Fatalf("the dashboard itself fails: %v", errs)
	}
	for _, c := range []struct {
		name, old, new, want string
	}{
		{"bogus metric", "llmbench_ttft_seconds_bucket", "llmbench_ttft_secs_bucket", "llmbench_ttft_secs_bucket is neither"},
		{"bogus engine metric", "(vllm:num_requests_waiting)", "(vllm:num_requests_queued)", "vllm:num_requests_queued is neither"},
		{"bad PromQL", "sum by (engine, outcome) (rate(", "sum by (engine, outcome (rate(", "parse error"},
		{"unknown label in by", "sum by (engine) (llmbench_requests_in_flight", "sum by (engin) (llmbench_requests_in_flight", "has no label engin"},
		// Matchers' quotes are escaped inside the JSON string.
		{"unknown label in a matcher", `outcome=\"error\"`, `result=\"error\"`, "has no label result"},
		{"value the exporter never uses", `outcome=\"error\"`, `outcome=\"failed\"`, `outcome="failed"`},
		{"variable where a duration goes", "[$__rate_interval]", "[$engine]", "parse error"},
		{"misspelt panel field", `"gridPos"`, `"gridPoz"`, "gridPoz"},
		{"misspelt target field", `"legendFormat"`, `"legendFromat"`, "legendFromat"},
		{"panel without targets", `"targets": [`, `"targetz": [`, "targetz"},
		{"variable lost", `"name": "scenario"`, `"name": "scenarios"`, `no query variable "scenario"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			if bytes.Count(good, []byte(c.old)) == 0 {
				t.Fatalf("%q is not in the dashboard: the case no longer breaks anything", c.old)
			}
			bad := bytes.Replace(good, []byte(c.old), []byte(c.new), 1)
			errs := check(bad, k)
			for _, err := range errs {
				if strings.Contains(err.Error(), c.want) {
					return
				}
			}
			t.Errorf("want an error containing %q, got %v", c.want, errs)
		})
	}

	t.Run("panel with no targets at all", func(t *testing.T) {
		// Strict unmarshalling accepts a panel without the field; the
		// check must not.
		var d map[string]any
		if err := json.Unmarshal(good, &d); err != nil {
			t.Fatal(err)
		}
		cut := ""
		for _, p := range d["panels"].([]any) {
			if p := p.(map[string]any); p["type"] != "row" {
				delete(p, "targets")
				cut, _ = p["title"].(string)
				break
			}
		}
		bad, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, err := range check(bad, k) {
			if strings.Contains(err.Error(), "has no targets") && strings.Contains(err.Error(), cut) {
				return
			}
		}
		t.Errorf("panel %q without targets was not rejected", cut)
	})
}
