package openmetrics

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

const (
	acceptOpenMetrics = "application/openmetrics-text; version=1.0.0"
	acceptProtobuf    = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"
)

func f(v float64) *float64 { return &v }

// measured is a successful measured request with the given latencies.
func measured(eng, scenario string, ttftMS, e2eMS float64, itlMS ...float64) *engine.Record {
	return &engine.Record{
		Engine: eng, Scenario: scenario, Phase: engine.PhaseMeasure, OK: true,
		TTFBMS: f(ttftMS / 2), TTFTMS: f(ttftMS), TPOTMS: f(10), E2EMS: f(e2eMS), ITLMS: itlMS,
		ScheduleLagMS: 1, PromptTokens: 100, OutputTokens: len(itlMS) + 1,
	}
}

// serve starts e on a free local port, stopped at the test's end.
func serve(t *testing.T, e *Exporter) string {
	t.Helper()
	addr, stop, err := e.Serve("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// t.Context is already cancelled when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return "http://" + addr
}

func get(t *testing.T, url, accept string) (body []byte, contentType string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", url, resp.Status, body)
	}
	return body, resp.Header.Get("Content-Type")
}

// scrapeOpenMetrics scrapes /metrics as OpenMetrics and parses it with
// expfmt. expfmt has no OpenMetrics reader of its own; its text parser
// reads this exposition (no exemplars, no _created series, so nothing
// else differs) except that a counter's samples, named with _total while
// the TYPE line names the family without, come back as an untyped family
// under the sample's name. Lookups here go by sample name.
func scrapeOpenMetrics(t *testing.T, base string) (map[string]*dto.MetricFamily, string) {
	t.Helper()
	body, ct := get(t, base+"/metrics", acceptOpenMetrics)
	if !strings.HasPrefix(ct, "application/openmetrics-text; version=1.0.0") {
		t.Errorf("Content-Type = %q, want OpenMetrics 1.0.0", ct)
	}
	if !bytes.HasSuffix(body, []byte("\n# EOF\n")) {
		t.Errorf("OpenMetrics body does not end with # EOF:\n%s", tail(body))
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, body)
	}
	return fams, string(body)
}

func tail(b []byte) string {
	if len(b) > 200 {
		b = b[len(b)-200:]
	}
	return string(b)
}

// series returns the one series of fam whose labels are exactly want
// (le and quantile aside).
func series(t *testing.T, fams map[string]*dto.MetricFamily, name string, want map[string]string) *dto.Metric {
	t.Helper()
	fam := fams[name]
	if fam == nil {
		t.Fatalf("no family %s", name)
	}
	var found *dto.Metric
	for _, m := range fam.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		if len(got) != len(want) {
			continue
		}
		match := true
		for k, v := range want {
			match = match && got[k] == v
		}
		if match {
			if found != nil {
				t.Fatalf("%s%v: two series", name, want)
			}
			found = m
		}
	}
	if found == nil {
		t.Fatalf("%s%v: no such series in %v", name, want, fam.GetMetric())
	}
	return found
}

