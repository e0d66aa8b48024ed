//go:build browser

package browser

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// devtools drives one headless Chromium over the DevTools protocol on
// --remote-debugging-pipe (fd 3 in, fd 4 out, NUL-terminated JSON), so the
// test needs no WebSocket client. It is attached to one page and records
// the page's script errors, console errors and CSP violations.
type devtools struct {
	t       *testing.T
	cmd     *exec.Cmd
	in      *os.File
	netlog  string
	session string

	closeOnce sync.Once

	mu      sync.Mutex
	nextID  int
	waiting map[int]chan cdpMessage
	loaded  chan struct{}
	// problems are exceptions, console errors and Log errors, as text.
	problems []string
}

type cdpMessage struct {
	ID        int             `json:"id"`
	Method    string          `json:"method"`
	SessionID string          `json:"sessionId"`
	Params    json.RawMessage `json:"params"`
	Result    json.RawMessage `json:"result"`
	Error     *struct {
		Message string `json:"message"`
	} `json:"error"`
}

// cspRecorder runs before any of the page's scripts (DevTools' scripts are
// not subject to the page's CSP) and keeps every violation the page
// reports.
const cspRecorder = `window.__csp = []; document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));`

func startDevtools(t *testing.T, chromium string) *devtools {
	t.Helper()
	dir := t.TempDir()
	toChrome, ourEnd, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	fromChrome, chromeEnd, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	d := &devtools{t: t, in: ourEnd, netlog: filepath.Join(dir, "netlog.json"), waiting: map[int]chan cdpMessage{}, loaded: make(chan struct{}, 8)}
	d.cmd = exec.Command(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
		"--user-data-dir="+filepath.Join(dir, "profile"),
		"--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
		"--log-net-log="+d.netlog, "--net-log-capture-mode=Everything",
		"--remote-debugging-pipe", "about:blank")
	d.cmd.ExtraFiles = []*os.File{toChrome, chromeEnd}
	var stderr bytes.Buffer
	d.cmd.Stderr = &stderr
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	toChrome.Close()
	chromeEnd.Close()
	go d.read(fromChrome)
	t.Cleanup(func() { d.close() })

	var target struct {
		TargetID string `json:"targetId"`
	}
	d.call("", "Target.createTarget", map[string]any{"url": "about:blank"}, &target)
	var att struct {
		SessionID string `json:"sessionId"`
	}
	d.call("", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &att)
	d.session = att.SessionID
	for _, m := range []string{"Runtime.enable", "Log.enable", "Page.enable"} {
		d.call(d.session, m, nil, nil)
	}
	d.call(d.session, "Page.addScriptToEvaluateOnNewDocument", map[string]any{"source": cspRecorder}, nil)
	d.call(d.session, "Emulation.setDeviceMetricsOverride", map[string]any{"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": false}, nil)
	return d
}

func (d *devtools) read(r *os.File) {
	br := bufio.NewReader(r)
	for {
		b, err := br.ReadBytes(0)
		if err != nil {
			return
		}
		var m cdpMessage
		if json.Unmarshal(b[:len(b)-1], &m) != nil {
			continue
		}
		d.mu.Lock()
		if ch, ok := d.waiting[m.ID]; ok && m.Method == "" {
			delete(d.waiting, m.ID)
			ch <- m
		}
		d.event(m)
		d.mu.Unlock()
	}
}

// event records what a page reports going wrong.
func (d *devtools) event(m cdpMessage) {
	switch m.Method {
	case "Page.loadEventFired":
		d.loaded <- struct{}{}
	case "Runtime.exceptionThrown":
		var p struct {
			Details struct {
				Text      string `json:"text"`
				Exception struct {
					Description string `json:"description"`
				} `json:"exception"`
			} `json:"exceptionDetails"`
		}
		_ = json.Unmarshal(m.Params, &p)
		d.problems = append(d.problems, "exception: "+p.Details.Text+" "+p.Details.Exception.Description)
	case "Runtime.consoleAPICalled":
		var p struct {
			Type string `json:"type"`
			Args []struct {
				Value       any    `json:"value"`
				Description string `json:"description"`
			} `json:"args"`
		}
		_ = json.Unmarshal(m.Params, &p)
		if p.Type == "error" || p.Type == "warning" || p.Type == "assert" {
			d.problems = append(d.problems, fmt.Sprintf("console.%s: %v", p.Type, p.Args))
		}
	case "Log.entryAdded":
		var p struct {
			Entry struct {
				Level  string `json:"level"`
				Source string `json:"source"`
				Text   string `json:"text"`
			} `json:"entry"`
		}
		_ = json.Unmarshal(m.Params, &p)
		if p.Entry.Level == "error" || p.Entry.Level == "warning" {
			d.problems = append(d.problems, fmt.Sprintf("log %s (%s): %s", p.Entry.Level, p.Entry.Source, p.Entry.Text))
		}
	}
}

