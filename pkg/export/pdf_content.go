package export

import (
	"fmt"
	"sort"
	"strings"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/metric"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/stats"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/verdict"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

// brief is what the executive PDF says, derived from the summary: the
// verdict, the recommendation and the risks in plain words.
type brief struct {
	Verdict        string
	Reasons        []string
	Recommendation string
	Risks          []string
}

// headlineScenario is the scenario the verdict speaks for: the first load
// scenario (how users actually arrive), else the sequential TTFT suite.
func headlineScenario(run *Run) string {
	order := scenarioOrder(run)
	for _, sc := range order {
		for _, g := range run.Summary.Groups {
			if g.Scenario == sc && g.Suite == workload.SuiteLoad {
				return sc
			}
		}
	}
	if len(order) > 0 {
		return order[0]
	}
	return ""
}

func buildBrief(run *Run) brief {
	var b brief
	winner := run.Summary.Winner()
	led := run.Summary.Wins()[winner]
	sc := headlineScenario(run)
	var reasons []string
	for _, f := range run.Summary.Fastest {
		// The cover speaks for the headline scenario; the scorecard and
		// the HTML report have the rest.
		if f.Engine == winner && f.Won() && f.Scenario == sc {
			reasons = append(reasons, fastestSentence(f))
		}
	}
	switch {
	case winner == "":
		b.Verdict = fmt.Sprintf("No engine could be ranked: a comparison needs at least two engines that answered and failed at most %.0f%% of their requests.", verdict.MaxErrorRateToRank*100)
		b.Recommendation = "Fix the failures listed under Risks and run the benchmark again before choosing."
		if len(run.Summary.Fastest) > 0 {
			b.Verdict = "No engine is measurably faster: every difference between them is within noise (no significant difference)."
			b.Recommendation = "Choose on other grounds (cost, operations, features), or measure longer: more requests narrow the uncertainty."
		}
	default:
		b.Verdict = fmt.Sprintf("%s serves your chat users fastest.", winner)
		for _, f := range run.Summary.Fastest {
			if f.Engine == winner && f.Scenario == sc && f.Metric == metric.TTFT && f.Stat == "p50" && f.RunnerUp != "" {
				b.Verdict = fmt.Sprintf("%s serves your chat users fastest: in %s its median time to first token was %.1f ms, %.0f%% lower than %s.",
					winner, sc, f.Value, f.MarginPct, f.RunnerUp)
				if !f.Won() {
					b.Verdict = fmt.Sprintf("%s serves your chat users fastest overall; in %s its median time to first token (%.1f ms) is not significantly different from %s's.",
						winner, sc, f.Value, f.RunnerUp)
				}
			}
		}
		b.Recommendation = fmt.Sprintf("Choose %s for latency-sensitive chat traffic, provided the risks below are acceptable; it led %d of %d comparisons.",
			winner, led, len(run.Summary.Fastest))
		if missed := missedTargets(run, winner); missed > 0 {
			b.Recommendation = fmt.Sprintf("%s led %d of %d comparisons but missed %d of its targets: before choosing it, check whether an engine that met them (scorecard) serves you better, or whether the targets fit your users.",
				winner, led, len(run.Summary.Fastest), missed)
		}
	}
	// Capacity is what a platform team plans with: it leads the reasons.
	var capacity []string
	for _, c := range run.Summary.Capacity {
		capacity = append(capacity, capacityHeadline(c)+".")
	}
	for _, ls := range run.Summary.Lengths {
		capacity = append(capacity, lengthHeadline(ls)+".")
	}
	b.Reasons = append(capacity, reasons...)
	b.Risks = risks(run, winner)
	return b
}

func fastestSentence(f verdict.Fastest) string {
	if f.HigherIsBetter {
		s := fmt.Sprintf("%s: highest output throughput, %.0f tokens/s", f.Scenario, f.Value)
		if f.RunnerUp != "" {
			s += fmt.Sprintf(" (%.0f%% above %s)", f.MarginPct, f.RunnerUp)
		}
		return s
	}
	s := fmt.Sprintf("%s: lowest %s %s, %.1f ms", f.Scenario, metric.Label(f.Metric), f.Stat, f.Value)
	if f.RunnerUp != "" {
		s += fmt.Sprintf(" (%.0f%% below %s; %s)", f.MarginPct, f.RunnerUp, evidenceText(f))
	}
	return s
}

// risks lists, in plain words, whatever should temper the verdict.
func risks(run *Run, winner string) []string {
	var out []string
	for _, g := range run.Summary.Groups {
		if g.Failed > 0 {
			classes := make([]string, 0, len(g.Errors))
			for c := range g.Errors {
				classes = append(classes, c)
			}
			sort.Strings(classes)
			out = append(out, fmt.Sprintf("%s failed %d of %d requests in %s (%s).", g.Engine, g.Failed, g.Requests, g.Scenario, strings.Join(classes, ", ")))
		}
		if g.Target != nil && !g.Target.Met {
			out = append(out, fmt.Sprintf("%s missed its target in %s (%s).", g.Engine, g.Scenario, g.Target.Goal.String()))
		}
		if misses := sloMisses(g.SLO); len(misses) > 0 {
			out = append(out, fmt.Sprintf("%s missed its SLO in %s: %s (%.0f%% of requests within it).", g.Engine, g.Scenario, strings.Join(misses, "; "), g.SLO.Attainment*100))
		}
		if g.OutputMismatch > 0 {
			out = append(out, fmt.Sprintf("%s returned a different number of tokens than asked in %d of %d requests in %s; its per-token figures compare unequal work.",
				g.Engine, g.OutputMismatch, g.Succeeded, g.Scenario))
		}
		if g.PromptMismatch > 0 {
			out = append(out, fmt.Sprintf("%s counted %d of %d prompts in %s more than 1%% away from the length asked for; its TTFT compares unequal prompts.",
				g.Engine, g.PromptMismatch, g.Succeeded, g.Scenario))
		}
		if st := g.Metrics[metric.TTFT]; g.Engine == winner && st.Count > 0 && !st.Resolved("p95") {
			out = append(out, fmt.Sprintf("%s in %s rests on %d successful requests: too few for a confidence interval of the p95 (it needs %d); run the standard or stress preset to confirm.",
				g.Engine, g.Scenario, g.Succeeded, stats.MinSamples(95)))
		}
		if lag, ok := g.Metrics[metric.ScheduleLag]; ok && lag.P99 > 10 {
			out = append(out, fmt.Sprintf("the client fell behind its schedule for %s in %s (lag p99 %.0f ms); latencies from arrival are higher.", g.Engine, g.Scenario, lag.P99))
		}
	}
	for _, f := range run.Summary.Findings {
		out = append(out, f.Message+".")
	}
	if len(out) == 0 {
		out = append(out, "None observed: every request succeeded, every target was met and outputs had the requested length.")
	}
	return out
}

// pdfSafe maps text to what the PDF's core fonts can show (Windows-1252):
// a few typographic symbols get ASCII spellings, anything else outside the
// code page becomes "?". Server and model text goes through it too.
func pdfSafe(s string) string {
	r := strings.NewReplacer("≤", "<=", "≥", ">=", "→", "->", "×", "x", "·", "-", "–", "-", "—", "-", "…", "...", "µ", "u")
	s = r.Replace(s)
	var b strings.Builder
	for _, c := range s {
		switch {
		case c == '\n' || c == '\t':
			b.WriteRune(' ')
		case c < 0x20:
		case c < 0x80 || (c >= 0xA0 && c <= 0xFF):
			b.WriteRune(c)
		default:
			b.WriteRune('?')
		}
	}
	return b.String()
}

func missedTargets(run *Run, engine string) int {
	n := 0
	for _, g := range run.Summary.Groups {
		if g.Engine == engine && g.Target != nil && !g.Target.Met {
			n++
		}
	}
	return n
}
