package export

import (
	"fmt"
	"strings"
	"time"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/engine"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/load"
	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
	"github.com/llmbench/kubectl-llmbench/pkg/placement"
)

type methodView struct {
	Run      []string
	Engines  gridView
	Skipped  []string
	Cluster  []string
	Deployed gridView
	// Load and Workers say where a distributed run's load came from.
	Load      []string
	Workers   gridView
	Workload  []string
	Prompts   []string
	Scenarios gridView
	Unusual   []string
}

// maxPromptsShown keeps a long prompt file from swamping the report; the
// manifest has them all.
const maxPromptsShown = 10

func runLine(run *Run) string {
	m := run.Manifest
	n := 0
	for _, g := range run.Summary.Groups {
		n += g.Requests
	}
	return fmt.Sprintf("Run %s · %s · %s · %d engine(s), %d scenario(s), %d measured requests",
		mdEscape(m.RunID), mdEscape(m.Status), timeSpan(m.StartedAt, m.EndedAt), len(engineOrder(run)), len(scenarioOrder(run)), n)
}

// timeSpan shows the run's start and end in UTC, with its length.
func timeSpan(start, end string) string {
	t0, err0 := time.Parse(time.RFC3339Nano, start)
	t1, err1 := time.Parse(time.RFC3339Nano, end)
	const layout = "2006-01-02 15:04:05 UTC"
	switch {
	case err0 != nil:
		return "start unknown"
	case err1 != nil:
		return t0.UTC().Format(layout) + ", end not recorded"
	}
	return fmt.Sprintf("%s to %s (%s)", t0.UTC().Format(layout), t1.UTC().Format("15:04:05 UTC"), t1.Sub(t0).Round(100*time.Millisecond))
}

// warnings are what a reader must know before trusting any number.
func warnings(run *Run) []string {
	var out []string
	if s := run.Manifest.Status; s != "complete" {
		out = append(out, fmt.Sprintf("The run did not complete (status %s): the numbers cover only the requests that finished before it stopped.", mdEscape(s)))
	}
	if run.JournalWarning != nil {
		out = append(out, "The journal has a damaged line, skipped: "+mdExcerpt(run.JournalWarning.Error(), 300))
	}
	for _, t := range run.Manifest.Targets {
		if t.Error != "" {
			out = append(out, fmt.Sprintf("Engine **%s** was not benchmarked: %s", mdEscape(t.Target.Name), mdExcerpt(t.Error, 300)))
		}
	}
	for _, w := range loadWarningsText(run.Manifest.LoadFrom) {
		out = append(out, mdEscape(w))
	}
	return out
}