// call sends one command and decodes its result into out.
func (d *devtools) call(session, method string, params any, out any) {
	d.t.Helper()
	d.mu.Lock()
	d.nextID++
	id := d.nextID
	ch := make(chan cdpMessage, 1)
	d.waiting[id] = ch
	d.mu.Unlock()
	msg := map[string]any{"id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	if session != "" {
		msg["sessionId"] = session
	}
	b, _ := json.Marshal(msg)
	if _, err := d.in.Write(append(b, 0)); err != nil {
		d.t.Fatalf("devtools %s: %v", method, err)
	}
	select {
	case m := <-ch:
		if m.Error != nil {
			d.t.Fatalf("devtools %s: %s", method, m.Error.Message)
		}
		if out != nil {
			if err := json.Unmarshal(m.Result, out); err != nil {
				d.t.Fatalf("devtools %s: %v", method, err)
			}
		}
	case <-time.After(60 * time.Second):
		d.t.Fatalf("devtools %s: no answer in 60s", method)
	}
}

// open loads a file and waits for its load event; it returns and forgets
// what went wrong on the page so far.
func (d *devtools) open(file string) {
	d.t.Helper()
	for len(d.loaded) > 0 {
		<-d.loaded
	}
	d.call(d.session, "Page.navigate", map[string]any{"url": "file://" + file}, nil)
	select {
	case <-d.loaded:
	case <-time.After(60 * time.Second):
		d.t.Fatalf("%s did not load in 60s", filepath.Base(file))
	}
}

// takeProblems returns the page's errors since the last call and its CSP
// violations.
func (d *devtools) takeProblems() []string {
	// Give late console events a moment to arrive.
	time.Sleep(200 * time.Millisecond)
	var csp []string
	d.eval(`window.__csp || []`, &csp)
	d.mu.Lock()
	defer d.mu.Unlock()
	out := d.problems
	d.problems = nil
	for _, v := range csp {
		out = append(out, "CSP violation: "+v)
	}
	return out
}

// eval runs an expression in the page and decodes its value.
func (d *devtools) eval(expr string, out any) {
	d.t.Helper()
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		Exception *struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	d.call(d.session, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true}, &r)
	if r.Exception != nil {
		d.t.Fatalf("evaluating %.80q: %s", expr, r.Exception.Text)
	}
	if out != nil {
		if err := json.Unmarshal(r.Result.Value, out); err != nil {
			d.t.Fatalf("evaluating %.80q: %v (%s)", expr, err, r.Result.Value)
		}
	}
}

// box is an element's box in viewport coordinates (for the mouse) and
// its offset in the document (for screenshots).
type box struct{ X, Y, W, H, ScrollX, ScrollY float64 }

// rect scrolls the element matching selector to the middle of the view
// and returns its box in viewport coordinates.
func (d *devtools) rect(selector string) box {
	d.t.Helper()
	var b *box
	d.eval(fmt.Sprintf(`(() => { const el = document.querySelector(%q); if (!el) return null;
		el.scrollIntoView({block: 'center'}); const r = el.getBoundingClientRect();
		return {X: r.left, Y: r.top, W: r.width, H: r.height, ScrollX: window.scrollX, ScrollY: window.scrollY}; })()`, selector), &b)
	if b == nil || b.W < 1 || b.H < 1 {
		d.t.Fatalf("no visible %s on the page", selector)
	}
	return *b
}

// shot captures the element's box (after rect) as an image.
func (d *devtools) shot(b box) image.Image {
	d.t.Helper()
	var r struct {
		Data string `json:"data"`
	}
	d.call(d.session, "Page.captureScreenshot", map[string]any{"format": "png",
		"captureBeyondViewport": true,
		"clip":                  map[string]any{"x": b.X + b.ScrollX, "y": b.Y + b.ScrollY, "width": b.W, "height": b.H, "scale": 1}}, &r)
	raw, err := base64.StdEncoding.DecodeString(r.Data)
	if err != nil {
		d.t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		d.t.Fatal(err)
	}
	return img
}

func (d *devtools) mouse(kind string, x, y float64) {
	d.t.Helper()
	p := map[string]any{"type": kind, "x": x, "y": y, "button": "none"}
	if kind != "mouseMoved" {
		p["button"], p["clickCount"] = "left", 1
	}
	d.call(d.session, "Input.dispatchMouseEvent", p, nil)
}

func (d *devtools) click(x, y float64) {
	d.mouse("mouseMoved", x, y)
	d.mouse("mousePressed", x, y)
	d.mouse("mouseReleased", x, y)
}

func (d *devtools) close() { d.closeOnce.Do(d.stop) }

func (d *devtools) stop() {
	d.in.Close() // Chromium exits when its pipe closes
	done := make(chan struct{})
	go func() { _ = d.cmd.Wait(); close(done) }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	select {
	case <-done:
	case <-ctx.Done():
		_ = d.cmd.Process.Kill()
		<-done
	}
}

// requests are what the pages this browser opened asked of the network
// (from its net log, complete once it has exited).
func (d *devtools) requests() []string {
	d.t.Helper()
	d.close()
	return pageRequests(d.t, d.netlog)
}

func savePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
