package main

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/llmbench/kubectl-llmbench/test/plugintest"
)

func TestUsageErrorsAreActionable(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(cfg, []byte("test_scenarios:\n  load_tests:\n    - name: x\n      concurrent_users: 0\n      duration_seconds: 5\n"), 0o644)
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"run"}, []string{"--target", "--simulate"}},
		{[]string{"run", "--simulate", "-f", cfg}, []string{"load_tests[0].concurrent_users", "0"}},
		{[]string{"run", "--target", "foo=http://127.0.0.1:1"}, []string{"foo", "vllm, tgi, ollama, openai"}},
		{[]string{"run", "--target", "vllm=ftp://x"}, []string{"ftp://x", "http://"}},
		{[]string{"run", "--simulate", "--preset", "huge"}, []string{"--preset", "quick, standard, stress"}},
		{[]string{"run", "--simulate", "--arrival", "poisson"}, []string{"rate"}},
		{[]string{"run", "--simulate", "--slo", "ttft=500ms"}, []string{"--slo", "ttft_p95"}},
	}
	for _, tc := range cases {
		r := run(t, tc.args...)
		if r.code != 1 {
			t.Errorf("%v: exit %d, want 1", tc.args, r.code)
		}
		for _, w := range tc.want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("%v: error lacks %q:\n%s", tc.args, w, r.stderr)
			}
		}
	}
}

func TestDryRunPrintsPlanAndSendsNothing(t *testing.T) {
	srv := &truthServer{delay: time.Millisecond}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	out := t.TempDir()
	r := run(t, "run", "--preset", "standard", "--dry-run", "--output-dir", out, "--target", "vllm="+hs.URL)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	for _, w := range []string{"chat_users_10", "poisson_5rps", "closed loop, 10 users", hs.URL} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("plan lacks %q:\n%s", w, r.stdout)
		}
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("dry run wrote %d entries", len(entries))
	}
	if len(srv.truth) != 0 {
		t.Error("dry run sent requests")
	}
}

func TestInitConfigRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "llmbench.yaml")
	if r := run(t, "init", "-o", path); r.code != 0 {
		t.Fatalf("init: %s", r.stderr)
	}
	r := run(t, "config", "-f", path, "--max-tokens", "77")
	if r.code != 0 {
		t.Fatalf("config: %s", r.stderr)
	}
	for _, w := range []string{"max_tokens: 77", "poisson_8rps", "chat_users_10", "manual_urls"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("effective config lacks %q:\n%s", w, r.stdout)
		}
	}
	if r := run(t, "init", "-o", path); r.code != 1 || !strings.Contains(r.stderr, "--force") {
		t.Errorf("init over an existing file: exit %d %s", r.code, r.stderr)
	}
}

// An SLO no engine can meet is reported as missed, with its value, in the
// table and in summary.json.
func TestSLOThroughTheBinary(t *testing.T) {
	out := t.TempDir()
	r := run(t, "run", "--simulate", "--suite", "ttft", "--iterations", "4", "--engines", "vllm,tgi", "--format", "json",
		"--output-dir", out, "--slo", "ttft_p50=1ms,error_rate=5%")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	for _, w := range []string{"SLO", "MISS · 0% ok", "SLO missed: ttft p50 ≤ 1 ms"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("table lacks %q:\n%s", w, r.stdout)
		}
	}
	dirs, _ := filepath.Glob(filepath.Join(out, "test_*", "summary.json"))
	if len(dirs) != 1 {
		t.Fatalf("summary files: %v", dirs)
	}
	b, _ := os.ReadFile(dirs[0])
	if !strings.Contains(string(b), `"attainment": 0`) || !strings.Contains(string(b), `"goodput_requests_per_s"`) {
		t.Errorf("summary.json lacks the SLO result:\n%.2000s", b)
	}
}

