package export

import (
	"fmt"
	"io"
	"sort"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/stats"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/summary"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/verdict"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

// summaryRow is one number of summary.json in long form, so every
// aggregate of every engine × scenario is one filterable table. metric is
// the number's path in the group's JSON ("metrics." left out, so "ttft_ms"
// not "metrics.ttft_ms"); statistic is the Stats field, or "value" for a
// plain number. Targets are the exception: metric "target.<metric>" with
// statistics percentile, limit_ms, value and met (1 or 0).
type summaryRow struct {
	RunID      string `parquet:"run_id,dict"`
	Engine     string `parquet:"engine,dict"`
	EngineType string `parquet:"engine_type,dict"`
	Model      string `parquet:"model,dict"`
	Suite      string `parquet:"suite,dict"`
	Scenario   string `parquet:"scenario,dict"`
	Metric     string `parquet:"metric,dict"`
	Statistic  string `parquet:"statistic,dict"`
	// Value is null where summary.json has no number: a statistic of no
	// samples, a target percentile that fell among failed requests.
	Value *float64 `parquet:"value,optional"`
}

// statValue is the statistic used for a plain number.
const statValue = "value"

// statNames are the Stats fields, in summary.json's order.
var statNames = []string{"count", "min", "mean", "stddev", "p50", "p90", "p95", "p99", "max"}

// summaryRows flattens a summary. Groups keep the summary's order; metric
// names and error classes are sorted, so the same journal always gives the
// same rows in the same order.
func summaryRows(s verdict.Summary) []summaryRow {
	var rows []summaryRow
	for _, g := range s.Groups {
		add := func(metric, stat string, v *float64) {
			rows = append(rows, summaryRow{RunID: s.RunID, Engine: g.Engine, EngineType: string(g.EngineType),
				Model: g.Model, Suite: g.Suite, Scenario: g.Scenario, Metric: metric, Statistic: stat, Value: v})
		}
		num := func(metric string, v float64) { add(metric, statValue, &v) }
		stats := func(metric string, st stats.Stats) {
			vals := []float64{float64(st.Count), st.Min, st.Mean, st.StdDev, st.P50, st.P90, st.P95, st.P99, st.Max}
			for i, name := range statNames {
				v := vals[i]
				if i > 0 && st.Count == 0 {
					add(metric, name, nil) // Describe's zeros are not measurements
					continue
				}
				add(metric, name, &v)
			}
		}

		num("requests", float64(g.Requests))
		num("succeeded", float64(g.Succeeded))
		num("failed", float64(g.Failed))
		num("error_rate", g.ErrorRate)
		for _, class := range sortedKeys(g.Errors) {
			num("errors_by_class."+class, float64(g.Errors[class]))
		}
		num("warmup_requests", float64(g.Warmup))
		num("dropped_by_client", float64(g.Dropped))
		num("canceled", float64(g.Canceled))
		num("client_queued", float64(g.ClientQueued))
		num("output_mismatch", float64(g.OutputMismatch))
		num("prompt_mismatch", float64(g.PromptMismatch))
		num("tokens_estimated", float64(g.TokensEstimated))
		num("window_s", g.WindowS)
		num("requests_per_s", g.RequestsPerS)
		// Named as in summary.json's "fastest" so it is not mistaken for
		// the per-request output_tokens_per_s distribution below.
		num("throughput_output_tokens_per_s", g.OutputTokensPerS)
		num("output_tokens_total", float64(g.OutputTokensTotal))
		for _, m := range sortedKeys(g.Metrics) {
			stats(m, g.Metrics[m])
		}
		if t := g.Target; t != nil {
			// The goal's metric goes into the name so a query can find
			// every target with metric LIKE 'target.%'.
			name := "target." + goalMetric(t.Goal)
			add(name, "percentile", &t.Percentile)
			add(name, "limit_ms", &t.LimitMS)
			add(name, statValue, t.Value)
			met := boolNum(t.Met)
			add(name, "met", &met)
		}
		if c := g.ColdStart; c != nil {
			num("cold_start.count", float64(c.Count))
			stats("cold_start.server_load_ms", c.LoadMS)
			stats("cold_start.ttft_ms", c.TTFTMS)
		}
		for _, t := range g.ByTurn {
			name := fmt.Sprintf("by_turn.%d.", t.Turn)
			stats(name+"ttft_ms", t.TTFT)
			num(name+"prompt_tokens_mean", t.PromptTokensMean)
		}
		if rc := g.Reconciliation; rc != nil {
			num("reconciliation.requests", float64(rc.Requests))
			stats("reconciliation.client_ttft_ms", rc.ClientTTFTMS)
			stats("reconciliation.server_ttft_ms", rc.ServerTTFTMS)
			stats("reconciliation.ttft_residual_ms", rc.TTFTResidualMS)
			stats("reconciliation.server_wait_ms", rc.ServerWaitMS)
			stats("reconciliation.client_decode_tokens_per_s", rc.ClientDecodeTokensPerS)
			stats("reconciliation.server_decode_tokens_per_s", rc.ServerDecodeTokensPerS)
			num("reconciliation.decode_rate_ratio", rc.DecodeRateRatio)
		}
	}
	return append(rows, lengthSweepRows(s)...)
}

// lengthSweepRows put a length sweep in the same long form: each level's
// length on its group's rows (metric "level.input_tokens"), and each
// engine's fitted line on rows of its own with an empty scenario (metric
// "length_sweep.input_tokens", statistics ms_per_1k_tokens, tokens_per_s,
// intercept_ms, r2).
func lengthSweepRows(s verdict.Summary) []summaryRow {
	groups := map[[2]string]summary.Group{}
	for _, g := range s.Groups {
		groups[[2]string{g.Engine, g.Scenario}] = g
	}
	var rows []summaryRow
	for _, ls := range s.Lengths {
		var g summary.Group
		for _, l := range ls.Levels {
			g = groups[[2]string{ls.Engine, l.Scenario}]
			v := l.Value
			rows = append(rows, summaryRow{RunID: s.RunID, Engine: g.Engine, EngineType: string(g.EngineType), Model: g.Model,
				Suite: g.Suite, Scenario: g.Scenario, Metric: "level." + ls.Kind, Statistic: statValue, Value: &v})
		}
		f := ls.Fit
		if f == nil {
			continue
		}
		name := "length_sweep." + ls.Kind
		for _, st := range []struct {
			name string
			v    *float64
		}{{"ms_per_1k_tokens", &f.MSPer1KTokens}, {"tokens_per_s", f.TokensPerS}, {"intercept_ms", &f.InterceptMS}, {"r2", &f.R2}} {
			rows = append(rows, summaryRow{RunID: s.RunID, Engine: ls.Engine, EngineType: string(g.EngineType), Model: g.Model,
				Suite: g.Suite, Metric: name, Statistic: st.name, Value: st.v})
		}
	}
	return rows
}

// goalMetric is the summary metric a target reads, as Summarize names it.
func goalMetric(g workload.Goal) string {
	if g.FromArrival {
		return g.Metric + "_from_arrival_ms"
	}
	return g.Metric + "_ms"
}

func boolNum(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// writeSummaryParquet writes summary.parquet, every aggregate of the
// summary in long form.
func writeSummaryParquet(w io.Writer, meta meta, s verdict.Summary) error {
	rows := newRowWriter[summaryRow](w, meta)
	for _, r := range summaryRows(s) {
		if err := rows.add(r); err != nil {
			return err
		}
	}
	return rows.close()
}
