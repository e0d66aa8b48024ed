package main

// The command lines users read (README.md and docs/, every command's
// Example and indented Long lines, what init writes and prints, and the
// product brief's) are run exactly as written: by bash, in a fresh folder,
// with `kubectl` and `oc` on PATH doing what their plugin dispatch does.
// A new line anywhere is tested without touching this file; a line that
// cannot run here must be listed in notRunHere with the reason. Only exit
// codes, files and messages are checked, never a latency.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/plugin"
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// briefLines are the product brief's own command lines.
var briefLines = []string{
	"kubectl llmbench run -n vllm-benchmark",
	"oc llmbench report --pdf",
}

// notRunHere are the lines, by prefix, that this test cannot run, and why.
var notRunHere = []struct{ prefix, why string }{
	{"make ", "builds and tests this repository (CI runs every target; `make demo` is `run --simulate --preset quick`, run here)"},
	{"go install ", "fetches the module from the network"},
	{"go run ./test/krew/render", "renders the krew manifest; make krew runs it"},
	{"kubectl krew ", "needs krew and a release archive; make krew installs through krew itself"},
	{"kubectl get ", "kubectl's own command, on a cluster"},
	{"kubectl create ", "kubectl's own command, on a cluster"},
	{"helm ", "needs helm and a cluster; make helm and make cluster run the charts"},
	{"ln -s ", "links a script krew unpacked; make krew installs the archive that holds it"},
	{"install -m ", "installs a script from a release archive"},
	{"kubectl llmbench completion zsh ", "zsh syntax (${fpath[1]}); TestCompletionScripts checks the script"},
	{"kubectl llmbench completion powershell ", "a PowerShell pipeline; TestCompletionScripts checks the script"},
}

// dryRunOnly are lines, by a part of them, that run with --dry-run
// appended: the flags parse and the plan is printed, nothing is sent.
var dryRunOnly = []struct{ part, why string }{
	{"--preset standard", "the standard preset takes minutes per engine"},
	{"llm.example.com", "a placeholder server"},
}

// simPorts are the ports the README's and sim's lines serve and target.
var simPorts = []string{"8000", "8080", "11434"}

type commandLine struct {
	text    string
	sources []string
}

func TestCommandLinesWorkAsWritten(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash is not installed")
	}
	lines := collectLines(t)
	env := newLineEnv(t, lines)
	if sim := findLine(lines, " sim "); sim != nil {
		env.startSim(t, sim.text)
	}
	runs := make([]*lineRun, len(lines))
	for i, l := range lines {
		runs[i] = env.prepare(t, l.text)
	}
	// All at once, not as parallel subtests (which -parallel caps at
	// GOMAXPROCS): the slow lines, simulated runs of 30–40 s, mostly wait
	// on the simulators' modelled latency, and nothing here times anything.
	var wg sync.WaitGroup
	for _, lr := range runs {
		if lr.skip == "" && lr.fail == "" && !lr.sim {
			wg.Go(func() { lr.r, lr.err = env.bashRun(lr.dir, lr.home, lr.line) })
		}
	}
	wg.Wait()
	for i, lr := range runs {
		t.Run(lines[i].text, func(t *testing.T) {
			t.Logf("from %s", strings.Join(lines[i].sources, ", "))
			if lr.note != "" {
				t.Log(lr.note)
			}
			env.verify(t, lr)
		})
	}
}

