package verdict

import (
	"fmt"
	"math"
	"sort"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/metric"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/stats"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/summary"
)

// MetricErrorRate is the share of measured, sent requests that failed, as
// a run comparison names it.
const MetricErrorRate = "error_rate"

// StatRate names the statistic of an error-rate row.
const StatRate = "rate"

// regressionStats are the rows CompareRuns makes for each engine ×
// scenario, in order.
var regressionStats = []struct {
	metric, stat string
	p            float64
}{
	{metric.TTFT, "p50", 50},
	{metric.TTFT, "p95", 95},
	{metric.TPOT, "p50", 50},
	{metric.TPOT, "p95", 95},
	{metric.E2E, "p50", 50},
	{metric.E2E, "p95", 95},
	{metric.TokensPerS, "p50", 50},
	{MetricErrorRate, StatRate, 0},
}

// RegressionMetrics are the metric names a run comparison knows, for
// --metric and its errors.
func RegressionMetrics() []string {
	var out []string
	for _, s := range regressionStats {
		if len(out) == 0 || out[len(out)-1] != s.metric {
			out = append(out, s.metric)
		}
	}
	return out
}

// RegressionOptions shape a run comparison.
type RegressionOptions struct {
	// Metrics restricts the comparison to these names (RegressionMetrics);
	// empty compares every one.
	Metrics []string
}

// GroupRef names one engine × scenario.
type GroupRef struct {
	Engine   string `json:"engine"`
	Scenario string `json:"scenario"`
}

// RunDiff compares a current run with a base run, per engine × scenario
// present in both.
type RunDiff struct {
	// The run ids, from the records' run_id.
	BaseRunID    string  `json:"base_run_id"`
	CurrentRunID string  `json:"current_run_id"`
	Alpha        float64 `json:"alpha"`
	Confidence   float64 `json:"confidence"`
	// Rows are in the base run's group order, then regressionStats order.
	Rows []DiffRow `json:"rows"`
	// Groups measured in one run only are listed, not compared.
	OnlyInBase    []GroupRef `json:"only_in_base,omitempty"`
	OnlyInCurrent []GroupRef `json:"only_in_current,omitempty"`
	// Warnings say what makes a compared pair less like for like, such as
	// a different model behind the same engine name.
	Warnings []string `json:"warnings,omitempty"`
}

// DiffRow is one statistic of one engine × scenario in both runs.
type DiffRow struct {
	Engine   string `json:"engine"`
	Scenario string `json:"scenario"`
	Metric   string `json:"metric"`
	// Stat is "p50", "p95" or "rate" (error_rate, a fraction).
	Stat           string `json:"statistic"`
	HigherIsBetter bool   `json:"higher_is_better,omitempty"`
	// BaseN and CurrentN count the samples: successful measured requests
	// for latencies, measured requests sent for the error rate.
	BaseN    int     `json:"base_n"`
	CurrentN int     `json:"current_n"`
	Base     float64 `json:"base"`
	Current  float64 `json:"current"`
	// Delta is Current − Base in the metric's unit; DeltaCI is its 95%
	// interval, absent when a run has too few samples to bound it (and
	// for the error rate, judged by its test alone).
	Delta   float64         `json:"delta"`
	DeltaCI *stats.Interval `json:"delta_ci95,omitempty"`
	// WorsePct is the change in percent of Base, signed so that positive
	// is worse whichever way the metric improves (slower, fewer tokens/s,
	// more failures). Null when Base is 0 and Current is not: no percentage
	// measures a rise from zero.
	WorsePct *float64 `json:"worse_pct"`
	// Test and PAdjusted judge medians and the error rate: Mann-Whitney U
	// on the per-request values, Holm-adjusted over every tested row of
	// the comparison. p95 rows are judged by DeltaCI excluding zero.
	Test      *stats.RankTest `json:"mann_whitney,omitempty"`
	PAdjusted *float64        `json:"p_adjusted,omitempty"`
	// Evidence is EvidenceSignificant, EvidenceTie (no significant
	// difference) or EvidenceUntested; Method says how it was judged.
	Evidence    string `json:"evidence"`
	Method      string `json:"method"`
	Regression  bool   `json:"regression"`
	Improvement bool   `json:"improvement"`
}

// Significant reports whether the row's change is more than noise.
func (r DiffRow) Significant() bool { return r.Evidence == EvidenceSignificant }

// Regressions are the significant regressions worse than thresholdPct
// percent, worst first; a rise from zero (WorsePct null) exceeds any
// threshold.
func (d RunDiff) Regressions(thresholdPct float64) []DiffRow {
	var out []DiffRow
	for _, r := range d.Rows {
		if r.Regression && (r.WorsePct == nil || *r.WorsePct > thresholdPct) {
			out = append(out, r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].WorsePct, out[j].WorsePct
		switch {
		case a == nil:
			return b != nil
		case b == nil:
			return false
		}
		return *a > *b
	})
	return out
}

