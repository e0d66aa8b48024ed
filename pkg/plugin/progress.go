package plugin

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

// progress shows each scenario's requests as they finish: a bar on a
// terminal, plain lines elsewhere (CI logs, pipes) and whenever engines run
// in parallel, where one bar cannot show several engines.
type progress struct {
	w    io.Writer
	bars bool

	mu    sync.Mutex
	state map[string]*scenarioProgress // by target name
}

type scenarioProgress struct {
	name    string
	bar     *progressbar.ProgressBar
	started time.Time
	lastLog time.Time
	sent    int
	ok      int
}

func newProgress(w io.Writer, parallel bool) *progress {
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	return &progress{w: w, bars: tty && !parallel, state: map[string]*scenarioProgress{}}
}

func (p *progress) ScenarioStarted(t engine.Target, s workload.Scenario) {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := &scenarioProgress{name: fmt.Sprintf("%s · %s", t.Name, s.Name), started: time.Now(), lastLog: time.Now()}
	p.state[t.Name] = st
	n := s.ExpectedRequests()
	if p.bars {
		st.bar = progressbar.NewOptions(n,
			progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetDescription(st.name),
			progressbar.OptionShowCount(),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
		return
	}
	if n > 0 {
		fmt.Fprintf(p.w, "%s: started, %d requests expected\n", st.name, n)
	} else {
		fmt.Fprintf(p.w, "%s: started\n", st.name)
	}
}

func (p *progress) Write(rec *engine.Record) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.state[rec.Engine]
	if st == nil {
		return nil
	}
	st.sent++
	if rec.OK {
		st.ok++
	}
	if st.bar != nil {
		_ = st.bar.Add(1)
		return nil
	}
	if time.Since(st.lastLog) >= 5*time.Second {
		st.lastLog = time.Now()
		fmt.Fprintf(p.w, "%s: %d done, %d ok, %s\n", st.name, st.sent, st.ok, time.Since(st.started).Round(time.Second))
	}
	return nil
}

func (p *progress) ScenarioFinished(t engine.Target, s workload.Scenario) {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.state[t.Name]
	if st == nil {
		return
	}
	if st.bar != nil {
		_ = st.bar.Finish()
	}
	delete(p.state, t.Name)
	fmt.Fprintf(p.w, "%s: %d requests, %d ok, %d failed in %s\n", st.name, st.sent, st.ok, st.sent-st.ok, time.Since(st.started).Round(10*time.Millisecond))
}

// Done ends any display still open.
func (p *progress) Done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for name, st := range p.state {
		if st.bar != nil {
			_ = st.bar.Finish()
		}
		delete(p.state, name)
	}
}