// value reads a counter (untyped once parsed, see scrapeOpenMetrics) or
// gauge.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	m := series(t, fams, name, labels)
	switch {
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Untyped != nil:
		return m.GetUntyped().GetValue()
	}
	t.Fatalf("%s%v is neither counter nor gauge", name, labels)
	return 0
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func TestScrapeCountsRecords(t *testing.T) {
	e := New("v1.2.3")
	base := serve(t, e)
	recs := []*engine.Record{
		measured("vllm", "chat", 120, 900, 10, 20, 30),
		measured("vllm", "chat", 80, 700, 15, 25),
		measured("tgi", "chat", 200, 1500, 40),
		// Warm-up: counted with its phase, never observed.
		{Engine: "vllm", Scenario: "chat", Phase: engine.PhaseWarmup, OK: true, TTFTMS: f(5000), E2EMS: f(9000), ITLMS: []float64{1}, OutputTokens: 50, ScheduleLagMS: 7},
		// A failure: counted with its class, lag observed, no latency or tokens.
		{Engine: "vllm", Scenario: "chat", Phase: engine.PhaseMeasure, ErrorClass: engine.ErrHTTP5xx, TTFBMS: f(3), ScheduleLagMS: 2, OutputTokens: 9},
		// Dropped by the client's cap: never sent, so no lag either.
		{Engine: "vllm", Scenario: "chat", Phase: engine.PhaseMeasure, ErrorClass: engine.ErrDropped, ScheduleLagMS: 99},
		// A cold start: a model load, kept out of latency like the summarizer does.
		{Engine: "vllm", Scenario: "chat", Phase: engine.PhaseMeasure, OK: true, ColdStart: true, TTFTMS: f(30000), E2EMS: f(31000), ScheduleLagMS: 4, PromptTokens: 10, OutputTokens: 3},
	}
	for _, r := range recs {
		if err := e.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	fams, text := scrapeOpenMetrics(t, base)

	if !strings.Contains(text, "# TYPE llmbench_requests counter\n") {
		t.Errorf("llmbench_requests is not typed counter in the OpenMetrics text")
	}
	if got := value(t, fams, "llmbench_build_info", map[string]string{"version": "v1.2.3"}); got != 1 {
		t.Errorf("build_info = %v", got)
	}
	vc := map[string]string{"engine": "vllm", "scenario": "chat"}
	tc := map[string]string{"engine": "tgi", "scenario": "chat"}
	with := func(base map[string]string, kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, c := range []struct {
		labels map[string]string
		want   float64
	}{
		{with(vc, "phase", "measure", "outcome", "ok", "error_class", ""), 3},
		{with(vc, "phase", "warmup", "outcome", "ok", "error_class", ""), 1},
		{with(vc, "phase", "measure", "outcome", "error", "error_class", "http_5xx"), 1},
		{with(vc, "phase", "measure", "outcome", "error", "error_class", "dropped"), 1},
		{with(tc, "phase", "measure", "outcome", "ok", "error_class", ""), 1},
	} {
		if got := value(t, fams, "llmbench_requests_total", c.labels); got != c.want {
			t.Errorf("requests_total%v = %v, want %v", c.labels, got, c.want)
		}
	}
	if n := len(fams["llmbench_requests_total"].GetMetric()); n != 5 {
		t.Errorf("requests_total has %d series, want 5", n)
	}

	hist := func(name string, labels map[string]string) *dto.Histogram {
		h := series(t, fams, name, labels).GetHistogram()
		if h == nil {
			t.Fatalf("%s%v is not a histogram", name, labels)
		}
		return h
	}
	for _, c := range []struct {
		name  string
		count uint64
		sum   float64
	}{
		// Two warm, measured, successful vLLM requests.
		{"llmbench_ttft_seconds", 2, 0.120 + 0.080},
		{"llmbench_ttfb_seconds", 2, 0.060 + 0.040},
		{"llmbench_tpot_seconds", 2, 0.020},
		{"llmbench_e2e_seconds", 2, 0.900 + 0.700},
		{"llmbench_itl_seconds", 5, 0.010 + 0.020 + 0.030 + 0.015 + 0.025},
		// Every sent measured request: two ok, the 5xx, the cold start.
		{"llmbench_schedule_lag_seconds", 4, 0.001 + 0.001 + 0.002 + 0.004},
	} {
		h := hist(c.name, vc)
		if h.GetSampleCount() != c.count || !near(h.GetSampleSum(), c.sum) {
			t.Errorf("%s{vllm,chat}: count %d sum %v, want %d and %v", c.name, h.GetSampleCount(), h.GetSampleSum(), c.count, c.sum)
		}
	}
	if h := hist("llmbench_ttft_seconds", tc); h.GetSampleCount() != 1 || !near(h.GetSampleSum(), 0.2) {
		t.Errorf("ttft{tgi}: count %d sum %v, want 1 and 0.2", h.GetSampleCount(), h.GetSampleSum())
	}
	// The OpenMetrics text carries the classic buckets, +Inf included,
	// cumulative: 80 ms and 120 ms both lie in (0.075, 0.15].
	h := hist("llmbench_ttft_seconds", vc)
	if n := len(h.GetBucket()); n != len(latencyBuckets)+1 {
		t.Errorf("ttft has %d classic buckets, want %d", n, len(latencyBuckets)+1)
	}
	for _, b := range h.GetBucket() {
		want := uint64(0)
		switch {
		case b.GetUpperBound() >= 0.15:
			want = 2
		case b.GetUpperBound() >= 0.1:
			want = 1
		}
		if b.GetCumulativeCount() != want {
			t.Errorf("ttft bucket le=%v: %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), want)
		}
	}

	// Tokens of succeeded measured requests, the cold start's included
	// (it produced them); not the warm-up's, not the failure's.
	if got := value(t, fams, "llmbench_output_tokens_total", vc); got != 4+3+3 {
		t.Errorf("output_tokens_total{vllm} = %v, want 10", got)
	}
	if got := value(t, fams, "llmbench_prompt_tokens_total", vc); got != 210 {
		t.Errorf("prompt_tokens_total{vllm} = %v, want 210", got)
	}
	if got := value(t, fams, "llmbench_output_tokens_total", tc); got != 2 {
		t.Errorf("output_tokens_total{tgi} = %v, want 2", got)
	}
}

func TestInFlightNeverNegative(t *testing.T) {
	e := New("test")
	base := serve(t, e)
	labels := map[string]string{"engine": "ollama", "scenario": "load"}
	inFlight := func() float64 {
		t.Helper()
		fams, _ := scrapeOpenMetrics(t, base)
		return value(t, fams, "llmbench_requests_in_flight", labels)
	}
	rec := func() *engine.Record { return measured("ollama", "load", 50, 500, 5) }

	a, b, c := rec(), rec(), rec()
	e.RequestSent(a)
	e.RequestSent(b)
	e.RequestSent(c)
	if got := inFlight(); got != 3 {
		t.Fatalf("in flight after 3 sent = %v", got)
	}
	_ = e.Write(b)
	if got := inFlight(); got != 2 {
		t.Fatalf("in flight after 1 written = %v", got)
	}
	// A dropped request was never announced; it must not end one that was.
	_ = e.Write(&engine.Record{Engine: "ollama", Scenario: "load", Phase: engine.PhaseMeasure, ErrorClass: engine.ErrDropped})
	if got := inFlight(); got != 2 {
		t.Fatalf("in flight after a dropped record = %v, want 2", got)
	}
	_ = e.Write(a)
	_ = e.Write(c)
	// Records from in-cluster workers arrive with no announcement.
	for range 5 {
		_ = e.Write(rec())
	}
	if got := inFlight(); got != 0 {
		t.Fatalf("in flight after unannounced records = %v, want 0", got)
	}
	e.RequestSent(rec())
	if got := inFlight(); got != 1 {
		t.Fatalf("in flight after one more sent = %v, want 1 (the unannounced records must not have been banked)", got)
	}
}

func TestScenarioGauges(t *testing.T) {
	e := New("test")
	base := serve(t, e)
	target := engine.Target{Name: "vllm"}
	open := workload.Scenario{Name: "poisson-4", Arrival: workload.ArrivalPoisson, Rate: 4}
	closed := workload.Scenario{Name: "users-8", Arrival: workload.ArrivalClosed, Concurrency: 8}
	e.ScenarioStarted(target, open)
	e.ScenarioStarted(target, closed)

	fams, _ := scrapeOpenMetrics(t, base)
	ol := map[string]string{"engine": "vllm", "scenario": "poisson-4"}
	cl := map[string]string{"engine": "vllm", "scenario": "users-8"}
	if got := value(t, fams, "llmbench_scenario_running", ol); got != 1 {
		t.Errorf("running{open} = %v, want 1", got)
	}
	if got := value(t, fams, "llmbench_scenario_running", cl); got != 1 {
		t.Errorf("running{closed} = %v, want 1", got)
	}
	if got := value(t, fams, "llmbench_scenario_asked_rate_requests_per_second", ol); got != 4 {
		t.Errorf("asked rate{open} = %v, want 4", got)
	}
	if n := len(fams["llmbench_scenario_asked_rate_requests_per_second"].GetMetric()); n != 1 {
		t.Errorf("asked rate has %d series, want only the open loop's", n)
	}

	e.ScenarioFinished(target, open)
	fams, _ = scrapeOpenMetrics(t, base)
	if got := value(t, fams, "llmbench_scenario_running", ol); got != 0 {
		t.Errorf("running{open} after finish = %v, want 0", got)
	}
	if got := value(t, fams, "llmbench_scenario_running", cl); got != 1 {
		t.Errorf("running{closed} = %v, want 1 still", got)
	}
}

func TestNativeHistogramOverProtobuf(t *testing.T) {
	e := New("test")
	base := serve(t, e)
	_ = e.Write(measured("vllm", "chat", 120, 900, 10, 20, 30))
	_ = e.Write(measured("vllm", "chat", 80, 700, 15))

	body, ct := get(t, base+"/metrics", acceptProtobuf)
	if format := expfmt.ResponseFormat(http.Header{"Content-Type": {ct}}); format.FormatType() != expfmt.TypeProtoDelim {
		t.Fatalf("Content-Type %q is not delimited protobuf", ct)
	}
	dec := expfmt.NewDecoder(bytes.NewReader(body), expfmt.NewFormat(expfmt.TypeProtoDelim))
	var ttft *dto.Histogram
	for {
		var mf dto.MetricFamily
		if err := dec.Decode(&mf); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatal(err)
		}
		if mf.GetName() == "llmbench_ttft_seconds" {
			ttft = mf.GetMetric()[0].GetHistogram()
		}
	}
	if ttft == nil {
		t.Fatal("no llmbench_ttft_seconds in the protobuf exposition")
	}
	// Factor 1.1 is schema 3 (2^(2^-3) ≈ 1.09).
	if ttft.Schema == nil || ttft.GetSchema() != 3 {
		t.Errorf("native schema = %v, want 3", ttft.Schema)
	}
	// Sparse buckets are delta-encoded: each count is the previous plus
	// its delta.
	var bucket, native int64
	for _, d := range ttft.GetPositiveDelta() {
		bucket += d
		native += bucket
	}
	if len(ttft.GetPositiveSpan()) == 0 || native != 2 || ttft.GetSampleCount() != 2 {
		t.Errorf("native histogram: spans %v, %d in sparse buckets, count %d; want populated spans and 2 in both",
			ttft.GetPositiveSpan(), native, ttft.GetSampleCount())
	}
	// Classic buckets travel alongside for a Prometheus without native
	// histograms.
	if n := len(ttft.GetBucket()); n != len(latencyBuckets) {
		t.Errorf("protobuf carries %d classic buckets, want %d", n, len(latencyBuckets))
	}
}

func TestServeBusyAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	_, stop, err := New("test").Serve(addr)
	if err == nil {
		_ = stop(t.Context())
		t.Fatalf("Serve(%s) on a busy port succeeded", addr)
	}
	for _, want := range []string{addr, "address in use", "127.0.0.1:0"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestServeIndex(t *testing.T) {
	base := serve(t, New("test"))
	body, _ := get(t, base+"/", "")
	if !strings.Contains(string(body), "/metrics") || bytes.Count(body, []byte("\n")) != 1 {
		t.Errorf("index = %q, want one line pointing at /metrics", body)
	}
	resp, err := http.Get(base + "/nope")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /nope: %s, want 404", resp.Status)
	}
}

// BenchmarkExporterWrite is the per-record cost the run's sinks pay: one
// 64-token answer, announced then written.
func BenchmarkExporterWrite(b *testing.B) {
	e := New("bench")
	itl := make([]float64, 63)
	for i := range itl {
		itl[i] = 8 + float64(i%7)
	}
	rec := measured("vllm", "chat", 95, 600, itl...)
	b.ReportAllocs()
	for b.Loop() {
		e.RequestSent(rec)
		_ = e.Write(rec)
	}
}