// TestInitLinesWorkAsWritten runs what init writes and prints where init
// wrote it, with -o (a name that needs quoting) and to stdout.
func TestInitLinesWorkAsWritten(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash is not installed")
	}
	env := newLineEnv(t, nil)
	for _, init := range []struct{ line, file string }{
		{"kubectl llmbench init -o 'my bench.yaml'", "my bench.yaml"},
		{"kubectl llmbench init > llmbench.yaml", "llmbench.yaml"},
	} {
		t.Run(init.line, func(t *testing.T) {
			dir, home := t.TempDir(), t.TempDir()
			r := env.bash(t, dir, home, init.line)
			if r.code != 0 {
				t.Fatalf("exit %d\n%s", r.code, r.stderr)
			}
			b, err := os.ReadFile(filepath.Join(dir, init.file))
			if err != nil {
				t.Fatal(err)
			}
			// The file's indented comment lines, and what init says after "with:".
			var printed []string
			for _, m := range regexp.MustCompile(`(?m)^#\s{2,}(kubectl llmbench .*)$`).FindAllStringSubmatch(string(b), -1) {
				printed = append(printed, m[1])
			}
			for _, m := range regexp.MustCompile(`(?m)with: (kubectl llmbench .*)$`).FindAllStringSubmatch(r.stderr, -1) {
				printed = append(printed, m[1])
			}
			if len(printed) < 2 {
				t.Fatalf("init wrote and printed %d command lines:\n%s%s", len(printed), b, r.stderr)
			}
			for _, line := range printed {
				t.Run(line, func(t *testing.T) {
					if r := env.bash(t, dir, home, line); r.code != 0 {
						t.Errorf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
					}
				})
			}
		})
	}
}

// collectLines gathers every distinct line with where it was read.
func collectLines(t *testing.T) []*commandLine {
	t.Helper()
	byText := map[string]*commandLine{}
	var order []string
	add := func(source string, texts []string) {
		for _, s := range texts {
			if byText[s] == nil {
				byText[s] = &commandLine{text: s}
				order = append(order, s)
			}
			byText[s].sources = append(byText[s].sources, source)
		}
	}
	docs, _ := filepath.Glob("../../docs/*.md")
	for _, p := range append([]string{"../../README.md"}, docs...) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		add(strings.TrimPrefix(p, "../../"), markdownCommands(string(b)))
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		add(c.CommandPath()+" --help (Example)", shellLines(c.Example))
		var indented []string
		for _, s := range strings.Split(c.Long, "\n") {
			if strings.HasPrefix(s, "  ") {
				indented = append(indented, s)
			}
		}
		add(c.CommandPath()+" --help (Long)", shellLines(strings.Join(indented, "\n")))
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(plugin.NewCmdRoot(genericiooptions.NewTestIOStreamsDiscard()))
	add("the product brief", briefLines)
	if len(order) < 30 {
		t.Fatalf("found only %d command lines; is the parser broken?", len(order))
	}
	out := make([]*commandLine, len(order))
	for i, s := range order {
		out[i] = byText[s]
	}
	return out
}

// markdownCommands returns the command lines of the sh code blocks.
func markdownCommands(md string) []string {
	var out []string
	var block []string
	in := false
	for _, s := range strings.Split(md, "\n") {
		fence := strings.TrimSpace(s)
		switch {
		case !in && slices.Contains([]string{"```sh", "```bash", "```shell"}, fence):
			in, block = true, nil
		case in && fence == "```":
			in = false
			out = append(out, shellLines(strings.Join(block, "\n"))...)
		case in:
			block = append(block, s)
		}
	}
	return out
}

// shellLines drops blanks and comments and joins continued lines as bash
// does: a backslash-newline is removed, nothing else.
func shellLines(text string) []string {
	var out []string
	var cur string
	for _, s := range strings.Split(text, "\n") {
		s = strings.TrimRight(s, " \t")
		if cur == "" {
			s = strings.TrimLeft(s, " \t")
			if s == "" || strings.HasPrefix(s, "#") {
				continue
			}
		}
		if strings.HasSuffix(s, "\\") {
			cur += strings.TrimSuffix(s, "\\")
			continue
		}
		out = append(out, cur+s)
		cur = ""
	}
	return out
}

func findLine(lines []*commandLine, part string) *commandLine {
	for _, l := range lines {
		if strings.Contains(l.text, "llmbench"+part) {
			return l
		}
	}
	return nil
}

// lineEnv is what every line runs with: kubectl and oc that run plugins,
// runs and a config file a user would have made already, no cluster.
type lineEnv struct {
	path    string // PATH: the dispatchers, the plugin, then the system's
	results string // run folders to copy into each line's folder
	config  []byte // what init writes
	simErr  error  // why the simulator lines cannot run, nil once serving
}

