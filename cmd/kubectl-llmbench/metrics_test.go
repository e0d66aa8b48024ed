package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// run --metrics-addr serves the run's own metrics while it runs: scraped
// through the binary with a real OpenMetrics parser, they count no more
// than the journal holds, and every family the Grafana dashboard reads is
// there.
func TestRunServesItsOwnMetrics(t *testing.T) {
	out := t.TempDir()
	cmd := exec.Command(binary, "run", "--simulate", "--preset", "quick", "--no-report", "--output-dir", out, "--metrics-addr", "127.0.0.1:0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := bufio.NewScanner(stderr)
	url := ""
	for url == "" && lines.Scan() {
		if rest, ok := strings.CutPrefix(lines.Text(), "Metrics: "); ok {
			url = strings.Fields(rest)[0]
		}
	}
	if url == "" {
		t.Fatal("no Metrics: line on stderr")
	}
	go func() {
		for lines.Scan() {
		}
	}()

	var last map[string]*dto.MetricFamily
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		fams, err := scrape(url)
		var op *net.OpError
		if errors.As(err, &op) || (err != nil && last != nil && cmd.ProcessState == nil && !strings.HasPrefix(err.Error(), "not OpenMetrics")) {
			break // the run is over and its server gone (or going)
		}
		if err != nil {
			t.Fatal(err)
		}
		last = fams
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("run: %v", err)
	}
	if last == nil {
		t.Fatal("never scraped")
	}
	for _, name := range []string{"llmbench_requests_total", "llmbench_requests_in_flight", "llmbench_ttft_seconds", "llmbench_tpot_seconds", "llmbench_itl_seconds",
		"llmbench_e2e_seconds", "llmbench_schedule_lag_seconds", "llmbench_output_tokens_total", "llmbench_scenario_running", "llmbench_build_info"} {
		if last[name] == nil {
			t.Errorf("no family %s in the scrape", name)
		}
	}
	journal := map[string]int{}
	measuredOK := map[string]int{}
	for _, l := range readJournal(t, runFolder(t, out)) {
		journal[l.Engine+"/"+l.Scenario]++
		if l.OK && l.Phase == "measure" {
			measuredOK[l.Engine+"/"+l.Scenario]++
		}
	}
	label := func(m *dto.Metric, name string) string {
		for _, l := range m.GetLabel() {
			if l.GetName() == name {
				return l.GetValue()
			}
		}
		return ""
	}
	counted := map[string]float64{}
	for _, m := range last["llmbench_requests_total"].GetMetric() {
		counted[label(m, "engine")+"/"+label(m, "scenario")] += m.GetCounter().GetValue()
	}
	if counted["vllm/ttft"] != float64(journal["vllm/ttft"]) {
		t.Errorf("vllm/ttft: %g counted, %d journaled (a finished lane must be complete)", counted["vllm/ttft"], journal["vllm/ttft"])
	}
	for k, n := range counted {
		if n > float64(journal[k]) || n == 0 {
			t.Errorf("%s: %g requests counted, %d journaled", k, n, journal[k])
		}
	}
	for _, m := range last["llmbench_ttft_seconds"].GetMetric() {
		k := label(m, "engine") + "/" + label(m, "scenario")
		if c := m.GetHistogram().GetSampleCount(); c > uint64(measuredOK[k]) || c == 0 {
			t.Errorf("%s: %d TTFTs observed, %d measured requests succeeded", k, c, measuredOK[k])
		}
	}
	running := map[string]float64{}
	for _, m := range last["llmbench_scenario_running"].GetMetric() {
		running[label(m, "engine")+"/"+label(m, "scenario")] = m.GetGauge().GetValue()
	}
	for _, m := range last["llmbench_requests_in_flight"].GetMetric() {
		k := label(m, "engine") + "/" + label(m, "scenario")
		v := m.GetGauge().GetValue()
		if v < 0 || v > 4 || (running[k] == 0 && v != 0) {
			t.Errorf("%s: %g in flight, running %g (quick runs at most 4 users; none once a scenario ended)", k, v, running[k])
		}
	}
	if len(running) == 0 {
		t.Error("no llmbench_scenario_running series")
	}
}

// scrape asks for OpenMetrics (the exposition a Prometheus with
// OpenMetrics negotiation gets) and checks its framing, then parses the
// classic text exposition of the same registry with expfmt's parser.
func scrape(url string) (map[string]*dto.MetricFamily, error) {
	get := func(accept string) (string, string, error) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Accept", accept)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", "", err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return string(body), resp.Header.Get("Content-Type"), err
	}
	om, ct, err := get("application/openmetrics-text; version=1.0.0")
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(ct, "application/openmetrics-text") || !strings.HasSuffix(om, "\n# EOF\n") {
		return nil, fmt.Errorf("not OpenMetrics (%s):\n%s", ct, om)
	}
	text, _, err := get("text/plain; version=0.0.4")
	if err != nil {
		return nil, err
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	return parser.TextToMetricFamilies(strings.NewReader(text))
}
