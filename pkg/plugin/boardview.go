package plugin

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/live"
)

// boardStyles colour the dashboard; with NO_COLOR or in a pipe the
// renderer draws them as plain text and the layout stays.
type boardStyles struct {
	title, dim, ok, warn, bad, spark, bar lipgloss.Style
}

func newBoardStyles(r *lipgloss.Renderer) boardStyles {
	return boardStyles{
		title: r.NewStyle().Bold(true),
		dim:   r.NewStyle().Faint(true),
		ok:    r.NewStyle().Foreground(lipgloss.Color("2")),
		warn:  r.NewStyle().Foreground(lipgloss.Color("3")),
		bad:   r.NewStyle().Foreground(lipgloss.Color("1")).Bold(true),
		spark: r.NewStyle().Foreground(lipgloss.Color("6")),
		bar:   r.NewStyle().Foreground(lipgloss.Color("4")),
	}
}

// renderBoard draws one frame of the run dashboard: a header with the
// whole run's progress, then per engine × scenario two lines while it
// runs, one once it is done, and what is still to come per engine. It
// reads only the snapshot, so frames are tested without a terminal.
func renderBoard(s live.Snapshot, title string, width int, st boardStyles) string {
	if width <= 0 {
		width = 120
	}
	var b strings.Builder
	eta := "ETA " + clockDuration(s.ETAS)
	if !s.ETAExact {
		eta = "ETA ≈ " + clockDuration(s.ETAS)
	}
	head := fmt.Sprintf("%s · %s elapsed · %s · %s", title, clockDuration(s.ElapsedS), percent(s.Progress), eta)
	b.WriteString(st.title.Render(ansi.Truncate(head, width, "…")) + "\n")
	if len(s.Workers) > 0 {
		b.WriteString(ansi.Truncate(workersLine(s.Workers), width, "…") + "\n")
	}
	pending := map[string][]live.Lane{}
	var order []string
	for _, l := range s.Lanes {
		switch l.State {
		case live.Pending:
			if len(pending[l.Engine]) == 0 {
				order = append(order, l.Engine)
			}
			pending[l.Engine] = append(pending[l.Engine], l)
		case live.Done:
			b.WriteString(ansi.Truncate(doneLine(l, st), width, "…") + "\n")
		default:
			for _, line := range runningLines(l, st) {
				b.WriteString(ansi.Truncate(line, width, "…") + "\n")
			}
		}
	}
	for _, e := range order {
		var names []string
		var secs float64
		known := true
		for _, l := range pending[e] {
			names = append(names, l.Scenario)
			if l.ETAS >= 0 {
				secs += l.ETAS
			} else {
				known = false
			}
		}
		line := fmt.Sprintf(" %s · to come: %s", e, strings.Join(names, ", "))
		if secs > 0 {
			line += fmt.Sprintf(" (%s%s)", map[bool]string{true: "about ", false: "≥ "}[known], clockDuration(secs))
		}
		b.WriteString(st.dim.Render(ansi.Truncate(line, width, "…")) + "\n")
	}
	return b.String()
}

func runningLines(l live.Lane, st boardStyles) []string {
	first := fmt.Sprintf(" %s %s", st.title.Render(l.Engine+" · "+l.Scenario), progressBar(l.Progress, 24, st))
	switch {
	case l.Progress >= 0:
		first += " " + percent(l.Progress)
	default:
		first += fmt.Sprintf(" %s", clockDuration(l.ElapsedS))
	}
	if l.ETAS >= 0 {
		first += "  ETA " + clockDuration(l.ETAS)
	}
	first += " · TTFT p50, last minute " + st.spark.Render(sparkline(l.Spark))
	if l.SLO != "" {
		first += " · " + sloText(l, st)
	}
	done := fmt.Sprintf("%d done", l.Done)
	if l.ExpectedRequests > 0 {
		done = fmt.Sprintf("%d/%d done", l.Done, l.ExpectedRequests)
	}
	failed := fmt.Sprintf("%d failed", l.Failed)
	if l.Failed > 0 {
		failed = st.warn.Render(failed)
	}
	rate := fmt.Sprintf("%.1f req/s", l.DoneRPS)
	if l.AskedRPS > 0 {
		rate += fmt.Sprintf(" (asked %g)", l.AskedRPS)
		if l.ElapsedS > 10 && l.DoneRPS < 0.9*l.AskedRPS {
			rate = st.warn.Render(rate)
		}
	}
	second := fmt.Sprintf("   %s · %s · %s in flight · %s · %.0f tok/s · lag p95 %s · TTFT p50/p95 %s · TPOT p50/p95 %s",
		done, failed, inFlight(l), rate, l.TokensPerS, msText(l.LagP95MS), msPair(l.TTFTP50MS, l.TTFTP95MS), msPair(l.TPOTP50MS, l.TPOTP95MS))
	return []string{first, second}
}

