package plugin

import (
	"strings"
	"testing"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/live"
)

func f(v float64) *float64 { return &v }

func boardSnapshot() live.Snapshot {
	return live.Snapshot{ElapsedS: 75, Progress: 0.5, ETAS: 75, ETAExact: true, Lanes: []live.Lane{
		{Engine: "vllm", Scenario: "ttft", State: live.Done, Done: 6, ElapsedS: 3, Progress: 1},
		{Engine: "vllm", Scenario: "chat", State: live.Running, Done: 120, ExpectedRequests: 600, Failed: 2, InFlight: 7, Progress: 0.2, ETAS: 62,
			AskedRPS: 10, DoneRPS: 9.8, ElapsedS: 12, TokensPerS: 640, LagP95MS: f(0.31), TTFTP50MS: f(120), TTFTP95MS: f(340), TPOTP50MS: f(12.1), TPOTP95MS: f(15),
			Spark: []*float64{nil, f(100), f(200), f(300)}, SLO: "missed", SLOReason: "stopped early"},
		{Engine: "tgi", Scenario: "ttft", State: live.Pending, ETAS: 3},
		{Engine: "tgi", Scenario: "chat", State: live.Pending, ETAS: 60},
	}, Workers: []live.Worker{{Index: 0, Node: "node-a", State: "running", Records: 120, LateMS: 0.4}}}
}

func TestRenderBoard(t *testing.T) {
	r := lipgloss.NewRenderer(nil)
	r.SetColorProfile(termenv.Ascii)
	frame := renderBoard(boardSnapshot(), "kubectl-llmbench run chat", 200, newBoardStyles(r))
	for _, want := range []string{
		"kubectl-llmbench run chat · 1m15s elapsed · 50% · ETA 1m15s\n",
		" load worker 0 on node-a running 120 done, 0.4 ms late\n",
		" ✓ vllm · ttft: 6 requests, 0 failed in 3s\n",
		" vllm · chat █████░░░░░░░░░░░░░░░░░░░ 20%  ETA 1m02s · TTFT p50, last minute  ▁▅█ · SLO missed\n",
		"   120/600 done · 2 failed · 7 in flight · 9.8 req/s (asked 10) · 640 tok/s · lag p95 0.31 ms · TTFT p50/p95 120/340 ms · TPOT p50/p95 12.1/15.0 ms\n",
		" tgi · to come: ttft, chat (about 1m03s)\n",
	} {
		if !strings.Contains(frame, want) {
			t.Errorf("frame lacks %q:\n%s", want, frame)
		}
	}
	// A narrow terminal cuts lines instead of wrapping them.
	for _, line := range strings.Split(renderBoard(boardSnapshot(), "x", 60, newBoardStyles(r)), "\n") {
		if w := ansi.StringWidth(line); w > 60 {
			t.Errorf("line %d wide in 60 columns: %q", w, line)
		}
	}
}

func TestRenderBoardColoursAMissedSLO(t *testing.T) {
	r := lipgloss.NewRenderer(nil)
	r.SetColorProfile(termenv.ANSI)
	frame := renderBoard(boardSnapshot(), "x", 200, newBoardStyles(r))
	if !strings.Contains(frame, "\x1b[1;31mSLO missed") && !strings.Contains(frame, "\x1b[31;1mSLO missed") {
		t.Errorf("a missed SLO is not red:\n%q", frame)
	}
}

func TestPlainLine(t *testing.T) {
	got := plainLine(boardSnapshot().Lanes[1])
	want := "vllm · chat: 120/600 done (20%), ETA 1m02s · 2 failed · 7 in flight · 9.8 req/s (asked 10) · lag p95 0.31 ms · TTFT p50/p95 120/340 ms · TPOT p50/p95 12.1/15.0 ms · SLO missed"
	if got != want {
		t.Errorf("plain line\n got %s\nwant %s", got, want)
	}
}
