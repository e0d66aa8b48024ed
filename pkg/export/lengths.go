package export

import (
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/verdict"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

// lengthHeadline is "vllm: TTFT grows 61 ms per 1,000 prompt tokens, a
// prefill rate of 16,400 tokens/s (21 ms before any prompt)" for one
// engine of a length sweep.
func lengthHeadline(ls verdict.LengthSweep) string {
	f := ls.Fit
	input := ls.Kind == workload.LevelInputTokens
	switch {
	case f == nil:
		return fmt.Sprintf("%s: too few lengths completed to measure how latency grows with them", ls.Engine)
	case f.TokensPerS == nil && input:
		return fmt.Sprintf("%s: TTFT did not grow with the prompt (%+.1f ms per 1,000 tokens): no prefill cost measurable, as when a prefix cache answers", ls.Engine, f.MSPer1KTokens)
	case f.TokensPerS == nil:
		return fmt.Sprintf("%s: end-to-end latency did not grow with the answer (%+.1f ms per 1,000 tokens)", ls.Engine, f.MSPer1KTokens)
	case input:
		return fmt.Sprintf("%s: TTFT grows %.1f ms per 1,000 prompt tokens, a prefill rate of %s tokens/s (%.1f ms before any prompt; R² %.2f)",
			ls.Engine, f.MSPer1KTokens, rateText(*f.TokensPerS), f.InterceptMS, f.R2)
	}
	return fmt.Sprintf("%s: end-to-end latency grows %.1f ms per output token, %s tokens/s (%.1f ms before the first; R² %.2f)",
		ls.Engine, f.MSPer1KTokens/1000, rateText(*f.TokensPerS), f.InterceptMS, f.R2)
}

// rateText writes a rate to three significant digits with thousands
// separators (16,700): a fitted slope has no more.
func rateText(v float64) string {
	if v < 1000 {
		return fmt.Sprintf("%.0f", v)
	}
	scale := math.Pow(10, math.Floor(math.Log10(v))-2)
	return thousands(strconv.FormatInt(int64(math.Round(v/scale)*scale), 10))
}

var lengthHeader = []string{"Engine", "Length", "OK/Sent", "Prompt tokens (mean)", "Output tokens (mean)", "TTFT p50", "TTFT p95", "TPOT p50", "E2E p50"}

// lengthRows: one row per engine and length.
func lengthRows(s verdict.Summary, esc func(string) string) [][]string {
	var rows [][]string
	for _, ls := range s.Lengths {
		for _, l := range ls.Levels {
			rows = append(rows, []string{esc(ls.Engine), workload.Level{Kind: ls.Kind, Value: l.Value}.String(),
				fmt.Sprintf("%d/%d", l.Succeeded, l.Requests), fmt.Sprintf("%.0f", l.PromptTokensMean), fmt.Sprintf("%.0f", l.OutputTokensMean),
				fmt.Sprintf("%.1f ms", l.TTFTP50), fmt.Sprintf("%.1f ms", l.TTFTP95), fmt.Sprintf("%.1f ms", l.TPOTP50), fmt.Sprintf("%.1f ms", l.E2EP50)})
		}
	}
	return rows
}

func lengthTitle(s verdict.Summary) string {
	if len(s.Lengths) > 0 && s.Lengths[0].Kind == workload.LevelOutputTokens {
		return "Answer length"
	}
	return "Prompt length"
}

func writeLengths(w io.Writer, s verdict.Summary) error {
	if len(s.Lengths) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\n"+lengthTitle(s))
	for _, ls := range s.Lengths {
		fmt.Fprintf(w, "  %s\n", oneLine(lengthHeadline(ls)))
	}
	return RenderRows(w, lengthHeader, lengthRows(s, oneLine))
}

func lengthView(s verdict.Summary) (string, []string, gridView) {
	var lines []string
	for _, ls := range s.Lengths {
		lines = append(lines, mdEscape(lengthHeadline(ls)))
	}
	return lengthTitle(s), lines, gridView{Header: lengthHeader, Rows: lengthRows(s, mdEscape)}
}