// Improvements are the significant improvements, in row order.
func (d RunDiff) Improvements() []DiffRow {
	var out []DiffRow
	for _, r := range d.Rows {
		if r.Improvement {
			out = append(out, r)
		}
	}
	return out
}

// CompareRuns compares the current run's records with the base run's; see
// CompareSummarizers.
func CompareRuns(base, cur []engine.Record, o RegressionOptions) RunDiff {
	id := func(rs []engine.Record) string {
		if len(rs) > 0 {
			return rs[0].RunID
		}
		return ""
	}
	return CompareSummarizers(summary.SummarizerOf(id(base), base, summary.Objectives{}), summary.SummarizerOf(id(cur), cur, summary.Objectives{}), o)
}

// CompareSummarizers compares two runs, per engine × scenario present in
// both, on medians and p95 of TTFT, TPOT and E2E, the median per-request
// output tokens/s, and the error rate. Samples are filtered as Summarize
// filters them: warm-up, dropped and canceled requests are not sent; cold
// starts count as successes but stay out of latencies.
//
// Medians and the error rate (a test of 0/1 failure indicators, which is
// the two-proportion test) are judged by Mann-Whitney U, Holm-adjusted
// over every tested row, so comparing many engines and metrics does not
// manufacture regressions. A p95 is judged by the 95% interval of its
// delta excluding zero.
func CompareSummarizers(base, cur *summary.Summarizer, o RegressionOptions) RunDiff {
	var d RunDiff
	base.Inspect(func(baseID string, _ summary.Objectives, bs []summary.Measured) {
		if cur == base {
			d = compareMeasured(baseID, bs, baseID, bs, o)
			return
		}
		cur.Inspect(func(curID string, _ summary.Objectives, cs []summary.Measured) {
			d = compareMeasured(baseID, bs, curID, cs, o)
		})
	})
	return d
}

func compareMeasured(baseID string, base []summary.Measured, curID string, cur []summary.Measured, o RegressionOptions) RunDiff {
	d := RunDiff{Alpha: stats.Alpha, Confidence: stats.Confidence, BaseRunID: baseID, CurrentRunID: curID}
	want := map[string]bool{}
	for _, m := range o.Metrics {
		want[m] = true
	}
	for i := range base {
		b := &base[i]
		k := GroupRef{Engine: b.Group.Engine, Scenario: b.Group.Scenario}
		if b.Group.Requests == 0 {
			continue // warm-up only: nothing measured
		}
		c := sent(cur, k)
		if c == nil {
			d.OnlyInBase = append(d.OnlyInBase, k)
			continue
		}
		if b.Group.Model != c.Group.Model {
			d.Warnings = append(d.Warnings, fmt.Sprintf("%s in %s served model %q in the base run and %q in the current one", k.Engine, k.Scenario, b.Group.Model, c.Group.Model))
		}
		for _, s := range regressionStats {
			if len(want) > 0 && !want[s.metric] {
				continue
			}
			if row, ok := diffRow(k, s.metric, s.stat, s.p, metric.HigherIsBetter(s.metric), b, c); ok {
				d.Rows = append(d.Rows, row)
			}
		}
	}
	for _, c := range cur {
		k := GroupRef{Engine: c.Group.Engine, Scenario: c.Group.Scenario}
		if c.Group.Requests > 0 && sent(base, k) == nil {
			d.OnlyInCurrent = append(d.OnlyInCurrent, k)
		}
	}
	judgeDiff(d.Rows)
	return d
}

// diffRow measures one statistic in both runs; ok is false when either
// run has no sample of it.
func diffRow(k GroupRef, metric, stat string, p float64, higher bool, b, c *summary.Measured) (DiffRow, bool) {
	row := DiffRow{Engine: k.Engine, Scenario: k.Scenario, Metric: metric, Stat: stat, HigherIsBetter: higher}
	if metric == MetricErrorRate {
		row.BaseN, row.CurrentN = b.Group.Requests, c.Group.Requests
		row.Base = float64(b.Group.Failed) / float64(b.Group.Requests)
		row.Current = float64(c.Group.Failed) / float64(c.Group.Requests)
	} else {
		bs, cs := b.Samples[metric], c.Samples[metric]
		row.BaseN, row.CurrentN = bs.Len(), cs.Len()
		if row.BaseN == 0 || row.CurrentN == 0 {
			return row, false
		}
		row.Base, row.Current = bs.Percentile(p), cs.Percentile(p)
	}
	row.Delta = row.Current - row.Base
	worse := row.Delta
	if higher {
		worse = -worse
	}
	switch {
	case row.Base != 0:
		pct := worse / math.Abs(row.Base) * 100
		row.WorsePct = &pct
	case row.Current == 0:
		zero := 0.0
		row.WorsePct = &zero
	}
	var t *stats.RankTest
	switch {
	case metric == MetricErrorRate:
		// Each request is 0 (answered) or 1 (failed).
		r := stats.MannWhitneyBins(failureBins(b.Group), failureBins(c.Group), b.Group.Requests, c.Group.Requests)
		t = &r
	case stat == "p50":
		r := stats.MannWhitneySamples(b.Samples[metric], c.Samples[metric])
		t = &r
	}
	if t != nil {
		if math.IsNaN(t.P) {
			t.P = 1 // no variance at all (every request failed, or none)
		}
		row.Test = t
	}
	if metric != MetricErrorRate {
		if ci, ok := percentileDeltaCI(b.Samples[metric], c.Samples[metric], p); ok {
			row.DeltaCI = &ci
		} else if row.Test == nil {
			row.Method = fmt.Sprintf("untested: an interval of the %s change needs %d requests per run", stat, deltaCIMinSamples(p))
		}
	}
	return row, true
}

