package plugin

import (
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/load"
	"github.com/llmbench/kubectl-llmbench/pkg/export"
)

// raceLane is one engine's stream in the live view.
type raceLane struct {
	name   string
	text   strings.Builder
	ttft   time.Duration // since the race started; 0 until the first token
	chunks int
	// done is set with the finished record.
	done bool
	at   time.Duration // when it finished
	rec  engine.Record
}

// raceState is everything a frame shows; renderRace draws it and nothing
// else, so frames are snapshot-tested without a terminal.
type raceState struct {
	// title replaces "Race" in the header (demo: the scenario and turn).
	title         string
	prompt        string
	round, rounds int
	now           time.Duration
	lanes         []*raceLane
	// firsts tallies, over the rounds so far, who gave the first word.
	firsts map[string]int
}

func newRaceState(prompt string, targets []engine.Target, rounds int) *raceState {
	s := &raceState{prompt: prompt, rounds: rounds, firsts: map[string]int{}}
	for _, t := range targets {
		s.lanes = append(s.lanes, &raceLane{name: t.Name})
	}
	return s
}

// startRound clears the lanes for the next round.
func (s *raceState) startRound() {
	s.round++
	s.now = 0
	for i, l := range s.lanes {
		s.lanes[i] = &raceLane{name: l.name}
	}
}

func (s *raceState) apply(ev load.RaceEvent) {
	l := s.lanes[ev.Lane]
	s.now = max(s.now, ev.At)
	if ev.Done != nil {
		l.done, l.at, l.rec = true, ev.At, *ev.Done
		if s.finished() {
			if w := s.winner(); w != nil {
				s.firsts[w.name]++
			}
		}
		return
	}
	if l.chunks == 0 {
		l.ttft = ev.At
	}
	l.chunks++
	l.text.WriteString(ev.Text)
}

func (s *raceState) finished() bool {
	for _, l := range s.lanes {
		if !l.done {
			return false
		}
	}
	return true
}

// ok lists the lanes that answered, fastest first word first.
func (s *raceState) ok() []*raceLane {
	var out []*raceLane
	for _, l := range s.lanes {
		if l.done && l.rec.OK {
			out = append(out, l)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ttft < out[j].ttft })
	return out
}

func (s *raceState) winner() *raceLane {
	if ok := s.ok(); len(ok) > 0 {
		return ok[0]
	}
	return nil
}

// safeText keeps model output from steering the terminal: escape
// sequences and control characters are dropped, tabs become spaces.
func safeText(s string) string {
	s = ansi.Strip(s)
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n':
			return r
		case r == '\t':
			return ' '
		case unicode.IsControl(r):
			return -1
		}
		return r
	}, s)
}

// engineTitle is how an engine's name reads in prose and headings.
func engineTitle(name string) string {
	switch name {
	case "vllm":
		return "vLLM"
	case "tgi":
		return "TGI"
	case "ollama":
		return "Ollama"
	}
	return name
}

func fmtDur(d time.Duration) string { return export.MSText(float64(d) / float64(time.Millisecond)) }

// laneStatus is the one-line figure under an engine's name.
func (l *raceLane) status(now time.Duration) string {
	switch {
	case l.done && !l.rec.OK:
		return "failed: " + l.rec.ErrorClass
	case l.done:
		tps := ""
		if l.rec.OutputTokensPerS != nil {
			tps = fmt.Sprintf(" · %.0f tok/s", *l.rec.OutputTokensPerS)
		}
		return fmt.Sprintf("TTFT %s%s · %d tokens · done %s", fmtDur(l.ttft), tps, l.rec.OutputTokens, fmtDur(l.at))
	case l.chunks == 0:
		return "waiting for the first token…"
	}
	rate := ""
	if dt := now - l.ttft; dt > 0 && l.chunks > 1 {
		rate = fmt.Sprintf(" · %.0f tok/s", float64(l.chunks-1)/dt.Seconds())
	}
	return fmt.Sprintf("TTFT %s%s · %d chunks", fmtDur(l.ttft), rate, l.chunks)
}

// raceStyles are the frame's styles from one renderer, so NO_COLOR and
// tests (no colour) draw the same layout.
type raceStyles struct {
	title, dim, win, bad lipgloss.Style
	box                  lipgloss.Style
	colors               []lipgloss.Color
}

func newRaceStyles(r *lipgloss.Renderer) raceStyles {
	return raceStyles{
		title:  r.NewStyle().Bold(true),
		dim:    r.NewStyle().Faint(true),
		win:    r.NewStyle().Bold(true).Foreground(lipgloss.Color("2")),
		bad:    r.NewStyle().Foreground(lipgloss.Color("1")),
		box:    r.NewStyle().Border(lipgloss.RoundedBorder()).Padding(0, 1),
		colors: []lipgloss.Color{"4", "3", "6", "5", "2"},
	}
}

// raceTextLines is how many lines of each answer a frame shows (the
// latest ones, as they stream).
const raceTextLines = 14

