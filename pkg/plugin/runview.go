package plugin

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"golang.org/x/term"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/live"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

const (
	// frameEvery is the dashboard's redraw: often enough to look live,
	// rare enough to cost the client nothing it measures.
	frameEvery = 250 * time.Millisecond
	// plainEvery is how often a pipe or CI log gets a line per engine,
	// and live.jsonl a snapshot.
	plainEvery = 5 * time.Second
)

// runView shows a run while it happens: a dashboard redrawn in place on a
// terminal, one plain line per running engine every few seconds anywhere
// else. Both read one live.Board, which the run folder's live.jsonl
// records; everything it shows derives from the records as they finish.
type runView struct {
	board *live.Board
	title string
	// out carries every message of the run: straight to the terminal, or
	// above the dashboard while it draws.
	out *switchWriter
	dst io.Writer
	tty bool
	r   *lipgloss.Renderer

	prog      *tea.Program
	ran       chan struct{}
	stopPlain chan struct{}
	plainDone chan struct{}
	stopOnce  sync.Once
	stopping  atomic.Bool
	started   atomic.Bool
	// closeRecord writes live.jsonl's last snapshot and closes it.
	closeRecord func()
}

// isTerminal reports whether w is a terminal the dashboard may redraw.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd())) && os.Getenv("TERM") != "dumb"
}

func newRunView(board *live.Board, title string, out *switchWriter, dst io.Writer, tty bool) *runView {
	v := &runView{board: board, title: title, out: out, dst: dst, tty: tty, r: renderer(dst)}
	if tty {
		m := &boardModel{v: v, st: newBoardStyles(v.r)}
		// No input: the terminal stays cooked, so Ctrl-C is the signal the
		// run already stops on, not a key this program would have to pass on.
		v.prog = tea.NewProgram(m, tea.WithOutput(v.dst), tea.WithInput(nil), tea.WithoutSignalHandler(), tea.WithoutBracketedPaste())
		v.ran = make(chan struct{})
	}
	return v
}

// start draws until stop.
func (v *runView) start() {
	v.started.Store(true)
	if !v.tty {
		v.stopPlain, v.plainDone = make(chan struct{}), make(chan struct{})
		go v.plain()
		return
	}
	go func() {
		defer close(v.ran)
		_, err := v.prog.Run()
		// Ended early, it hands the messages back to the terminal (stop
		// does when it ends it).
		if !v.stopping.Load() {
			v.out.set(v.dst)
			fmt.Fprintf(v.dst, "warning: the live view stopped (%v); the run goes on\n", err)
		}
	}()
	v.out.set(&teaLines{v: v})
}

// stop draws the last frame, which stays on the terminal above what
// follows.
func (v *runView) stop() {
	v.stopOnce.Do(func() {
		if v.closeRecord != nil {
			defer v.closeRecord()
		}
		if !v.started.Load() {
			return
		}
		// Every lane ends in the last frame and snapshot, also those only
		// records told of (in-cluster).
		v.board.Finish()
		if v.prog == nil {
			if v.stopPlain != nil {
				close(v.stopPlain)
				<-v.plainDone
			}
			return
		}
		// Messages written while the program ends wait, so none lands in
		// the middle of its last redraw.
		v.stopping.Store(true)
		var held bytes.Buffer
		v.out.set(&held)
		v.prog.Send(finalFrame{})
		<-v.ran
		v.out.set(v.dst)
		v.dst.Write(held.Bytes())
	})
}

func (v *runView) plain() {
	defer close(v.plainDone)
	t := time.NewTicker(plainEvery)
	defer t.Stop()
	for {
		select {
		case <-v.stopPlain:
			return
		case <-t.C:
			for _, l := range v.board.Snapshot().Lanes {
				if l.State == live.Running {
					fmt.Fprintln(v.out, plainLine(l))
				}
			}
		}
	}
}

func (v *runView) ScenarioStarted(t engine.Target, s workload.Scenario) {
	v.board.ScenarioStarted(t, s)
	if v.tty {
		return
	}
	if n := s.ExpectedRequests(); n > 0 {
		fmt.Fprintf(v.out, "%s · %s: started, %d requests expected\n", t.Name, s.Name, n)
	} else {
		fmt.Fprintf(v.out, "%s · %s: started\n", t.Name, s.Name)
	}
}