func newLineEnv(t *testing.T, lines []*commandLine) *lineEnv {
	t.Helper()
	shims := t.TempDir()
	// kubectl's and oc's plugin dispatch: "kubectl llmbench ARGS" execs
	// kubectl-llmbench ARGS found on PATH (oc accepts the kubectl- prefix).
	dispatch := "#!/bin/sh\nplugin=kubectl-$1\nshift\nexec \"$plugin\" \"$@\"\n"
	for _, name := range []string{"kubectl", "oc"} {
		if err := os.WriteFile(filepath.Join(shims, name), []byte(dispatch), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	e := &lineEnv{
		path:    shims + string(os.PathListSeparator) + filepath.Dir(binary) + string(os.PathListSeparator) + os.Getenv("PATH"),
		results: filepath.Join(t.TempDir(), "results"),
		simErr:  errors.New("no line starts the simulators"),
	}
	cfg := filepath.Join(t.TempDir(), "llmbench.yaml")
	if r := run(t, "init", "-o", cfg); r.code != 0 {
		t.Fatalf("init: %s", r.stderr)
	}
	e.config, _ = os.ReadFile(cfg)
	if lines == nil {
		return e
	}
	// One short run, copied under every run id a line names, so that
	// `report results/test_quick_20261127_170301` finds its run.
	base := t.TempDir()
	if r := run(t, "run", "--simulate", "--engines", "vllm", "--suite", "ttft", "--iterations", "2", "--no-report", "--output-dir", base); r.code != 0 {
		t.Fatalf("fixture run: exit %d\n%s", r.code, r.stderr)
	}
	src := runFolder(t, base)
	ids := map[string]bool{filepath.Base(src): true}
	runID := regexp.MustCompile(`\btest_[a-z0-9_-]+?_\d{8}_\d{6}\b`)
	for _, l := range lines {
		for _, id := range runID.FindAllString(l.text, -1) {
			ids[id] = true
		}
	}
	for id := range ids {
		copyRun(t, src, filepath.Join(e.results, id))
	}
	return e
}

// copyRun copies a run folder under another run id.
func copyRun(t *testing.T, src, dst string) {
	t.Helper()
	copyTree(t, src, dst)
	p := filepath.Join(dst, "manifest.json")
	var m map[string]any
	readJSON(t, p, &m)
	m["run_id"] = filepath.Base(dst)
	b, _ := json.Marshal(m)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(to, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// bash runs line in dir, HOME home, without a kubeconfig.
func (e *lineEnv) bash(t *testing.T, dir, home, line string) result {
	t.Helper()
	r, err := e.bashRun(dir, home, line)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (e *lineEnv) bashRun(dir, home, line string) (result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "--noprofile", "--norc", "-o", "pipefail", "-c", line)
	cmd.Dir = dir
	cmd.Env = append(withoutEnv("KUBECONFIG", "HOME", "PATH"), "HOME="+home, "PATH="+e.path)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		return result{}, fmt.Errorf("still running after 4 minutes\n%s", errb.String())
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		return result{}, err
	}
	return result{out.String(), errb.String(), code}, nil
}

func withoutEnv(names ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !slices.Contains(names, strings.SplitN(kv, "=", 2)[0]) {
			out = append(out, kv)
		}
	}
	return out
}

// startSim runs the simulator line in the background for the lines that
// target 127.0.0.1:8000, :8080 and :11434, until the test ends.
func (e *lineEnv) startSim(t *testing.T, line string) {
	t.Helper()
	for _, p := range simPorts {
		l, err := net.Listen("tcp", "127.0.0.1:"+p)
		if err != nil {
			e.simErr = fmt.Errorf("port %s is in use on this machine", p)
			return
		}
		l.Close()
	}
	cmd := exec.Command("bash", "--noprofile", "--norc", "-c", line)
	cmd.Dir, cmd.Env = t.TempDir(), append(withoutEnv("PATH"), "PATH="+e.path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, _ := cmd.StdoutPipe()
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	serving := make(chan bool, 2)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "Serving until Ctrl-C") {
				serving <- true
				break
			}
		}
		io.Copy(io.Discard, stdout)
		serving <- false
	}()
	exited := make(chan error, 1)
	t.Cleanup(func() {
		// Ctrl-C, as the sim line says.
		syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("%s: after Ctrl-C: %v\n%s", line, err, errb.String())
			}
		case <-time.After(10 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			t.Errorf("%s: still serving 10 s after Ctrl-C", line)
		}
	})
	select {
	case ok := <-serving:
		if !ok {
			go func() { exited <- cmd.Wait() }()
			t.Fatalf("%s: stopped before serving\n%s", line, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: not serving after 30 s\n%s", line, errb.String())
	}
	go func() { exited <- cmd.Wait() }()
	e.simErr = nil
}

// lineRun is one line: how it is run, then what it did.
type lineRun struct {
	line      string   // as run: --dry-run appended where dryRunOnly says
	args      []string // the words after "llmbench"
	skip      string   // why it is not run here
	fail      string   // why it cannot be tested: the line must change
	note      string   // how it was run, when not quite as written
	cluster   bool     // it needs a cluster
	sim       bool     // the simulator line, serving for the whole test
	dir, home string
	before    []string // run folders before it ran
	r         result
	err       error
}

// prepare decides how a line runs and gives it a fresh folder with what a
// user would have made already.
func (e *lineEnv) prepare(t *testing.T, line string) *lineRun {
	t.Helper()
	lr := &lineRun{line: line}
	for _, n := range notRunHere {
		if strings.HasPrefix(line, n.prefix) {
			lr.skip = "not run here: " + n.why
			return lr
		}
	}
	if !regexp.MustCompile(`(^|[\s(;&|])(kubectl|oc) llmbench(\s|$)`).MatchString(line) {
		lr.fail = "runs no kubectl llmbench: make it runnable here or add it to notRunHere with the reason"
		return lr
	}
	lr.args = llmbenchArgs(line)
	cmd := lr.command()
	for _, d := range dryRunOnly {
		if strings.Contains(line, d.part) && cmd == "run" {
			lr.note = "run with --dry-run appended: " + d.why
			lr.line += " --dry-run"
			lr.args = append(lr.args, "--dry-run")
			break
		}
	}
	namespaced := hasAny(lr.args, "-n", "--namespace", "-A", "--all-namespaces") ||
		slices.ContainsFunc(lr.args, func(a string) bool { return strings.HasPrefix(a, "-n=") || strings.HasPrefix(a, "--namespace=") })
	lr.cluster = namespaced && !hasAny(lr.args, "--simulate") &&
		!slices.ContainsFunc(lr.args, func(a string) bool { return strings.HasPrefix(a, "--target") })
	if cmd == "sim" {
		lr.sim = true
		if e.simErr != nil {
			lr.skip = fmt.Sprintf("not run here: %v", e.simErr)
		}
		return lr
	}
	if !lr.cluster && !hasAny(lr.args, "--dry-run") && e.simErr != nil {
		for _, p := range simPorts {
			if strings.Contains(line, "127.0.0.1:"+p) {
				lr.skip = fmt.Sprintf("needs the simulators on 127.0.0.1:%s: %v", p, e.simErr)
				return lr
			}
		}
	}
	lr.dir, lr.home = t.TempDir(), t.TempDir()
	copyTree(t, e.results, filepath.Join(lr.dir, "results"))
	if !strings.Contains(line, "llmbench init") {
		os.WriteFile(filepath.Join(lr.dir, "llmbench.yaml"), e.config, 0o644)
	}
	// fish makes its completions folder when it first starts.
	os.MkdirAll(filepath.Join(lr.home, ".config", "fish", "completions"), 0o755)
	lr.before = runsIn(lr.dir)
	return lr
}

func (lr *lineRun) command() string {
	if len(lr.args) == 0 {
		return ""
	}
	return lr.args[0]
}

// verify checks what a line did.
func (e *lineEnv) verify(t *testing.T, lr *lineRun) {
	switch {
	case lr.skip != "":
		t.Skip(lr.skip)
	case lr.fail != "":
		t.Fatal(lr.fail)
	case lr.sim:
		e.checkSimServing(t)
		return
	case lr.err != nil:
		t.Fatal(lr.err)
	}
	r, args := lr.r, lr.args
	for _, bad := range []string{"unknown flag", "unknown command", "unknown shorthand", "accepts at most", "accepts between", "requires at least"} {
		if strings.Contains(r.stderr, bad) {
			t.Fatalf("a usage error:\n%s", r.stderr)
		}
	}
	if lr.cluster {
		// run -n and the rest need a cluster (test/cluster runs them on a
		// real API server); without one they must say so, not fail on a flag.
		if r.code != 1 || !strings.Contains(r.stderr, "no cluster to talk to") {
			t.Fatalf("without a kubeconfig: exit %d, want 1 with \"no cluster to talk to\"\n%s", r.code, r.stderr)
		}
		return
	}
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, tail(r.stdout), r.stderr)
	}
	switch cmd := lr.command(); {
	case cmd == "run" && !hasAny(args, "--dry-run"):
		if after := runsIn(lr.dir); len(after) <= len(lr.before) {
			t.Errorf("no new run folder in %s/results", lr.dir)
		}
	case cmd == "report":
		run := pickedRun(t, lr.dir, "report", args, r.stderr)
		if hasAny(args, "--pdf") {
			if _, err := os.Stat(filepath.Join(run, "report.pdf")); err != nil {
				t.Errorf("report --pdf: %v", err)
			}
		}
	case cmd == "results" && len(args) > 1 && args[1] == "show":
		pickedRun(t, lr.dir, "results show", args[1:], r.stderr)
	}
	if m := regexp.MustCompile(`>\s*(\S+)\s*$`).FindStringSubmatch(lr.line); m != nil {
		p := strings.Trim(m[1], `"'`)
		if strings.HasPrefix(p, "~/") {
			p = filepath.Join(lr.home, p[2:])
		} else if !filepath.IsAbs(p) {
			p = filepath.Join(lr.dir, p)
		}
		if st, err := os.Stat(p); err != nil || st.Size() == 0 {
			t.Errorf("wrote nothing to %s: %v", m[1], err)
		}
	}
}

