package export

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/metric"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/reconcile"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/summary"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

type detailView struct {
	Heading string
	Setup   string
	Table   gridView
	Notes   []string
}

// scenarioHeading names a scenario with its load: "quick_latency (4 users)".
func scenarioHeading(run *Run, sc string) string {
	if spec, ok := scenarioSpec(run, sc); ok {
		return fmt.Sprintf("%s (%s)", mdEscape(sc), loadLevel(spec))
	}
	return mdEscape(sc)
}

func scenarioSpec(run *Run, sc string) (workload.Scenario, bool) {
	for _, s := range run.Manifest.Scenarios {
		if s.Name == sc {
			return s, true
		}
	}
	return workload.Scenario{}, false
}

// scenarioSetup describes how a scenario sent its requests, in words.
func scenarioSetup(s workload.Scenario) string {
	var parts []string
	switch s.Arrival {
	case workload.ArrivalSequential:
		parts = append(parts, "Sequential: one request at a time, each sent when the previous one ended")
	case workload.ArrivalClosed:
		p := fmt.Sprintf("Closed loop: %d users, each sending its next request when its answer arrived", s.Concurrency)
		if s.ThinkTime > 0 {
			p += fmt.Sprintf(" and %s of think time passed", s.ThinkTime)
		}
		parts = append(parts, p)
	case workload.ArrivalConstant, workload.ArrivalPoisson:
		p := fmt.Sprintf("Open loop: %s arrivals at %g requests/s, sent whether or not earlier answers had arrived", s.Arrival, s.Rate)
		if s.Concurrency > 0 {
			p += fmt.Sprintf("; at most %d in flight, beyond which arrivals %s", s.Concurrency,
				map[string]string{"drop": "were dropped", "wait": "waited"}[s.CapPolicy])
		}
		parts = append(parts, p)
	case workload.ArrivalTrace:
		parts = append(parts, traceText(s))
	}
	var stop []string
	if s.Requests > 0 {
		stop = append(stop, fmt.Sprintf("%d measured requests", s.Requests))
	}
	if s.Duration > 0 {
		stop = append(stop, fmt.Sprintf("%s measured", s.Duration))
	}
	if len(stop) > 0 {
		parts = append(parts, "stops after "+strings.Join(stop, " or "))
	}
	if s.WarmupRequests > 0 {
		parts = append(parts, fmt.Sprintf("%d warm-up request(s) first, not measured", s.WarmupRequests))
	}
	if s.WarmupDuration > 0 {
		parts = append(parts, fmt.Sprintf("%s of warm-up first, not measured", s.WarmupDuration))
	}
	if s.InputTokens != nil {
		parts = append(parts, fmt.Sprintf("prompts of %s tokens in each engine's own tokenizer", s.InputTokens))
	}
	if s.OutputTokens != nil {
		parts = append(parts, fmt.Sprintf("at most %s output tokens", s.OutputTokens))
	} else {
		parts = append(parts, fmt.Sprintf("at most %d output tokens", s.MaxTokens))
	}
	if s.Target != nil {
		parts = append(parts, "target "+s.Target.String())
	}
	return strings.Join(parts, "; ") + "."
}

func buildDetail(run *Run, sc string, gs []summary.Group) detailView {
	v := detailView{Heading: scenarioHeading(run, sc)}
	if spec, ok := scenarioSpec(run, sc); ok {
		v.Setup = scenarioSetup(spec)
	}
	ms := func(metric string, p float64) func(summary.Group) string {
		return func(g summary.Group) string { return msCell(g.Metrics[metric], p) }
	}
	mean := func(metric string) func(summary.Group) string {
		return func(g summary.Group) string {
			if st := g.Metrics[metric]; st.Count > 0 {
				return fmt.Sprintf("%.0f", st.Mean)
			}
			return "–"
		}
	}
	count := func(n func(summary.Group) int) func(summary.Group) string {
		return func(g summary.Group) string { return fmt.Sprint(n(g)) }
	}
	rows := []rowView{
		cellRow("Model", gs, func(g summary.Group) string { return mdEscape(g.Model) }),
		cellRow("Measured window", gs, func(g summary.Group) string { return fmt.Sprintf("%.1f s", g.WindowS) }),
		cellRow("TTFB p50", gs, ms(metric.TTFB, 50)),
		cellRow("TTFT to content p50", gs, ms(metric.TTFTContent, 50)),
		cellRow("NTPOT p50", gs, ms(metric.NTPOT, 50)),
		cellRow("Per-request output rate p50", gs, func(g summary.Group) string {
			if st := g.Metrics[metric.TokensPerS]; st.Count > 0 {
				return fmt.Sprintf("%.1f tok/s", st.P50)
			}
			return "–"
		}),
		cellRow("Prompt tokens (mean)", gs, mean(metric.PromptTokens)),
		cellRow("Output tokens (mean)", gs, mean(metric.OutputTokens)),
		cellRow("Schedule lag p99", gs, ms(metric.ScheduleLag, 99)),
		cellRow("TTFT from arrival p95", gs, ms(metric.TTFTFromArrival, 95)),
		cellRow("E2E from arrival p95", gs, ms(metric.E2EFromArrival, 95)),
		cellRow("Warm-up requests", gs, count(func(g summary.Group) int { return g.Warmup })),
		cellRow("Waited for the client's cap", gs, count(func(g summary.Group) int { return g.ClientQueued })),
		cellRow("Dropped by the client", gs, count(func(g summary.Group) int { return g.Dropped })),
		cellRow("Cancelled", gs, count(func(g summary.Group) int { return g.Canceled })),
	}
	v.Table = engineGrid(gs, rows)
	for _, g := range gs {
		for _, n := range groupNotes(g, false) {
			v.Notes = append(v.Notes, fmt.Sprintf("**%s**: %s", mdEscape(g.Engine), mdEscape(n)))
		}
	}
	return v
}

