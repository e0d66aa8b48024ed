package plugin

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress shows each scenario's requests as they finish: a bar on a
// terminal, plain lines elsewhere (CI logs, pipes).
type progress struct {
	w        io.Writer
	tty      bool
	expected map[string]int

	mu      sync.Mutex
	bar     *progressbar.ProgressBar
	name    string
	started time.Time
	lastLog time.Time
	sent    int
	ok      int
}

func newProgress(w io.Writer, expected map[string]int) *progress {
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	return &progress{w: w, tty: tty, expected: expected}
}

func (p *progress) ScenarioStarted(t bench.Target, s bench.Scenario) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.name = fmt.Sprintf("%s · %s", t.Name, s.Name)
	p.started, p.lastLog = time.Now(), time.Now()
	p.sent, p.ok = 0, 0
	n := p.expected[s.Name]
	if p.tty {
		p.bar = progressbar.NewOptions(n,
			progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetDescription(p.name),
			progressbar.OptionShowCount(),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
		return
	}
	if n > 0 {
		fmt.Fprintf(p.w, "%s: started, %d requests expected\n", p.name, n)
	} else {
		fmt.Fprintf(p.w, "%s: started\n", p.name)
	}
}

func (p *progress) Write(rec *bench.Record) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sent++
	if rec.OK {
		p.ok++
	}
	if p.bar != nil {
		_ = p.bar.Add(1)
		return nil
	}
	if time.Since(p.lastLog) >= 5*time.Second {
		p.lastLog = time.Now()
		fmt.Fprintf(p.w, "%s: %d done, %d ok, %s\n", p.name, p.sent, p.ok, time.Since(p.started).Round(time.Second))
	}
	return nil
}

func (p *progress) ScenarioFinished(t bench.Target, s bench.Scenario) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Finish()
		p.bar = nil
	}
	fmt.Fprintf(p.w, "%s: %d requests, %d ok, %d failed in %s\n", p.name, p.sent, p.ok, p.sent-p.ok, time.Since(p.started).Round(10*time.Millisecond))
}

// Done ends any display still open.
func (p *progress) Done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Finish()
		p.bar = nil
	}
}
