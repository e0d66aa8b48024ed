package verdict

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/metric"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/stats"
)

// synthRun makes n measured requests per engine in scenario "chat", with
// log-normal TTFT and TPOT around the given medians (ms); slow scales the
// TTFT (and so the E2E) of one engine.
func synthRun(runID string, seed uint64, n int, engines []string, slow map[string]float64) []engine.Record {
	rng := rand.New(rand.NewPCG(seed, 7))
	var out []engine.Record
	for _, e := range engines {
		for i := 0; i < n; i++ {
			scale := 1.0
			if s, ok := slow[e]; ok {
				scale = s
			}
			ttft := 100 * math.Exp(0.3*rng.NormFloat64()) * scale
			tpot := 20 * math.Exp(0.2*rng.NormFloat64())
			e2e := ttft + 63*tpot
			tps := 64 / e2e * 1000
			out = append(out, engine.Record{RunID: runID, Engine: e, Model: "m", Scenario: "chat", Phase: engine.PhaseMeasure, OK: true,
				TTFTMS: &ttft, TPOTMS: &tpot, E2EMS: &e2e, OutputTokensPerS: &tps, OutputTokens: 64})
		}
	}
	return out
}

func findRow(t *testing.T, d RunDiff, engine, metric, stat string) DiffRow {
	t.Helper()
	for _, r := range d.Rows {
		if r.Engine == engine && r.Metric == metric && r.Stat == stat {
			return r
		}
	}
	t.Fatalf("no row %s %s %s in %+v", engine, metric, stat, d.Rows)
	return DiffRow{}
}

func TestRegressionIdenticalRunsChangeNothing(t *testing.T) {
	recs := synthRun("a", 1, 200, []string{"vllm", "tgi"}, nil)
	d := CompareRuns(recs, recs, RegressionOptions{})
	if len(d.Rows) != 2*len(regressionStats) {
		t.Fatalf("%d rows, want %d", len(d.Rows), 2*len(regressionStats))
	}
	for _, r := range d.Rows {
		if r.Significant() || r.Regression || r.Improvement || r.Delta != 0 {
			t.Errorf("identical runs: %+v", r)
		}
		if r.WorsePct == nil || *r.WorsePct != 0 {
			t.Errorf("%s %s: worse_pct %v, want 0", r.Metric, r.Stat, r.WorsePct)
		}
	}
	if d.BaseRunID != "a" || d.CurrentRunID != "a" || len(d.Regressions(0)) != 0 {
		t.Errorf("ids %q %q, regressions %v", d.BaseRunID, d.CurrentRunID, d.Regressions(0))
	}
}

func TestRegressionThirtyPercentSlowerTTFT(t *testing.T) {
	base := synthRun("a", 1, 200, []string{"vllm", "tgi"}, nil)
	cur := synthRun("b", 2, 200, []string{"vllm", "tgi"}, map[string]float64{"tgi": 1.3})
	d := CompareRuns(base, cur, RegressionOptions{})
	for _, stat := range []string{"p50", "p95"} {
		r := findRow(t, d, "tgi", metric.TTFT, stat)
		if !r.Regression || r.Improvement || r.WorsePct == nil || *r.WorsePct < 15 || r.DeltaCI == nil || r.DeltaCI.Lo <= 0 {
			t.Errorf("tgi ttft %s: %+v (worse %v, ci %v)", stat, r, *r.WorsePct, r.DeltaCI)
		}
	}
	if r := findRow(t, d, "tgi", metric.TTFT, "p50"); r.PAdjusted == nil || *r.PAdjusted >= stats.Alpha || r.Test == nil {
		t.Errorf("median judged without the rank test: %+v", r)
	}
	// Fewer tokens/s is worse: the sign of worse_pct follows the metric.
	if r := findRow(t, d, "tgi", metric.TokensPerS, "p50"); !r.Regression || r.Delta >= 0 || *r.WorsePct <= 0 {
		t.Errorf("tgi tokens/s: %+v", r)
	}
	for _, r := range d.Rows {
		if r.Engine == "vllm" && r.Significant() {
			t.Errorf("vllm did not change, yet %s %s is significant: %+v", r.Metric, r.Stat, r)
		}
	}
	regs := d.Regressions(10)
	if len(regs) == 0 || regs[0].Engine != "tgi" {
		t.Fatalf("Regressions(10) = %+v", regs)
	}
	for i := 1; i < len(regs); i++ {
		if *regs[i].WorsePct > *regs[i-1].WorsePct {
			t.Errorf("regressions not worst first: %v then %v", *regs[i-1].WorsePct, *regs[i].WorsePct)
		}
	}
	if regs := d.Regressions(50); len(regs) != 0 {
		t.Errorf("Regressions(50) = %+v; nothing is 50%% worse", regs)
	}
	// The improvement seen from the other side.
	back := CompareRuns(cur, base, RegressionOptions{})
	if r := findRow(t, back, "tgi", metric.TTFT, "p50"); !r.Improvement || r.Regression || *r.WorsePct >= 0 {
		t.Errorf("reversed: %+v", r)
	}
	if len(back.Regressions(0)) != 0 || len(back.Improvements()) == 0 {
		t.Errorf("reversed: regressions %+v", back.Regressions(0))
	}
}