type findingsView struct {
	Messages       []string
	ColdStarts     gridView
	Reconciliation gridView
	// EngineMetrics sets each vLLM or TGI engine's scraped metrics beside
	// the client's records; Breakdowns say where each mean TTFT went.
	EngineMetrics gridView
	Breakdowns    []string
	MetricsNotes  []string
}

func buildFindings(run *Run) findingsView {
	var v findingsView
	for _, f := range run.Summary.Findings {
		v.Messages = append(v.Messages, mdEscape(f.Message))
	}
	v.ColdStarts = gridView{Header: []string{"Engine", "Scenario", "Cold starts", "Model load (max)", "TTFT (max)"},
		Right: []bool{false, false, true, true, true}}
	v.Reconciliation = gridView{Header: []string{"Engine", "Scenario", "Requests", "Client TTFT p50", "Server TTFT p50",
		"Residual p50", "Server wait p50", "Client decode p50", "Server decode p50", "Ratio"},
		Right: []bool{false, false, true, true, true, true, true, true, true, true}}
	for _, sc := range scenarioOrder(run) {
		for _, g := range groupsOf(run, sc) {
			if c := g.ColdStart; c != nil {
				v.ColdStarts.Rows = append(v.ColdStarts.Rows, []string{mdEscape(g.Engine), mdEscape(sc), fmt.Sprint(c.Count),
					fmt.Sprintf("%.0f ms", c.LoadMS.Max), fmt.Sprintf("%.0f ms", c.TTFTMS.Max)})
			}
			if rc := g.Reconciliation; rc != nil {
				v.Reconciliation.Rows = append(v.Reconciliation.Rows, []string{mdEscape(g.Engine), mdEscape(sc), fmt.Sprint(rc.Requests),
					fmt.Sprintf("%.1f ms", rc.ClientTTFTMS.P50), fmt.Sprintf("%.1f ms", rc.ServerTTFTMS.P50),
					fmt.Sprintf("%.1f ms", rc.TTFTResidualMS.P50), fmt.Sprintf("%.1f ms", rc.ServerWaitMS.P50),
					fmt.Sprintf("%.0f tok/s", rc.ClientDecodeTokensPerS.P50), fmt.Sprintf("%.0f tok/s", rc.ServerDecodeTokensPerS.P50),
					fmt.Sprintf("×%.2f", rc.DecodeRateRatio)})
			}
		}
	}
	buildEngineMetrics(run, &v)
	return v
}