// pickedRun is the run folder a report or results show line acted on: the
// one it names, else the latest, which it must say on stderr.
func pickedRun(t *testing.T, dir, command string, args []string, stderr string) string {
	t.Helper()
	for _, a := range args[1:] {
		if !strings.HasPrefix(a, "-") {
			if !strings.Contains(a, "/") {
				a = filepath.Join("results", a)
			}
			return filepath.Join(dir, a)
		}
	}
	m := regexp.MustCompile(regexp.QuoteMeta(command) + `: using the latest run, (\S+) \(name a run to pick another\)`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no run named: stderr must say which run was used\n%s", stderr)
	}
	if !slices.Contains(runsIn(dir), filepath.Base(m[1])) {
		t.Errorf("used %s, which is not a run in %s/results", m[1], dir)
	}
	return filepath.Join(dir, m[1])
}

// checkSimServing checks the simulator line, started for the whole test,
// answers as each engine does.
func (e *lineEnv) checkSimServing(t *testing.T) {
	for port, path := range map[string]string{"8000": "/v1/models", "8080": "/info", "11434": "/api/tags"} {
		resp, err := http.Get("http://127.0.0.1:" + port + path)
		if err != nil {
			t.Errorf("%s: %v", port, err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET :%s%s: %s", port, path, resp.Status)
		}
	}
}

// llmbenchArgs are the words after the first "llmbench", up to a shell
// operator or comment; enough to know what a line asks for.
func llmbenchArgs(line string) []string {
	f := strings.Fields(line)
	for i, w := range f {
		if w != "llmbench" {
			continue
		}
		var out []string
		for _, a := range f[i+1:] {
			if strings.HasPrefix(a, "#") || slices.Contains([]string{">", "|", "&&", ";", ")"}, a) {
				break
			}
			out = append(out, strings.TrimSuffix(a, ")"))
		}
		return out
	}
	return nil
}

func hasAny(args []string, flags ...string) bool {
	return slices.ContainsFunc(args, func(a string) bool { return slices.Contains(flags, a) })
}

// runsIn lists dir/results' run folders.
func runsIn(dir string) []string {
	matches, _ := filepath.Glob(filepath.Join(dir, "results", "test_*", "manifest.json"))
	out := make([]string, len(matches))
	for i, m := range matches {
		out[i] = filepath.Base(filepath.Dir(m))
	}
	return out
}

func tail(s string) string {
	if len(s) > 2000 {
		return "…" + s[len(s)-2000:]
	}
	return s
}