func doneLine(l live.Lane, st boardStyles) string {
	mark := st.ok.Render("✓")
	if l.Failed > 0 && l.Failed == l.Done {
		mark = st.bad.Render("✗")
	}
	line := fmt.Sprintf(" %s %s · %s: %d requests, %d failed in %s", mark, l.Engine, l.Scenario, l.Done, l.Failed, clockDuration(l.ElapsedS))
	if l.SLO != "" {
		line += " · " + sloText(l, st)
	}
	return line
}

func sloText(l live.Lane, st boardStyles) string {
	if l.SLO == "missed" {
		return st.bad.Render("SLO missed")
	}
	return st.ok.Render("SLO holding")
}

func workersLine(ws []live.Worker) string {
	var parts []string
	for _, w := range ws {
		p := fmt.Sprintf("worker %d", w.Index)
		if w.Node != "" {
			p += " on " + w.Node
		}
		p += fmt.Sprintf(" %s %d done", w.State, w.Records)
		if w.Failed > 0 {
			p += fmt.Sprintf(" (%d failed)", w.Failed)
		}
		if w.LateMS > 0 {
			p += fmt.Sprintf(", %.1f ms late", w.LateMS)
		}
		if w.Cores > 0 && w.CPUShare > 0 {
			p += fmt.Sprintf(", CPU %.0f%% of %d", w.CPUShare*100, w.Cores)
		}
		parts = append(parts, p)
	}
	return " load " + strings.Join(parts, " · ")
}

func progressBar(p float64, width int, st boardStyles) string {
	if p < 0 {
		return st.dim.Render(strings.Repeat("·", width))
	}
	full := int(math.Round(p * float64(width)))
	return st.bar.Render(strings.Repeat("█", full)) + st.dim.Render(strings.Repeat("░", width-full))
}

var sparkRunes = []rune("▁▂▃▄▅▆▇█")

// sparkline scales the points between their own least and greatest; a
// gap (nothing finished then) is a space.
func sparkline(ps []*float64) string {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range ps {
		if p != nil {
			lo, hi = min(lo, *p), max(hi, *p)
		}
	}
	var b strings.Builder
	for _, p := range ps {
		switch {
		case p == nil:
			b.WriteByte(' ')
		case hi <= lo:
			b.WriteRune(sparkRunes[0])
		default:
			b.WriteRune(sparkRunes[int((*p-lo)/(hi-lo)*float64(len(sparkRunes)-1)+0.5)])
		}
	}
	return b.String()
}

func msText(p *float64) string {
	if p == nil {
		return "–"
	}
	switch v := *p; {
	case v >= 10_000:
		return fmt.Sprintf("%.1f s", v/1000)
	case v >= 100:
		return fmt.Sprintf("%.0f ms", v)
	case v >= 10:
		return fmt.Sprintf("%.1f ms", v)
	default:
		return fmt.Sprintf("%.2f ms", v)
	}
}

// msPair is "23.1/24.3 ms": two figures in the unit of the larger.
func msPair(a, b *float64) string {
	if a == nil || b == nil {
		return "–"
	}
	hi := max(*a, *b)
	if hi >= 10_000 {
		return fmt.Sprintf("%.1f/%.1f s", *a/1000, *b/1000)
	}
	digits := 2
	switch {
	case hi >= 100:
		digits = 0
	case hi >= 10:
		digits = 1
	}
	return fmt.Sprintf("%.*f/%.*f ms", digits, *a, digits, *b)
}

func percent(p float64) string {
	if p < 0 {
		return "–%"
	}
	return fmt.Sprintf("%.0f%%", math.Floor(p*100))
}

// clockDuration is a span for people: 42s, 3m05s, 1h02m.
func clockDuration(secs float64) string {
	if secs < 0 || math.IsNaN(secs) {
		return "?"
	}
	d := time.Duration(math.Round(secs)) * time.Second
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	default:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
}

// inFlight is "–" where the board cannot know (in-cluster workers').
func inFlight(l live.Lane) string {
	if l.InFlight < 0 {
		return "–"
	}
	return fmt.Sprint(l.InFlight)
}

// plainLine is a running lane as one line of a CI log.
func plainLine(l live.Lane) string {
	line := fmt.Sprintf("%s · %s: %d", l.Engine, l.Scenario, l.Done)
	if l.ExpectedRequests > 0 {
		line += fmt.Sprintf("/%d", l.ExpectedRequests)
	}
	line += " done"
	if l.Progress >= 0 {
		line += " (" + percent(l.Progress) + ")"
	}
	if l.ETAS >= 0 {
		line += ", ETA " + clockDuration(l.ETAS)
	}
	line += fmt.Sprintf(" · %d failed · %s in flight · %.1f req/s", l.Failed, inFlight(l), l.DoneRPS)
	if l.AskedRPS > 0 {
		line += fmt.Sprintf(" (asked %g)", l.AskedRPS)
	}
	line += fmt.Sprintf(" · lag p95 %s · TTFT p50/p95 %s · TPOT p50/p95 %s", msText(l.LagP95MS), msPair(l.TTFTP50MS, l.TTFTP95MS), msPair(l.TPOTP50MS, l.TPOTP95MS))
	if l.SLO != "" {
		line += " · SLO " + l.SLO
	}
	return line
}