// buildEngineMetrics fills the engine-side table from the reconciled
// windows. Server percentiles come from buckets and say so (≈, or ≤ where
// only the lowest bucket's bound is known).
func buildEngineMetrics(run *Run, v *findingsView) {
	v.EngineMetrics = gridView{Header: []string{"Engine", "Scenario", "Requests (client / server)", "TTFT mean client / server", "Residual mean",
		"Server TTFT p95", "Server queue mean", "Server prefill mean", "Server decode mean", "Peak waiting", "Peak KV cache", "GPU busy mean (peak)"},
		Right: []bool{false, false, true, true, true, true, true, true, true, true, true, true}}
	for _, w := range run.Summary.EngineMetrics {
		if w.Unavailable != "" {
			v.MetricsNotes = append(v.MetricsNotes, fmt.Sprintf("**%s** during %s: %s", mdEscape(w.Engine), mdEscape(w.Scenario), mdEscape(w.Unavailable)))
			continue
		}
		dash := "–"
		server := dash
		if w.ServerRequests != nil {
			server = fmt.Sprintf("%.0f", *w.ServerRequests)
			if w.CountMismatch {
				server += " ⚠"
			}
		}
		ttft, resid, p95 := dash, dash, dash
		if p, ok := w.Phase(reconcile.PhaseTTFT); ok {
			if p.Client != nil {
				ttft = fmt.Sprintf("%.1f / %.1f ms", p.Client.Mean, p.Server.MeanMS)
			}
			if p.Residual != nil {
				resid = fmt.Sprintf("%+.1f ms", p.Residual.MeanMS)
			}
			p95 = serverPercentile(p.Server, "p95", p.Server.P95MS)
		}
		mean := func(name string) string {
			if p, ok := w.Phase(name); ok {
				return fmt.Sprintf("%.1f ms", p.Server.MeanMS)
			}
			return dash
		}
		peak := func(name, format string, scale float64) string {
			if g, ok := w.Gauge(name); ok {
				return fmt.Sprintf(format, g.Max*scale)
			}
			return dash
		}
		v.EngineMetrics.Rows = append(v.EngineMetrics.Rows, []string{mdEscape(w.Engine), mdEscape(w.Scenario),
			fmt.Sprintf("%d / %s", w.ClientRequests, server), ttft, resid, p95, mean(reconcile.PhaseQueue), mean(reconcile.PhasePrefill),
			mean(reconcile.PhaseDecode), peak(reconcile.GaugeWaiting, "%.0f", 1), peak(reconcile.GaugeKVCache, "%.0f%%", 100), gpuBusy(w)})
		if b := w.Breakdown; b != nil {
			var parts []string
			for _, p := range b.Parts {
				parts = append(parts, fmt.Sprintf("%s %.0f%% (%.1f ms)", breakdownWords[p.Name], p.Share*100, p.MS))
			}
			v.Breakdowns = append(v.Breakdowns, fmt.Sprintf("**%s** during %s, mean TTFT %.1f ms: %s", mdEscape(w.Engine), mdEscape(w.Scenario), b.ClientTTFTMS, strings.Join(parts, " · ")))
		}
		for _, n := range w.Notes {
			v.MetricsNotes = append(v.MetricsNotes, fmt.Sprintf("**%s** during %s: %s", mdEscape(w.Engine), mdEscape(w.Scenario), mdEscape(n)))
		}
	}
}

// gpuBusy is the engine's GPUs' mean utilisation over the window, and its
// peak, from the DCGM exporter.
func gpuBusy(w reconcile.Window) string {
	g, ok := w.GPUGauge(reconcile.GPUUtil)
	if !ok {
		return "–"
	}
	return fmt.Sprintf("%.0f%% (%.0f%%) of %d", g.Mean, g.Max, w.GPUs)
}

var breakdownWords = map[string]string{"network_client": "network and client", "queue": "queue", "prefill": "prefill", "other_server": "other server work"}

// serverPercentile writes a bucket-interpolated percentile: ≈ a value, ≤
// the lowest bucket's bound, or estimated (TGI's TTFT has no buckets).
func serverPercentile(s reconcile.ServerStats, name string, v float64) string {
	switch {
	case !s.Interpolated:
		return "–"
	case slices.Contains(s.AtMost, name):
		return fmt.Sprintf("≤ %.0f ms", v)
	}
	return fmt.Sprintf("≈ %.1f ms", v)
}

type errorsView struct {
	Failed, Requests int
	Table            gridView
	NotCounted       []string
}

// buildErrors lists failures by class with the first message of each;
// the messages come from servers and are escaped.
func buildErrors(run *Run) errorsView {
	v := errorsView{Table: gridView{Header: []string{"Scenario", "Engine", "Class", "Count", "Example"},
		Right: []bool{false, false, false, true, false}}}
	for _, sc := range scenarioOrder(run) {
		for _, g := range groupsOf(run, sc) {
			v.Failed += g.Failed
			v.Requests += g.Requests
			classes := make([]string, 0, len(g.Errors))
			for c := range g.Errors {
				classes = append(classes, c)
			}
			sort.Strings(classes)
			for _, c := range classes {
				ex := "–"
				if msg := g.ErrorExamples[c]; msg != "" {
					ex = mdExcerpt(msg, 300)
				}
				v.Table.Rows = append(v.Table.Rows, []string{mdEscape(sc), mdEscape(g.Engine), mdEscape(c), fmt.Sprint(g.Errors[c]), ex})
			}
			if g.Dropped > 0 || g.Canceled > 0 {
				v.NotCounted = append(v.NotCounted, fmt.Sprintf("%s, %s: %d dropped by the client's concurrency cap, %d cancelled",
					mdEscape(sc), mdEscape(g.Engine), g.Dropped, g.Canceled))
			}
		}
	}
	return v
}

// traceText says what trace a scenario replayed and how.
func traceText(s workload.Scenario) string {
	t := s.Trace
	if t == nil {
		return "Trace replay"
	}
	p := fmt.Sprintf("Trace replay of %s: %d requests over %.1f s", t.Path, t.Requests, t.SpanS)
	if t.Speed != 1 {
		p += fmt.Sprintf(" (time ×1/%g)", t.Speed)
	}
	p += ", each sent at its recorded offset whether or not earlier answers had arrived, with the trace's prompt and answer lengths"
	if s.Concurrency > 0 {
		p += fmt.Sprintf("; at most %d in flight", s.Concurrency)
	}
	return p
}