// sent is the group of k if it sent any measured request.
func sent(groups []summary.Measured, k GroupRef) *summary.Measured {
	for i := range groups {
		if g := &groups[i].Group; g.Engine == k.Engine && g.Scenario == k.Scenario && g.Requests > 0 {
			return &groups[i]
		}
	}
	return nil
}

// failureBins is a group's sent requests as 0/1 failure indicators.
func failureBins(g summary.Group) []stats.Bin {
	var out []stats.Bin
	if ok := g.Requests - g.Failed; ok > 0 {
		out = append(out, stats.Bin{Value: 0, Count: ok})
	}
	if g.Failed > 0 {
		out = append(out, stats.Bin{Value: 1, Count: g.Failed})
	}
	return out
}

// percentileDeltaCI bounds Current − Base of the p-th percentile by
// combining the two distribution-free order-statistic intervals, each at
// 97.5%: both cover their percentile with probability at least 95%
// (Bonferroni), and then the difference lies in [c.Lo − b.Hi, c.Hi − b.Lo].
// Conservative (wider than a bootstrap would give) but deterministic, exact
// for any distribution and free of resampling, like every other interval
// the tool reports. A p95 judged by it is rarely a false alarm: with no
// true change, the two 97.5% intervals fail to overlap far less often than
// 5% of the time.
func percentileDeltaCI(base, cur *stats.Sample, p float64) (stats.Interval, bool) {
	each := 1 - (1-stats.Confidence)/2
	b, okB := base.QuantileCI(p, each)
	c, okC := cur.QuantileCI(p, each)
	if !okB || !okC {
		return stats.Interval{}, false
	}
	return stats.Interval{Lo: c.Lo - b.Hi, Hi: c.Hi - b.Lo}, true
}

// deltaCIMinSamples is the fewest samples per run for which
// percentileDeltaCI is bounded.
func deltaCIMinSamples(p float64) int {
	each := 1 - (1-stats.Confidence)/2
	n := stats.MinSamples(p)
	for ; n < 1e6; n++ {
		if l, u := stats.OrderStatisticRanks(n, p/100, each); l >= 1 && u <= n {
			break
		}
	}
	return n
}

// judgeDiff Holm-adjusts the tested rows together, judges the p95 rows by
// their intervals, and marks regressions and improvements.
func judgeDiff(rows []DiffRow) {
	var cs []Comparison
	var tested []int
	for i, r := range rows {
		if r.Test != nil {
			cs = append(cs, Comparison{Test: *r.Test})
			tested = append(tested, i)
		}
	}
	holm(cs)
	for j, i := range tested {
		p := cs[j].PAdjusted
		rows[i].PAdjusted = &p
	}
	for i := range rows {
		r := &rows[i]
		worse := r.Delta > 0
		if r.HigherIsBetter {
			worse = r.Delta < 0
		}
		better := r.Delta != 0 && !worse
		switch {
		case r.Test != nil:
			r.Method = "Mann-Whitney U, Holm-adjusted"
			if r.Metric == MetricErrorRate {
				r.Method = "Mann-Whitney U on failures (two-proportion test), Holm-adjusted"
			}
			r.Evidence = EvidenceTie
			if *r.PAdjusted < stats.Alpha {
				r.Evidence = EvidenceSignificant
				// The rank test and the medians must agree on the direction:
				// U counts "base below current" pairs.
				baseLower := r.Test.ProbLower > 0.5
				if r.HigherIsBetter {
					worse = worse && !baseLower
					better = better && baseLower
				} else {
					worse = worse && baseLower
					better = better && !baseLower
				}
			}
		case r.DeltaCI != nil:
			r.Method = "95% interval of the delta (order statistics)"
			r.Evidence = EvidenceTie
			if r.DeltaCI.Lo > 0 || r.DeltaCI.Hi < 0 {
				r.Evidence = EvidenceSignificant
			}
		default:
			r.Evidence = EvidenceUntested // Method says why (diffRow)
		}
		r.Regression = r.Significant() && worse
		r.Improvement = r.Significant() && better
	}
}