// renderRace draws a frame: the clock, one column per engine (stacked
// when the terminal is narrower than 28 columns per engine), and the
// finish line once every engine is done.
func renderRace(s *raceState, width int, r *lipgloss.Renderer) string {
	st := newRaceStyles(r)
	if width <= 0 {
		width = 80
	}
	var b strings.Builder
	round := ""
	if s.rounds > 1 {
		round = fmt.Sprintf(" · round %d of %d", s.round, s.rounds)
	}
	title := "Race"
	if s.title != "" {
		title = s.title
	}
	b.WriteString(st.title.Render(title+round) + st.dim.Render(fmt.Sprintf(" · %s", fmtDur(s.now))) + "\n")
	b.WriteString(st.dim.Render(ansi.Truncate("“"+strings.Join(strings.Fields(safeText(s.prompt)), " ")+"”", width, "…")) + "\n")

	n := len(s.lanes)
	sideBySide := n > 0 && width/n >= 28
	colWidth := width - 2
	if sideBySide {
		colWidth = width/n - 2 // borders
	}
	inner := max(colWidth-2, 8) // padding
	var boxes []string
	for i, l := range s.lanes {
		head := st.title.Foreground(st.colors[i%len(st.colors)]).Render(engineTitle(l.name))
		status := l.status(s.now)
		if l.done && !l.rec.OK {
			status = st.bad.Render(status)
		}
		text := ansi.Wordwrap(strings.TrimLeft(safeText(l.text.String()), "\n "), inner, " -")
		text = ansi.Hardwrap(text, inner, true)
		lines := strings.Split(text, "\n")
		for i := range lines {
			lines[i] = strings.TrimLeft(lines[i], " ")
		}
		if len(lines) > raceTextLines {
			lines = lines[len(lines)-raceTextLines:]
		}
		for len(lines) < raceTextLines && sideBySide {
			lines = append(lines, "")
		}
		// The figures may take two lines in a narrow column; columns keep
		// one height either way.
		statusLines := strings.Split(ansi.Wordwrap(status, inner, " "), "\n")
		if len(statusLines) > 2 {
			statusLines = append(statusLines[:1], ansi.Truncate(strings.Join(statusLines[1:], " "), inner, "…"))
		}
		if len(statusLines) < 2 && sideBySide {
			statusLines = append(statusLines, "")
		}
		body := head + "\n" + strings.Join(statusLines, "\n") + "\n\n" + strings.Join(lines, "\n")
		boxes = append(boxes, st.box.Width(colWidth).Render(body))
	}
	if sideBySide {
		b.WriteString(lipgloss.JoinHorizontal(lipgloss.Top, boxes...) + "\n")
	} else {
		b.WriteString(strings.Join(boxes, "\n") + "\n")
	}
	if s.finished() {
		for _, line := range s.finishLines() {
			b.WriteString(st.win.Render(line) + "\n")
		}
	}
	return b.String()
}

// finishLines say who answered first and by how much, in words a person
// waiting for an answer would use.
func (s *raceState) finishLines() []string {
	ok := s.ok()
	var out []string
	if len(ok) == 0 {
		return []string{"Finish: no engine answered."}
	}
	first := ok[0]
	var parts []string
	for i, l := range ok {
		if i == 0 {
			parts = append(parts, fmt.Sprintf("%s %s", engineTitle(l.name), fmtDur(l.ttft)))
		} else {
			parts = append(parts, fmt.Sprintf("%s %s (+%s)", engineTitle(l.name), fmtDur(l.ttft), fmtDur(l.ttft-first.ttft)))
		}
	}
	out = append(out, "Finish · first word: "+strings.Join(parts, " · "))
	byEnd := append([]*raceLane(nil), ok...)
	sort.SliceStable(byEnd, func(i, j int) bool { return byEnd[i].at < byEnd[j].at })
	parts = parts[:0]
	for _, l := range byEnd {
		parts = append(parts, fmt.Sprintf("%s %s", engineTitle(l.name), fmtDur(l.at)))
	}
	out = append(out, "Finish · full answer: "+strings.Join(parts, " · "))
	if last := ok[len(ok)-1]; len(ok) > 1 {
		out = append(out, fmt.Sprintf("%s's user waits %s longer for the first word than %s's.", engineTitle(last.name), fmtDur(last.ttft-first.ttft), engineTitle(first.name)))
	}
	for _, l := range s.lanes {
		if l.done && !l.rec.OK {
			out = append(out, fmt.Sprintf("%s failed (%s): %s", engineTitle(l.name), l.rec.ErrorClass, safeText(l.rec.Error)))
		}
	}
	if s.rounds > 1 && s.round == s.rounds {
		var tally []string
		for _, l := range s.lanes {
			tally = append(tally, fmt.Sprintf("%s %d", engineTitle(l.name), s.firsts[l.name]))
		}
		out = append(out, fmt.Sprintf("After %d rounds, first word first: %s", s.rounds, strings.Join(tally, " · ")))
	}
	return out
}