// Two runs of the same distribution must not report changes: over many
// seed pairs, the share of comparisons with any significant row (the
// family-wise error rate) stays near Alpha, since medians are
// Holm-adjusted and p95 intervals are conservative.
func TestRegressionNoiseIsNotSignificant(t *testing.T) {
	const pairs = 200
	alarmed := 0
	for i := uint64(0); i < pairs; i++ {
		d := CompareRuns(synthRun("a", 100+i, 200, []string{"vllm", "tgi", "ollama"}, nil),
			synthRun("b", 5000+i, 200, []string{"vllm", "tgi", "ollama"}, nil), RegressionOptions{})
		for _, r := range d.Rows {
			if r.Significant() {
				alarmed++
				break
			}
		}
		if i == 0 && (len(d.Regressions(0)) != 0 || len(d.Improvements()) != 0) {
			t.Errorf("noise reported as a change: %+v", d.Regressions(0))
		}
	}
	t.Logf("%d of %d noise-only comparisons had a significant row", alarmed, pairs)
	if float64(alarmed)/pairs > 2*stats.Alpha {
		t.Errorf("%d of %d noise-only comparisons reported a significant change; want about %.0f%% at most", alarmed, pairs, stats.Alpha*100)
	}
}

func TestRegressionErrorRateFromZero(t *testing.T) {
	base := synthRun("a", 1, 200, []string{"vllm"}, nil)
	cur := synthRun("b", 1, 200, []string{"vllm"}, nil)
	for i := 0; i < 30; i++ {
		cur[i] = engine.Record{RunID: "b", Engine: "vllm", Model: "m", Scenario: "chat", Phase: engine.PhaseMeasure, ErrorClass: engine.ErrHTTP5xx}
	}
	// Dropped, canceled and warm-up requests were never sent.
	cur = append(cur, engine.Record{Engine: "vllm", Scenario: "chat", Phase: engine.PhaseMeasure, ErrorClass: engine.ErrDropped},
		engine.Record{Engine: "vllm", Scenario: "chat", Phase: engine.PhaseMeasure, ErrorClass: engine.ErrCanceled},
		engine.Record{Engine: "vllm", Scenario: "chat", Phase: engine.PhaseWarmup, ErrorClass: engine.ErrTimeout})
	d := CompareRuns(base, cur, RegressionOptions{})
	r := findRow(t, d, "vllm", MetricErrorRate, StatRate)
	if r.BaseN != 200 || r.CurrentN != 200 || r.Current != 0.15 || r.Base != 0 {
		t.Errorf("error rate %v of %d → %v of %d", r.Base, r.BaseN, r.Current, r.CurrentN)
	}
	if !r.Regression || r.WorsePct != nil {
		t.Errorf("0%% → 15%% failed: %+v", r)
	}
	if regs := d.Regressions(1e6); len(regs) != 1 || regs[0].Metric != MetricErrorRate {
		t.Errorf("a rise from zero exceeds any threshold: %+v", regs)
	}
	// Latencies count successes only.
	if r := findRow(t, d, "vllm", metric.TTFT, "p50"); r.CurrentN != 170 {
		t.Errorf("ttft from %d requests, want the 170 successes", r.CurrentN)
	}
}

func TestRegressionGroupsInOneRunAndFilters(t *testing.T) {
	base := synthRun("a", 1, 40, []string{"vllm", "tgi"}, nil)
	cur := synthRun("b", 2, 40, []string{"vllm", "ollama"}, nil)
	cur[0].Model = "other"
	cold := 1e6
	cur = append(cur, engine.Record{Engine: "vllm", Model: "m", Scenario: "chat", Phase: engine.PhaseMeasure, OK: true, ColdStart: true, TTFTMS: &cold})
	d := CompareRuns(base, cur, RegressionOptions{Metrics: []string{metric.TTFT}})
	if len(d.OnlyInBase) != 1 || d.OnlyInBase[0] != (GroupRef{"tgi", "chat"}) ||
		len(d.OnlyInCurrent) != 1 || d.OnlyInCurrent[0] != (GroupRef{"ollama", "chat"}) {
		t.Errorf("only in base %v, only in current %v", d.OnlyInBase, d.OnlyInCurrent)
	}
	if len(d.Rows) != 2 {
		t.Fatalf("--metric ttft_ms: %d rows, want p50 and p95", len(d.Rows))
	}
	// The cold start is a success kept out of latencies.
	if d.Rows[0].CurrentN != 40 {
		t.Errorf("ttft from %d requests, want 40 (the cold start excluded)", d.Rows[0].CurrentN)
	}
	// 40 requests cannot bound a p95: shown, but not judged.
	if p95 := d.Rows[1]; p95.Stat != "p95" || p95.DeltaCI != nil || p95.Evidence != EvidenceUntested || p95.Regression ||
		!strings.Contains(p95.Method, fmt.Sprintf("needs %d requests", deltaCIMinSamples(95))) {
		t.Errorf("p95 of 40 requests: %+v", p95)
	}
	// The bound is where the interval starts to exist.
	for _, p := range []float64{50, 95} {
		n := deltaCIMinSamples(p)
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = float64(i)
		}
		if _, ok := percentileDeltaCI(stats.NewSampleOf(xs), stats.NewSampleOf(xs), p); !ok {
			t.Errorf("p%g: no interval from %d samples", p, n)
		}
		if _, ok := percentileDeltaCI(stats.NewSampleOf(xs[1:]), stats.NewSampleOf(xs[1:]), p); ok {
			t.Errorf("p%g: an interval from %d samples, fewer than the %d stated", p, n-1, n)
		}
	}
	if len(d.Warnings) != 1 {
		t.Errorf("warnings %v, want the model change", d.Warnings)
	}
	if got := RegressionMetrics(); len(got) != 5 || got[4] != MetricErrorRate {
		t.Errorf("RegressionMetrics() = %v", got)
	}
}