func buildMethod(run *Run) methodView {
	m := run.Manifest
	v := methodView{}
	mode := "one after another"
	if m.Parallel {
		mode = "all at once"
	}
	h := m.Host
	v.Run = []string{
		fmt.Sprintf("Tool: %s %s; run %s, status %s.", mdEscape(m.Tool), mdEscape(m.ToolVersion), mdEscape(m.RunID), mdEscape(m.Status)),
		"Time: " + timeSpan(m.StartedAt, m.EndedAt) + "; engines were benchmarked " + mode + ".",
		fmt.Sprintf("Client: host %s, %s/%s, %d CPUs, %s. Every latency is measured here, on the client's monotonic clock.",
			mdEscape(h.Hostname), mdEscape(h.OS), mdEscape(h.Arch), h.CPUs, mdEscape(h.GoVersion)),
	}
	if lf := m.LoadFrom; lf != nil {
		v.Run[2] = fmt.Sprintf("Client: load workers inside the cluster (below); host %s collected their journals.", mdEscape(h.Hostname))
		v.Load, v.Workers = loadFromView(lf)
	}
	v.Engines = gridView{Header: []string{"Engine", "Type", "Version", "Model", "API", "URL", "Reached via"}}
	for _, t := range m.Targets {
		tg := t.Target
		v.Engines.Rows = append(v.Engines.Rows, []string{mdEscape(tg.Name), mdEscape(string(tg.Type)), dash(mdEscape(t.Info.Version)),
			dash(mdEscape(tg.Model)), mdEscape(string(tg.API)), dash(mdEscape(engine.RedactURL(tg.BaseURL))), dash(mdEscape(tg.Access))})
		if t.Error != "" {
			v.Skipped = append(v.Skipped, fmt.Sprintf("**%s**: %s", mdEscape(tg.Name), mdExcerpt(t.Error, 300)))
		}
	}
	if c := m.Cluster; c != nil {
		v.Cluster, v.Deployed = clusterView(c)
	}
	w := m.Config.Workload
	seed := "none"
	if w.Seed != nil {
		seed = fmt.Sprint(*w.Seed)
	}
	unique := w.UniquePrompts == nil || *w.UniquePrompts
	v.Workload = []string{
		fmt.Sprintf("Sampling: temperature %g, seed %s, at most %d output tokens, %gs timeout per request.", w.Temperature, seed, w.MaxTokens, w.TimeoutSeconds),
	}
	if w.InputTokens == "" {
		v.Workload = append(v.Workload, map[bool]string{true: "Prompts: each user turn starts with a marker of its own, so prefix caches cannot answer repeats for free.",
			false: "Prompts: sent verbatim (--same-prompts); prefix caches may answer repeats."}[unique])
	}
	v.Workload = append(v.Workload, "Every engine was sent the same prompts in the same order.")
	v.Workload = append(v.Workload, calibrationLines(m.Targets)...)
	if m.Dataset != nil {
		v.Workload = append(v.Workload, mdExcerpt(DatasetText(m.Dataset), 600))
	}
	if w.InputTokens != "" || m.Dataset != nil {
		// The configured prompts were not what was sent.
		v.Workload = append(v.Workload, map[bool]string{true: "Prompts: drawn from the dataset above, the same draws for every engine; workload.system_prompt and workload.prompts were not sent.",
			false: "Prompts: generated to the token lengths of each scenario (readable prose from the seed, counted in each engine's tokenizer); workload.system_prompt and workload.prompts were not sent."}[m.Dataset != nil])
		return v.finish(run)
	}
	if w.SystemPrompt != "" {
		v.Workload = append(v.Workload, "System prompt: "+mdExcerpt(w.SystemPrompt, 300))
	}
	if w.PromptFile != "" {
		v.Workload = append(v.Workload, "Prompt file: "+mdEscape(w.PromptFile))
	}
	for i, p := range w.Prompts {
		if i == maxPromptsShown {
			v.Prompts = append(v.Prompts, fmt.Sprintf("… and %d more (see manifest.json)", len(w.Prompts)-maxPromptsShown))
			break
		}
		v.Prompts = append(v.Prompts, mdExcerpt(p, 200))
	}
	return v.finish(run)
}

// finish adds the scenarios and what bends their numbers.
func (v methodView) finish(run *Run) methodView {
	v.Scenarios = gridView{Header: []string{"Scenario", "Suite", "Load", "Setup"}}
	for _, s := range run.Manifest.Scenarios {
		v.Scenarios.Rows = append(v.Scenarios.Rows, []string{mdEscape(s.Name), mdEscape(s.Suite), loadLevel(s), scenarioSetup(s)})
	}
	v.Unusual = unusual(run)
	return v
}

// unusual gathers the conditions that bend what the numbers mean, one
// line per engine and scenario.
func unusual(run *Run) []string {
	var out []string
	for _, sc := range scenarioOrder(run) {
		for _, g := range groupsOf(run, sc) {
			if notes := loadNotes(g); len(notes) > 0 {
				out = append(out, mdEscape(fmt.Sprintf("%s in %s: %s.", g.Engine, sc, strings.Join(notes, "; "))))
			}
		}
	}
	return out
}

// commandLine quotes the recorded arguments for a POSIX shell. The
// manifest's command is already free of API keys.
func commandLine(args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = ShellQuote(a)
	}
	return strings.Join(quoted, " ")
}

// ShellQuote quotes s for a POSIX shell when it needs it, so that a path
// with a space or a quote still pastes as one argument.
func ShellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=,@+%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// clusterView says where the engines ran and how they were reached.
func clusterView(c *placement.Info) ([]string, gridView) {
	lines := []string{fmt.Sprintf("Cluster: context %s, API server %s (%s), namespace %s.",
		dash(mdEscape(c.Context)), dash(mdEscape(c.Server)), dash(mdEscape(c.ServerVersion)), mdEscape(c.Namespace))}
	g := gridView{Header: []string{"Engine", "Service", "Found by", "Reached via", "Image", "Pods ready", "Node", "GPU"}}
	for _, e := range c.Engines {
		g.Rows = append(g.Rows, []string{mdEscape(e.Target), mdEscape(e.Namespace + "/" + e.Service), mdEscape(string(e.Evidence)),
			mdEscape(string(e.Access)), dash(mdEscape(e.Image)), fmt.Sprintf("%d/%d", e.ReadyPods, e.TotalPods),
			dash(mdEscape(strings.Join(e.Nodes, ", "))), mdEscape(gpuText(e))})
	}
	for _, n := range accessNotes(c) {
		lines = append(lines, mdEscape(n))
	}
	return lines, g
}