// A rate sweep with an SLO reports the highest rate each engine held.
func TestSweepThroughTheBinary(t *testing.T) {
	out := t.TempDir()
	r := run(t, "run", "--simulate", "--engines", "vllm", "--suite", "load", "--sweep", "rate=2,4", "--duration", "1s", "--warmup", "0s",
		"--slo", "ttft_p95=60s", "--format", "json", "--output-dir", out)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	for _, w := range []string{"Capacity", "vllm sustains at least 4 req/s within the SLO", "│ 2 req/s", "│ 4 req/s"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("output lacks %q:\n%s", w, r.stdout)
		}
	}
}

// The capacity search's result agrees with the levels it measured and says
// so in the headline. Where it lands is a latency of this machine (the
// simulator's saturation, near 3.7 req/s); make fidelity checks that.
func TestFindCapacityIsConsistentWithItsLevels(t *testing.T) {
	out := t.TempDir()
	r := run(t, "run", "--simulate", "--engines", "ollama", "--suite", "load", "--find-capacity", "--capacity-from", "2",
		"--duration", "3s", "--warmup", "0s", "--max-tokens", "64", "--slo", "ttft_p95=500ms", "--format", "json", "--output-dir", out)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	b, err := os.ReadFile(filepath.Join(runFolder(t, out), "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Capacity []struct {
			Engine string `json:"engine"`
			Levels []struct {
				Value float64 `json:"value"`
				Met   *bool   `json:"met"`
			} `json:"levels"`
			Sustained   *float64 `json:"sustained"`
			FirstMissed *float64 `json:"first_missed"`
		} `json:"capacity"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Capacity) != 1 || len(s.Capacity[0].Levels) == 0 {
		t.Fatalf("capacity: %s\n%s", b, r.stdout)
	}
	c := s.Capacity[0]
	// A slower machine only makes the simulator slower: some level must miss
	// an SLO of 500 ms, and the search stops past the first that does.
	if c.FirstMissed == nil {
		t.Fatalf("no level missed ttft_p95=500ms: %s", b)
	}
	var sustained, missed *float64
	for i, l := range c.Levels {
		if l.Met == nil {
			t.Fatalf("level %g has no verdict: %s", l.Value, b)
		}
		if i > 0 && l.Value <= c.Levels[i-1].Value {
			t.Errorf("levels not increasing: %s", b)
		}
		if *l.Met && missed == nil {
			sustained = &c.Levels[i].Value
		}
		if !*l.Met && missed == nil {
			missed = &c.Levels[i].Value
		}
	}
	if *missed != *c.FirstMissed || (sustained == nil) != (c.Sustained == nil) || (sustained != nil && *sustained != *c.Sustained) {
		t.Errorf("sustained %v, first missed %v, but the levels say %v and %v: %s", c.Sustained, *c.FirstMissed, sustained, *missed, b)
	}
	want := fmt.Sprintf("ollama missed the SLO already at the lowest level, %g req/s", c.Levels[0].Value)
	if c.Sustained != nil {
		want = fmt.Sprintf("ollama sustains %g req/s within the SLO (missed at %g req/s)", *c.Sustained, *c.FirstMissed)
	}
	if !strings.Contains(r.stdout, want) {
		t.Errorf("no headline %q:\n%s", want, r.stdout)
	}
}

// Prompts shaped with --input-tokens count exactly as drawn on every
// simulated engine, each calibrated its own way, and the manifest says how.
func TestInputTokensThroughTheBinary(t *testing.T) {
	out := t.TempDir()
	r := run(t, "run", "--simulate", "--suite", "load", "--arrival", "closed", "--concurrency", "2", "--requests", "6", "--warmup", "0s",
		"--input-tokens", "uniform:100-700", "--output-tokens", "16", "--format", "json", "--output-dir", out)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	dir := runFolder(t, out)
	type line struct {
		Engine    string `json:"engine"`
		Phase     string `json:"phase"`
		OK        bool   `json:"ok"`
		Prompt    int    `json:"prompt_tokens"`
		Requested int    `json:"requested_prompt_tokens"`
		Mismatch  bool   `json:"prompt_mismatch"`
		MaxTokens int    `json:"requested_output_tokens"`
	}
	per := map[string]int{}
	for _, l := range plugintest.ReadJournal[line](t, dir) {
		if !l.OK || l.Requested < 100 || l.Requested > 700 || l.Prompt != l.Requested || l.Mismatch || l.MaxTokens != 16 {
			t.Errorf("%+v", l)
		}
		per[l.Engine]++
	}
	if per["vllm"] < 6 || per["tgi"] < 6 || per["ollama"] < 6 {
		t.Errorf("records per engine: %v", per)
	}
	var man struct {
		Targets []struct {
			Target struct {
				Name string `json:"name"`
			} `json:"target"`
			Calibration *struct {
				Method string `json:"method"`
				Exact  bool   `json:"exact"`
				Base   int    `json:"base_tokens"`
			} `json:"prompt_calibration"`
		} `json:"targets"`
	}
	readJSON(t, filepath.Join(dir, "manifest.json"), &man)
	want := map[string]string{"vllm": "tokenize", "tgi": "tokenize", "ollama": "probe"}
	for _, tg := range man.Targets {
		c := tg.Calibration
		if c == nil || c.Method != want[tg.Target.Name] || !c.Exact || c.Base < 3 {
			t.Errorf("%s: calibration %+v", tg.Target.Name, c)
		}
	}

	plan := run(t, "run", "--simulate", "--dry-run", "--input-tokens", "normal:512,128", "--output-tokens", "64")
	if plan.code != 0 || !strings.Contains(plan.stdout, "normal:512,128 (first: ") || !strings.Contains(plan.stdout, "64 output tokens") {
		t.Errorf("dry run: exit %d\n%s%s", plan.code, plan.stdout, plan.stderr)
	}
	cfg := run(t, "config", "--input-tokens", "uniform:256-1024")
	if cfg.code != 0 || !strings.Contains(cfg.stdout, "input_tokens: uniform:256-1024") {
		t.Errorf("config: exit %d\n%s%s", cfg.code, cfg.stdout, cfg.stderr)
	}
	for _, bad := range []struct {
		args []string
		want []string
	}{
		{[]string{"--input-tokens", "zipf:3"}, []string{"--input-tokens", "zipf", "uniform"}},
		{[]string{"--output-tokens", "uniform:9-3"}, []string{"--output-tokens", "uniform:9-3"}},
		{[]string{"--engines", "vllm", "--input-tokens", "9000"}, []string{"9000 input", "8192", "--input-tokens"}},
	} {
		r := run(t, append([]string{"run", "--simulate", "--suite", "ttft", "--iterations", "1", "--output-dir", t.TempDir()}, bad.args...)...)
		if r.code == 0 {
			t.Errorf("%v accepted", bad.args)
		}
		for _, w := range bad.want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("%v: error lacks %q:\n%s", bad.args, w, r.stderr)
			}
		}
	}
}

// A prompt-length sweep runs one level per length, each engine billed
// exactly that length, and reports the fitted prefill line. How straight
// the line is and its rate are latencies of this machine: make fidelity
// checks them.
func TestInputTokensSweepThroughTheBinary(t *testing.T) {
	out := t.TempDir()
	r := run(t, "run", "--simulate", "--engines", "vllm,ollama", "--suite", "load", "--sweep", "input_tokens=64,256", "--concurrency", "1",
		"--requests", "3", "--warmup", "0s", "--output-tokens", "4", "--format", "json", "--output-dir", out)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	for _, w := range []string{"Prompt length", "vllm: TTFT grows", "│ 64 prompt tokens", "│ 256 prompt tokens"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("output lacks %q:\n%s", w, r.stdout)
		}
	}
	var s struct {
		Lengths []struct {
			Engine string `json:"engine"`
			Kind   string `json:"kind"`
			Levels []struct {
				Value     float64 `json:"value"`
				Scenario  string  `json:"scenario"`
				Succeeded int     `json:"succeeded"`
				Prompt    float64 `json:"prompt_tokens_mean"`
			} `json:"levels"`
			Fit *struct {
				MSPer1K float64 `json:"ms_per_1k_tokens"`
			} `json:"fit"`
		} `json:"length_sweep"`
	}
	readJSON(t, filepath.Join(runFolder(t, out), "summary.json"), &s)
	if len(s.Lengths) != 2 {
		t.Fatalf("length sweep: %+v", s.Lengths)
	}
	for _, ls := range s.Lengths {
		if ls.Kind != "input_tokens" || len(ls.Levels) != 2 || ls.Fit == nil {
			t.Errorf("%+v", ls)
			continue
		}
		for _, l := range ls.Levels {
			if l.Succeeded != 3 || l.Prompt != l.Value || l.Scenario != fmt.Sprintf("input_%g", l.Value) {
				t.Errorf("%s level %+v: want 3 successes of exactly %g prompt tokens", ls.Engine, l, l.Value)
			}
		}
	}
}

// A ShareGPT dataset (generated here: nothing is downloaded) is sampled
// with the same draws for every engine, each request asking for its
// conversation's answer length; a broken record fails before any traffic,
// naming the file and the record.
func TestDatasetThroughTheBinary(t *testing.T) {
	dir := t.TempDir()
	type turn struct {
		From  string `json:"from"`
		Value string `json:"value"`
	}
	var convs []map[string][]turn
	for i := range 30 {
		convs = append(convs, map[string][]turn{"conversations": {
			{"human", fmt.Sprintf("Question %d about Kubernetes Services?", i)},
			{"gpt", strings.Repeat("word ", 4*(i%6+1))},
		}})
	}
	b, _ := json.Marshal(convs)
	path := filepath.Join(dir, "sharegpt.json")
	os.WriteFile(path, b, 0o644)
	out := t.TempDir()
	r := run(t, "run", "--simulate", "--engines", "vllm,tgi", "--suite", "load", "--concurrency", "2", "--requests", "10", "--warmup", "0s",
		"--dataset", path, "--dataset-filter", "output=-20", "--format", "json", "--output-dir", out)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	type line struct {
		Engine    string `json:"engine"`
		OK        bool   `json:"ok"`
		Sequence  int64  `json:"sequence"`
		Prompt    int    `json:"prompt_index"`
		MaxTokens int    `json:"requested_output_tokens"`
	}
	draws := map[int64]map[string]line{}
	for _, l := range plugintest.ReadJournal[line](t, runFolder(t, out)) {
		// Answers of 4·k words are 5·k estimated tokens; the filter keeps
		// those of at most 20.
		if !l.OK || l.MaxTokens%5 != 0 || l.MaxTokens < 5 || l.MaxTokens > 20 {
			t.Errorf("%+v", l)
		}
		if draws[l.Sequence] == nil {
			draws[l.Sequence] = map[string]line{}
		}
		draws[l.Sequence][l.Engine] = l
	}
	distinct := map[int]bool{}
	for seq, per := range draws {
		if per["vllm"].Prompt != per["tgi"].Prompt || per["vllm"].MaxTokens != per["tgi"].MaxTokens {
			t.Errorf("sequence %d drew differently: %+v", seq, per)
		}
		distinct[per["vllm"].Prompt] = true
	}
	if len(draws) != 10 || len(distinct) < 4 {
		t.Errorf("%d sequences, %d distinct conversations", len(draws), len(distinct))
	}
	var man struct {
		Dataset struct {
			Format  string         `json:"format"`
			Read    int            `json:"records_read"`
			Kept    int            `json:"records_kept"`
			Skipped map[string]int `json:"records_skipped"`
		} `json:"dataset"`
	}
	readJSON(t, filepath.Join(runFolder(t, out), "manifest.json"), &man)
	if d := man.Dataset; d.Format != "sharegpt" || d.Read != 30 || d.Kept != 20 || d.Skipped["output above max_output_tokens"] != 10 {
		t.Errorf("manifest dataset %+v", d)
	}

	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte("{\"prompt\":\"fine\"}\n{\"messages\":[{\"role\":\"robot\",\"content\":\"x\"}]}\n"), 0o644)
	r = run(t, "run", "--simulate", "--dataset", bad, "--output-dir", t.TempDir())
	if r.code != 1 || !strings.Contains(r.stderr, bad+" line 2") || !strings.Contains(r.stderr, "robot") {
		t.Errorf("bad dataset: exit %d\n%s", r.code, r.stderr)
	}
	r = run(t, "run", "--simulate", "--dataset", path, "--input-tokens", "128", "--output-dir", t.TempDir())
	if r.code != 1 || !strings.Contains(r.stderr, "both choose the prompts") {
		t.Errorf("dataset with input tokens: exit %d\n%s", r.code, r.stderr)
	}
}

// An Azure-format trace replays through the binary: one request per row,
// at its offset (scaled by --trace-speed), with its context and generated
// tokens; a trace that goes back in time fails naming the line.
func TestTraceThroughTheBinary(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("TIMESTAMP,ContextTokens,GeneratedTokens\n")
	base := time.Date(2023, 11, 16, 18, 15, 46, 0, time.UTC)
	type row struct {
		at       time.Duration
		ctx, gen int
	}
	var rows []row
	for i := range 12 {
		r := row{time.Duration(i*i) * 4 * time.Millisecond, 50 + 37*i, 2 + i%4}
		rows = append(rows, r)
		fmt.Fprintf(&b, "%s,%d,%d\n", base.Add(r.at).Format("2006-01-02 15:04:05.0000000"), r.ctx, r.gen)
	}
	path := filepath.Join(dir, "azure_conv.csv")
	os.WriteFile(path, []byte(b.String()), 0o644)
	out := t.TempDir()
	r := run(t, "run", "--simulate", "--engines", "vllm,ollama", "--suite", "load", "--trace", path, "--trace-speed", "2",
		"--format", "json", "--output-dir", out)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	type line struct {
		Engine    string `json:"engine"`
		Scenario  string `json:"scenario"`
		OK        bool   `json:"ok"`
		Sequence  int64  `json:"sequence"`
		Intended  int64  `json:"intended_start_unix_ns"`
		Prompt    int    `json:"prompt_tokens"`
		Requested int    `json:"requested_prompt_tokens"`
		MaxTokens int    `json:"requested_output_tokens"`
	}
	per := map[string][]line{}
	for _, l := range plugintest.ReadJournal[line](t, runFolder(t, out)) {
		per[l.Engine] = append(per[l.Engine], l)
	}
	for eng, ls := range per {
		if len(ls) != len(rows) {
			t.Fatalf("%s: %d records, want %d", eng, len(ls), len(rows))
		}
		var first int64
		for _, l := range ls {
			if l.Sequence == 0 {
				first = l.Intended
			}
		}
		for _, l := range ls {
			want := rows[l.Sequence]
			if !l.OK || l.Scenario != "trace_azure_conv" || l.Requested != want.ctx || l.Prompt != want.ctx || l.MaxTokens != want.gen ||
				time.Duration(l.Intended-first) != want.at/2 {
				t.Errorf("%s: %+v, want %+v at half speed", eng, l, want)
			}
		}
	}
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("timestamp,input_length,output_length\n10,5,5\n20,5,5\n15,5,5\n"), 0o644)
	r = run(t, "run", "--simulate", "--trace", bad, "--output-dir", t.TempDir())
	if r.code != 1 || !strings.Contains(r.stderr, bad+" line 4") || !strings.Contains(r.stderr, "back in time") {
		t.Errorf("decreasing trace: exit %d\n%s", r.code, r.stderr)
	}
	r = run(t, "run", "--simulate", "--trace", path, "--rate", "5", "--output-dir", t.TempDir())
	if r.code != 1 || !strings.Contains(r.stderr, "--rate") || !strings.Contains(r.stderr, "--trace sets the arrivals") {
		t.Errorf("trace with rate: exit %d\n%s", r.code, r.stderr)
	}
}

// Shared prefixes through the binary: the simulated vLLM reports its
// prefix-cache hits, the summary splits TTFT by them, and a prefix longer
// than the prompt asked for is refused naming both flags.
func TestSharedPrefixThroughTheBinary(t *testing.T) {
	out := t.TempDir()
	r := run(t, "run", "--simulate", "--engines", "vllm,tgi", "--suite", "load", "--concurrency", "1", "--requests", "6", "--warmup", "0s",
		"--shared-prefix-tokens", "256", "--prefix-groups", "2", "--output-tokens", "4", "--format", "json", "--output-dir", out)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "vllm: prefix cache (as the engine reports it)") || strings.Contains(r.stdout, "tgi: prefix cache") {
		t.Errorf("prefix-cache notes:\n%s", r.stdout)
	}
	var s struct {
		Groups []struct {
			Engine  string `json:"engine"`
			Metrics map[string]struct {
				Count int `json:"count"`
			} `json:"metrics"`
		} `json:"groups"`
	}
	readJSON(t, filepath.Join(runFolder(t, out), "summary.json"), &s)
	for _, g := range s.Groups {
		hit, miss := g.Metrics["ttft_prefix_hit_ms"].Count, g.Metrics["ttft_prefix_miss_ms"].Count
		if g.Engine == "vllm" && (hit < 4 || hit+miss != 6) || g.Engine == "tgi" && hit+miss != 0 {
			t.Errorf("%s: %d hits, %d misses", g.Engine, hit, miss)
		}
	}
	r = run(t, "run", "--simulate", "--suite", "load", "--shared-prefix-tokens", "512", "--input-tokens", "256", "--output-dir", t.TempDir())
	if r.code != 1 || !strings.Contains(r.stderr, "--input-tokens 256 leaves no unique suffix") {
		t.Errorf("prefix beyond the prompt: exit %d\n%s", r.code, r.stderr)
	}
	r = run(t, "run", "--simulate", "--prefix-groups", "3", "--output-dir", t.TempDir())
	if r.code != 1 || !strings.Contains(r.stderr, "--shared-prefix-tokens") {
		t.Errorf("groups without a prefix: exit %d\n%s", r.code, r.stderr)
	}
}

// Multi-turn conversations through the binary: each user's turns carry a
// growing history, the journal numbers conversations and turns, and the
// summary has TTFT by turn.
func TestTurnsThroughTheBinary(t *testing.T) {
	out := t.TempDir()
	r := run(t, "run", "--simulate", "--engines", "tgi", "--suite", "load", "--turns", "3", "--concurrency", "2", "--requests", "12",
		"--warmup", "0s", "--max-tokens", "16", "--format", "json", "--output-dir", out)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "TTFT p50 by turn of the conversations") {
		t.Errorf("no by-turn note:\n%s", r.stdout)
	}
	type line struct {
		Conversation int64 `json:"conversation"`
		Turn         int   `json:"turn"`
		Prompt       int   `json:"prompt_tokens"`
	}
	byConv := map[int64][]line{}
	for _, l := range plugintest.ReadJournal[line](t, runFolder(t, out)) {
		byConv[l.Conversation] = append(byConv[l.Conversation], l)
	}
	if len(byConv) != 4 {
		t.Fatalf("%d conversations, want 12 requests / 3 turns", len(byConv))
	}
	for c, ls := range byConv {
		slices.SortFunc(ls, func(a, b line) int { return a.Turn - b.Turn })
		for i, l := range ls {
			// Each turn carries the last: its prompt, the 16-token answer
			// and a new question.
			if l.Turn != i+1 || i > 0 && l.Prompt <= ls[i-1].Prompt+16 {
				t.Errorf("conversation %d: %+v", c, ls)
			}
		}
	}
	var s struct {
		Groups []struct {
			ByTurn []struct {
				Turn int `json:"turn"`
				TTFT struct {
					Count int `json:"count"`
				} `json:"ttft_ms"`
			} `json:"by_turn"`
		} `json:"groups"`
	}
	readJSON(t, filepath.Join(runFolder(t, out), "summary.json"), &s)
	if len(s.Groups) != 1 || len(s.Groups[0].ByTurn) != 3 || s.Groups[0].ByTurn[2].TTFT.Count != 4 {
		t.Errorf("by_turn: %+v", s.Groups)
	}
	r = run(t, "run", "--simulate", "--suite", "load", "--arrival", "poisson", "--rate", "2", "--turns", "3", "--output-dir", t.TempDir())
	if r.code != 1 || !strings.Contains(r.stderr, "--turns") {
		t.Errorf("turns in an open loop: exit %d\n%s", r.code, r.stderr)
	}
}
