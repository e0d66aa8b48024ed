package plugin

import (
	"fmt"
	"io"

	"github.com/charmbracelet/x/ansi"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/economics"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/load"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/stats"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
	"github.com/llmbench/kubectl-llmbench/pkg/export"
)

// engineTalk is one engine's conversation, for the summary tables.
type engineTalk struct {
	target    engine.Target
	exchanges []load.Exchange
}

func (e engineTalk) records() []engine.Record {
	out := make([]engine.Record, len(e.exchanges))
	for i, x := range e.exchanges {
		out[i] = x.Record
	}
	return out
}

// totals sums the successful turns: answers, tokens in and out, and
// seconds spent answering.
func (e engineTalk) totals() (ok, in, out int, busy float64) {
	for _, r := range e.records() {
		if r.OK {
			ok++
			in += r.PromptTokens
			out += r.OutputTokens
			busy += *r.E2EMS / 1000
		}
	}
	return ok, in, out, busy
}

// wait is the engine's median time to the first word and to the whole
// answer over its successful turns.
func (e engineTalk) wait() (economics.Wait, bool) {
	var first, whole []float64
	for _, r := range e.records() {
		if r.OK && r.TTFTMS != nil && r.E2EMS != nil {
			first = append(first, *r.TTFTMS)
			whole = append(whole, *r.E2EMS)
		}
	}
	if len(first) == 0 {
		return economics.Wait{}, false
	}
	return economics.Wait{Engine: e.target.Name, FirstWordMS: stats.Describe(first).P50, AnswerMS: stats.Describe(whole).P50}, true
}

// writeTalkTables prints the timings, the cost at measured throughput and
// the human impact of the engines' conversations.
func writeTalkTables(w io.Writer, talks []engineTalk, cfg workload.Config) error {
	var rows [][]string
	for _, e := range talks {
		ok, in, out, busy := e.totals()
		row := []string{engineTitle(e.target.Name), fmt.Sprintf("%d of %d", ok, len(e.exchanges)), "-", "-", fmt.Sprint(in), fmt.Sprint(out), "-"}
		if wt, has := e.wait(); has {
			row[2], row[3] = export.MSText(wt.FirstWordMS), export.MSText(wt.AnswerMS)
		}
		if busy > 0 {
			row[6] = fmt.Sprintf("%.1f", float64(out)/busy)
		}
		rows = append(rows, row)
	}
	fmt.Fprintln(w, "\nTimings (medians over the turns; one conversation at a time)")
	if err := export.RenderRows(w, []string{"Engine", "Answered", "First word", "Whole answer", "Tokens in", "Tokens out", "Tokens/s"}, rows); err != nil {
		return err
	}

	var costs []economics.Cost
	for _, e := range talks {
		ok, _, out, busy := e.totals()
		p, assumed := cfg.Economics.For(e.target.Name, e.target.Type)
		var reqPerS, tokPerS float64
		if busy > 0 {
			reqPerS, tokPerS = float64(ok)/busy, float64(out)/busy
		}
		costs = append(costs, economics.CostAt(e.target.Name, "one at a time", p, assumed, reqPerS, tokPerS))
	}
	fmt.Fprintln(w, "\nCost at measured throughput (one request at a time: the most it can cost; concurrency lowers it, see run)")
	header, rows := export.CostRows(costs, engineTitle)
	if err := export.RenderRows(w, header, rows); err != nil {
		return err
	}
	fmt.Fprintln(w, ansi.Wordwrap(export.CostNote(costs), 120, " "))

	var waits []economics.Wait
	for _, e := range talks {
		if wt, ok := e.wait(); ok {
			waits = append(waits, wt)
		}
	}
	if len(waits) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nHuman impact")
	header, rows = export.ImpactRows(cfg.HumanImpact.Of(waits), engineTitle)
	if err := export.RenderRows(w, header, rows); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, ansi.Wordwrap(export.ImpactNote(cfg.HumanImpact, ""), 120, " "))
	return err
}
