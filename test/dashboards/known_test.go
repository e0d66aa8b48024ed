package dashboards

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/openmetrics"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

const transcriptDir = "../../../shared/reference/transcripts"

// engineTranscripts are the engines' own /metrics as captured; Ollama
// serves none.
var engineTranscripts = []string{"vllm-metrics.prom", "tgi-metrics.prom"}

// targetLabels are the labels Prometheus attaches to every series it
// scrapes from the engines; they are in no exposition.
var targetLabels = []string{"job", "instance"}

// series is what a query may select: the series names Prometheus stores
// for a family, each with its labels and the values seen for them.
type series map[string]map[string]map[string]bool

func (s series) add(name string, labels map[string]string) {
	ls := s[name]
	if ls == nil {
		ls = map[string]map[string]bool{}
		s[name] = ls
	}
	for k, v := range labels {
		if ls[k] == nil {
			ls[k] = map[string]bool{}
		}
		ls[k][v] = true
	}
}

// addFamily adds the series Prometheus stores for one family: a classic
// histogram as _bucket (with le), _sum and _count, and, for a native one,
// the family's own name; a summary as the name (with quantile), _sum and
// _count; counters and gauges as named.
func (s series) addFamily(f *dto.MetricFamily) {
	name := f.GetName()
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		with := func(k, v string) map[string]string {
			c := map[string]string{k: v}
			for lk, lv := range labels {
				c[lk] = lv
			}
			return c
		}
		switch f.GetType() {
		case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
			h := m.GetHistogram()
			for _, b := range h.GetBucket() {
				s.add(name+"_bucket", with("le", model.FloatString(b.GetUpperBound()).String()))
			}
			s.add(name+"_bucket", with("le", "+Inf"))
			s.add(name+"_sum", labels)
			s.add(name+"_count", labels)
			if h.Schema != nil {
				s.add(name, labels)
			}
		case dto.MetricType_SUMMARY:
			for _, q := range m.GetSummary().GetQuantile() {
				s.add(name, with("quantile", model.FloatString(q.GetQuantile()).String()))
			}
			s.add(name+"_sum", labels)
			s.add(name+"_count", labels)
		default:
			s.add(name, labels)
		}
	}
}

// exporterSeries feeds a real Exporter one record of each kind and reads
// back, through its Handler and the protobuf format a Prometheus with
// native histograms asks for, every series it exposes.
func exporterSeries(t *testing.T) series {
	t.Helper()
	e := openmetrics.New("test")
	f := func(v float64) *float64 { return &v }
	ok := &engine.Record{Engine: "vllm", Scenario: "chat", Phase: engine.PhaseMeasure, OK: true,
		TTFBMS: f(40), TTFTMS: f(90), TPOTMS: f(12), E2EMS: f(800), ITLMS: []float64{11, 13},
		ScheduleLagMS: 1, PromptTokens: 20, OutputTokens: 3}
	e.ScenarioStarted(engine.Target{Name: "vllm"}, workload.Scenario{Name: "chat", Arrival: workload.ArrivalPoisson, Rate: 2})
	e.RequestSent(ok)
	for _, r := range []*engine.Record{
		ok,
		{Engine: "vllm", Scenario: "chat", Phase: engine.PhaseWarmup, OK: true, TTFTMS: f(900)},
		{Engine: "vllm", Scenario: "chat", Phase: engine.PhaseMeasure, ErrorClass: engine.ErrHTTP5xx},
		{Engine: "vllm", Scenario: "chat", Phase: engine.PhaseMeasure, ErrorClass: engine.ErrDropped},
	} {
		if err := e.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("Accept", "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited")
	rec := httptest.NewRecorder()
	e.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("exporter: %d %s", rec.Code, rec.Body)
	}
	format := expfmt.ResponseFormat(rec.Header())
	if format.FormatType() != expfmt.TypeProtoDelim {
		t.Fatalf("exporter answered %q, not delimited protobuf", rec.Header().Get("Content-Type"))
	}
	s := series{}
	dec := expfmt.NewDecoder(bytes.NewReader(rec.Body.Bytes()), format)
	for {
		var mf dto.MetricFamily
		if err := dec.Decode(&mf); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatal(err)
		}
		s.addFamily(&mf)
	}
	if len(s) == 0 {
		t.Fatal("the exporter exposed nothing")
	}
	return s
}

// transcriptSeries are the engines' series as their captured /metrics
// show them, with the labels Prometheus adds when it scrapes them.
func transcriptSeries(t *testing.T) series {
	t.Helper()
	if _, err := os.Stat(transcriptDir); err != nil {
		t.Skipf("transcripts not found at %s (shared/ is expected beside the checkout): %v", transcriptDir, err)
	}
	s := series{}
	for _, name := range engineTranscripts {
		b, err := os.ReadFile(filepath.Join(transcriptDir, name))
		if err != nil {
			t.Fatal(err)
		}
		p := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := p.TextToMetricFamilies(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, f := range fams {
			s.addFamily(f)
		}
	}
	for name := range s {
		for _, l := range targetLabels {
			s.add(name, map[string]string{l: ""})
		}
	}
	return s
}

// known is every series a dashboard query may name.
func known(t *testing.T) series {
	t.Helper()
	s := exporterSeries(t)
	for name, labels := range transcriptSeries(t) {
		if _, dup := s[name]; dup {
			t.Fatalf("%s is both the exporter's and an engine's", name)
		}
		s[name] = labels
	}
	return s
}