func (v *runView) ScenarioFinished(t engine.Target, s workload.Scenario) {
	v.board.ScenarioFinished(t, s)
	if v.tty {
		return
	}
	for _, l := range v.board.Snapshot().Lanes {
		if l.Engine == t.Name && l.Scenario == s.Name {
			fmt.Fprintf(v.out, "%s · %s: %d requests, %d ok, %d failed in %s\n", l.Engine, l.Scenario, l.Done, l.Done-l.Failed, l.Failed,
				(time.Duration(l.ElapsedS*1000) * time.Millisecond).Round(10*time.Millisecond))
		}
	}
}

func (v *runView) RequestSent(rec *engine.Record) { v.board.RequestSent(rec) }
func (v *runView) Write(rec *engine.Record) error { return v.board.Write(rec) }
func (v *runView) setWorkers(ws []live.Worker)    { v.board.SetWorkers(ws) }

// keep records the board in dir/live.jsonl until stop.
func (v *runView) keep(dir string) error {
	f, err := os.Create(filepath.Join(dir, live.File))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := live.Record(ctx, v.board, f, plainEvery); err != nil {
			fmt.Fprintf(v.out, "warning: writing %s: %v\n", live.File, err)
		}
	}()
	v.closeRecord = func() {
		cancel()
		<-done
		f.Close()
	}
	return nil
}

// boardModel is the dashboard as a Bubble Tea program: a frame every
// frameEvery, and the last one when the run is over.
type boardModel struct {
	v     *runView
	st    boardStyles
	width int
	// frame is drawn on each tick, not on every message: a message must
	// not cost a snapshot of the board the run is writing to.
	frame string
	// lines wait for the next frame, printed above it in order.
	lines []string
}

type (
	frameTick  struct{}
	finalFrame struct{}
	printLine  string
)

func nextFrame() tea.Cmd {
	return tea.Tick(frameEvery, func(time.Time) tea.Msg { return frameTick{} })
}

func (m *boardModel) Init() tea.Cmd { m.draw(); return nextFrame() }

func (m *boardModel) draw() {
	m.frame = renderBoard(m.v.board.Snapshot(), m.v.title, m.width, m.st)
}

// flush prints the waiting lines as one message: commands run
// concurrently, so lines sent one by one could swap places.
func (m *boardModel) flush() tea.Cmd {
	if len(m.lines) == 0 {
		return nil
	}
	text := strings.Join(m.lines, "\n")
	m.lines = nil
	return tea.Println(text)
}

func (m *boardModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case frameTick:
		m.draw()
		return m, tea.Batch(m.flush(), nextFrame())
	case tea.WindowSizeMsg:
		m.width = msg.Width
		m.draw()
	case printLine:
		m.lines = append(m.lines, string(msg))
	case finalFrame:
		m.draw()
		// The lines before the quit: a sequence, not a batch.
		if p := m.flush(); p != nil {
			return m, tea.Sequence(p, tea.Quit)
		}
		return m, tea.Quit
	}
	return m, nil
}

func (m *boardModel) View() string { return m.frame }

// kill ends the dashboard at once and restores the terminal (the cursor
// it hid): a second Ctrl-C, which quits the process.
func (v *runView) kill() {
	if v.prog != nil && v.started.Load() {
		v.stopping.Store(true)
		v.prog.Kill()
		<-v.ran
	}
}

// teaLines prints whole lines above the dashboard.
type teaLines struct {
	v   *runView
	buf []byte
}

func (t *teaLines) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	for {
		i := bytes.IndexByte(t.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		// Send gives up once the program has ended; stop switches the
		// writer back before that.
		t.v.prog.Send(printLine(t.buf[:i]))
		t.buf = t.buf[i+1:]
	}
}

// switchWriter is a writer whose destination changes while the run's
// goroutines hold it.
type switchWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *switchWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (s *switchWriter) set(w io.Writer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.w.(*teaLines); ok && len(t.buf) > 0 {
		t.Write([]byte("\n")) // a line cut short still shows
	}
	s.w = w
}
