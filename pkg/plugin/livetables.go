package plugin

import (
	"fmt"
	"io"
	"strings"

	"github.com/llmbench/kubectl-llmbench/pkg/bench"
	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
)

// engineTalk is one engine's conversation, for the summary tables.
type engineTalk struct {
	target    bench.Target
	exchanges []bench.Exchange
}

func (e engineTalk) records() []bench.Record {
	out := make([]bench.Record, len(e.exchanges))
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
func (e engineTalk) wait() (bench.Wait, bool) {
	var first, whole []float64
	for _, r := range e.records() {
		if r.OK && r.TTFTMS != nil && r.E2EMS != nil {
			first = append(first, *r.TTFTMS)
			whole = append(whole, *r.E2EMS)
		}
	}
	if len(first) == 0 {
		return bench.Wait{}, false
	}
	return bench.Wait{Engine: e.target.Name, FirstWordMS: bench.Describe(first).P50, AnswerMS: bench.Describe(whole).P50}, true
}

func renderTable(w io.Writer, header []string, rows [][]string) error {
	t := tablewriter.NewTable(w, tablewriter.WithHeaderAutoFormat(tw.Off))
	t.Header(header)
	for _, r := range rows {
		if err := t.Append(r); err != nil {
			return err
		}
	}
	return t.Render()
}

// writeTalkTables prints the timings, the cost at measured throughput and
// the human impact of the engines' conversations.
func writeTalkTables(w io.Writer, talks []engineTalk, cfg bench.Config) error {
	var rows [][]string
	for _, e := range talks {
		ok, in, out, busy := e.totals()
		row := []string{engineTitle(e.target.Name), fmt.Sprintf("%d of %d", ok, len(e.exchanges)), "-", "-", fmt.Sprint(in), fmt.Sprint(out), "-"}
		if wt, has := e.wait(); has {
			row[2], row[3] = fmtMS(wt.FirstWordMS), fmtMS(wt.AnswerMS)
		}
		if busy > 0 {
			row[6] = fmt.Sprintf("%.1f", float64(out)/busy)
		}
		rows = append(rows, row)
	}
	fmt.Fprintln(w, "\nTimings (medians over the turns; one conversation at a time)")
	if err := renderTable(w, []string{"Engine", "Answered", "First word", "Whole answer", "Tokens in", "Tokens out", "Tokens/s"}, rows); err != nil {
		return err
	}

	rows = rows[:0]
	assumed := false
	for _, e := range talks {
		ok, _, out, busy := e.totals()
		p, a := cfg.Economics.For(e.target.Name, e.target.Type)
		assumed = assumed || a
		var reqPerS, tokPerS float64
		if busy > 0 {
			reqPerS, tokPerS = float64(ok)/busy, float64(out)/busy
		}
		c := bench.CostAt(e.target.Name, "one request at a time", p, a, reqPerS, tokPerS)
		rows = append(rows, []string{engineTitle(e.target.Name), priceCell(p, a), usdCell(c.PerThousandRequestsUSD), usdCell(c.PerMillionTokensUSD)})
	}
	fmt.Fprintln(w, "\nCost at measured throughput (one request at a time: the most it can cost; concurrency lowers it, see run)")
	if err := renderTable(w, []string{"Engine", "GPU price", "USD per 1,000 answers", "USD per 1M output tokens"}, rows); err != nil {
		return err
	}
	if assumed {
		fmt.Fprintf(w, "* assumed %s per GPU-hour: set economics in a -f config, e.g. economics: {vllm: {gpu_hour_usd: 4.1, gpus: 1}}\n", usd(bench.DefaultPrice.GPUHourUSD))
	}

	var waits []bench.Wait
	for _, e := range talks {
		if wt, ok := e.wait(); ok {
			waits = append(waits, wt)
		}
	}
	return writeImpact(w, cfg.HumanImpact, waits)
}

// writeImpact prints the human-impact estimate with its inputs.
func writeImpact(w io.Writer, h bench.HumanImpact, waits []bench.Wait) error {
	if len(waits) == 0 {
		return nil
	}
	h = h.WithDefaults()
	var rows [][]string
	for _, im := range h.Of(waits) {
		rows = append(rows, []string{engineTitle(im.Engine), fmtMS(im.FirstWordMS), fmtMS(im.AnswerMS),
			fmt.Sprintf("%.1f", im.MinutesPerDay), fmt.Sprintf("%.1f", im.ExtraMinutesPerDay), usd(im.ExtraCostPerYearUSD)})
	}
	fmt.Fprintf(w, "\nHuman impact (an estimate: %g %s × %g AI-assisted interactions a day, %s an hour, %g working days a year; set human_impact in a -f config)\n",
		h.People, plural(h.People, "person", "people"), h.InteractionsPerDay, usd(h.HourlyCostUSD), h.WorkingDaysPerYear)
	return renderTable(w, []string{"Engine", "First word", "Whole answer", "Minutes waiting a day (each)", "Extra minutes a day vs fastest (all)", "Extra cost a year vs fastest"}, rows)
}

func plural(n float64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func fmtMS(ms float64) string {
	if ms >= 1000 {
		return fmt.Sprintf("%.2f s", ms/1000)
	}
	return fmt.Sprintf("%.0f ms", ms)
}

func usd(v float64) string {
	switch {
	case v == 0:
		return "$0"
	case v >= 100:
		return "$" + commas(fmt.Sprintf("%.0f", v))
	case v >= 1:
		return fmt.Sprintf("$%.2f", v)
	}
	return fmt.Sprintf("$%.4f", v)
}

func usdCell(v *float64) string {
	if v == nil {
		return "-"
	}
	return usd(*v)
}

func priceCell(p bench.Price, assumed bool) string {
	s := fmt.Sprintf("%s × %g GPU", usd(p.GPUHourUSD), p.GPUs)
	if assumed {
		s += " *"
	}
	return s
}

// commas groups thousands: 12345 → 12,345.
func commas(digits string) string {
	var b strings.Builder
	for i, r := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}
