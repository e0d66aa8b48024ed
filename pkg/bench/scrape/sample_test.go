package scrape

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const transcriptDir = "../../../../shared/reference/transcripts"

func parseFile(t *testing.T, name string) []Sample {
	t.Helper()
	f, err := os.Open(filepath.Join(transcriptDir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// vLLM's default registry: counters, gauges, histograms with model_name
// and engine labels, and _created series after each family.
func TestParseVLLMMetrics(t *testing.T) {
	ss := parseFile(t, "vllm-metrics.prom")
	inf, ok := Find(ss, "vllm:time_to_first_token_seconds_bucket", map[string]string{"le": "+Inf"})
	count, ok2 := Find(ss, "vllm:time_to_first_token_seconds_count", nil)
	if !ok || !ok2 || inf.Value != count.Value || count.Value <= 0 || inf.Type != "histogram" || inf.Labels["model_name"] != "meta-llama/Llama-3.1-8B-Instruct" {
		t.Errorf("ttft +Inf %+v, count %+v", inf, count)
	}
	if b, ok := Find(ss, "vllm:time_to_first_token_seconds_bucket", map[string]string{"le": "0.001"}); !ok || b.Value != 0 {
		t.Errorf("first bucket %+v", b)
	}
	if _, ok := Find(ss, "vllm:num_requests_running", map[string]string{"engine": "0"}); !ok {
		t.Error("no vllm:num_requests_running gauge")
	}
	created := 0
	for _, s := range ss {
		if strings.HasSuffix(s.Metric, "_created") {
			created++
		}
	}
	if created == 0 {
		t.Error("the _created series were dropped")
	}
}

// TGI's metrics crate: no HELP on some families, bucket bounds written
// long, no labels on most.
func TestParseTGIMetrics(t *testing.T) {
	ss := parseFile(t, "tgi-metrics.prom")
	if s, ok := Find(ss, "tgi_request_count", nil); !ok || s.Value != 251 || s.Type != "counter" || s.Labels != nil {
		t.Errorf("tgi_request_count %+v", s)
	}
	if s, ok := Find(ss, "tgi_request_failure", map[string]string{"err": "overloaded"}); !ok || s.Value != 1 {
		t.Errorf("tgi_request_failure{err=overloaded} %+v", s)
	}
	if s, ok := Find(ss, "tgi_request_duration_bucket", map[string]string{"le": "0.00015000000000000001"}); !ok {
		t.Errorf("tgi_request_duration first bucket %+v", s)
	}
	c, ok := Find(ss, "tgi_request_duration_count", nil)
	inf, ok2 := Find(ss, "tgi_request_duration_bucket", map[string]string{"le": "+Inf"})
	if !ok || !ok2 || c.Value != inf.Value {
		t.Errorf("count %+v, +Inf %+v", c, inf)
	}
}

func TestParseSummariesAndGarbage(t *testing.T) {
	body := "# TYPE rpc_seconds summary\nrpc_seconds{quantile=\"0.5\"} 0.2\nrpc_seconds{quantile=\"0.99\"} 1.5\nrpc_seconds_sum 40\nrpc_seconds_count 100\nuntyped_thing 3\n"
	ss, err := Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if q, ok := Find(ss, "rpc_seconds", map[string]string{"quantile": "0.99"}); !ok || q.Value != 1.5 || q.Type != "summary" {
		t.Errorf("quantile %+v", q)
	}
	if c, ok := Find(ss, "rpc_seconds_count", nil); !ok || c.Value != 100 {
		t.Errorf("count %+v", c)
	}
	if u, ok := Find(ss, "untyped_thing", nil); !ok || u.Type != "untyped" {
		t.Errorf("untyped %+v", u)
	}
	for _, bad := range []string{"<html>login</html>", "metric{unclosed 3\n", "# TYPE x counter\nx notanumber\n"} {
		if _, err := Parse(strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "not Prometheus text") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// FuzzParse: any body parses or fails; never panics, and histograms
// always end in an +Inf bucket equal to their count.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"vllm-metrics.prom", "tgi-metrics.prom"} {
		if b, err := os.ReadFile(filepath.Join(transcriptDir, name)); err == nil {
			f.Add(b[:min(len(b), 4000)])
		}
	}
	f.Add([]byte("# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_sum 3\nh_count 4\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ss, err := Parse(strings.NewReader(string(b)))
		if err != nil {
			return
		}
		for _, s := range ss {
			if s.Metric == "" || s.Type == "" {
				t.Fatalf("%+v", s)
			}
		}
	})
}