func gpuText(e placement.EngineMeta) string {
	if e.GPUCount == 0 {
		return "none"
	}
	if e.GPUProduct == "" {
		return fmt.Sprintf("%d", e.GPUCount)
	}
	return fmt.Sprintf("%d × %s", e.GPUCount, e.GPUProduct)
}

// accessNotes (plain text) warn that a tunnel from the operator's machine
// adds latency an in-cluster client would not see, and that engines
// reached different ways are not compared on equal terms.
func accessNotes(c *placement.Info) []string {
	var out, tunnelled []string
	methods := map[placement.Method][]string{}
	for _, e := range c.Engines {
		methods[e.Access] = append(methods[e.Access], e.Target)
		if e.Access == placement.MethodPortForward || e.Access == placement.MethodProxy {
			tunnelled = append(tunnelled, e.Target+" ("+string(e.Access)+")")
		}
	}
	if len(tunnelled) > 0 {
		out = append(out, "Measured from outside the cluster through the Kubernetes API server: "+strings.Join(tunnelled, ", ")+
			". Every request crossed the API server and the kubelet, so latencies include that tunnel; clients inside the cluster, or users behind a Route or Ingress, see less.")
	}
	if len(methods) > 1 {
		var parts []string
		for _, m := range placement.AutoOrder {
			if ts := methods[m]; len(ts) > 0 {
				parts = append(parts, string(m)+": "+strings.Join(ts, ", "))
			}
		}
		out = append(out, "The engines were reached different ways ("+strings.Join(parts, "; ")+"), so part of each difference is the path, not the engine; rerun with --access to reach all of them the same way.")
	} else if len(tunnelled) > 0 {
		out = append(out, "All engines were reached the same way, so the differences between them still hold.")
	}
	return out
}

// calibrationLines say, per engine, how prompts shaped to --input-tokens
// were counted, and whether the counts are the engine's or estimates.
func calibrationLines(targets []load.TargetStatus) []string {
	var out []string
	for _, t := range targets {
		if t.Calibration != nil {
			out = append(out, mdExcerpt(CalibrationText(t.Target.Name, t.Calibration), 600))
		}
	}
	return out
}

// CalibrationText is one sentence on how an engine's prompt lengths were
// calibrated: the terminal prints it, the reports escape it (the note may
// quote the server).
func CalibrationText(engine string, c *workload.Calibration) string {
	var how string
	switch c.Method {
	case "tokenize":
		how = "its own /tokenize"
	case "probe":
		how = "one-token probes and the prompt tokens it reported"
	default:
		return fmt.Sprintf("Prompt lengths on %s are estimates: %s", engine, c.Note)
	}
	line := fmt.Sprintf("Prompt lengths on %s were calibrated with %s (%d calls, %.0f ms): the shortest prompt is %d tokens", engine, how, c.Calls, c.DurationMS, c.BaseTokens)
	if c.TemplateTokens != nil {
		line += fmt.Sprintf(", %d of them chat template", *c.TemplateTokens)
	}
	var checks []string
	for _, k := range c.Checks {
		checks = append(checks, fmt.Sprintf("%d→%d", k.Requested, k.Counted))
	}
	if c.Exact {
		return line + "; whole prompts counted exactly as asked (" + strings.Join(checks, ", ") + ")."
	}
	return line + "; whole prompts did NOT count exactly (asked→counted: " + strings.Join(checks, ", ") + "), so prompt_mismatch in the journal flags those beyond 1%."
}

// DatasetText is one sentence on the dataset the prompts were sampled
// from: what was read, what was kept and why the rest was not.
func DatasetText(ds *workload.Dataset) string {
	line := fmt.Sprintf("Dataset: %s (%s), %d of %d conversations kept", ds.Path, ds.Format, ds.Kept, ds.Read)
	if len(ds.Skipped) > 0 {
		var parts []string
		for _, why := range sortedKeys(ds.Skipped) {
			parts = append(parts, fmt.Sprintf("%d %s", ds.Skipped[why], why))
		}
		line += " (left out: " + strings.Join(parts, ", ") + ")"
	}
	if ds.Sampled {
		line += fmt.Sprintf(", a seeded sample of %d standing for the rest", workload.MaxDatasetEntries)
	}
	return line + "; each request draws one (seeded: every engine gets the same draws), its first user turn asking for as many tokens as the dataset's own answer (estimated at four bytes a token) unless --output-tokens is set."
}
