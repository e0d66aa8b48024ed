package plugin

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/llmbench/kubectl-llmbench/pkg/bench/workload"
)

// benchFlags are the flags that shape a benchmark's configuration; run and
// config share them so `config` prints exactly what `run` would use.
type benchFlags struct {
	preset      string
	file        string
	name        string
	suite       string
	iterations  int
	arrival     string
	rate        float64
	concurrency int
	duration    time.Duration
	requests    int
	thinkTime   time.Duration
	maxTokens   int
	inTokens    string
	outTokens   string
	promptFile  string
	dataset     string
	trace       string
	prefixTok   int
	turns       int
	prefixGrp   int
	traceSpeed  float64
	dsFilter    string
	timeout     time.Duration
	seed        int64
	warmup      time.Duration
	samePrompts bool
	slo         string
	weights     string
	sweep       string
}

// maxRate bounds --rate and rate: beyond it the pacer's gaps round to zero.
const maxRate = 100000

func (f *benchFlags) add(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.preset, "preset", "", "embedded preset: "+strings.Join(workload.Presets(), ", ")+" (default quick when no -f is given)")
	fs.StringVarP(&f.file, "config", "f", "", "YAML configuration `file` (kubectl llmbench init writes an example)")
	fs.StringVar(&f.name, "name", "", "run name used in the results folder (default: benchmark.name)")
	fs.StringVar(&f.suite, "suite", "all", "which suite to run: ttft, load or all")
	fs.IntVar(&f.iterations, "iterations", 0, "measured requests of the sequential TTFT suite")
	fs.StringVar(&f.arrival, "arrival", "", "load arrival process: closed (N users), constant or poisson (open loop at --rate)")
	fs.Float64Var(&f.rate, "rate", 0, "open-loop request rate in requests/s")
	fs.IntVar(&f.concurrency, "concurrency", 0, "closed loop: number of users; open loop: cap on requests in flight")
	fs.DurationVar(&f.duration, "duration", 0, "measured duration of the load scenario, e.g. 30s")
	fs.IntVar(&f.requests, "requests", 0, "measured requests of the load scenario")
	fs.DurationVar(&f.thinkTime, "think-time", 0, "closed loop: pause between a user's answer and their next question")
	fs.IntVar(&f.maxTokens, "max-tokens", 0, "output tokens to request")
	fs.StringVar(&f.inTokens, "input-tokens", "", "shape every prompt to a token `length` in each engine's own tokenizer (calibrated at start): 512, uniform:256-1024, normal:512,128 or lognormal:512,0.5 (median, sigma of the log); replaces the prompts")
	fs.StringVar(&f.outTokens, "output-tokens", "", "draw each request's output `length` the same way (sent as max_tokens; vLLM also gets ignore_eos): 128, uniform:64-256, normal:128,32, lognormal:128,0.5")
	fs.StringVar(&f.promptFile, "prompt-file", "", "file of prompts: one per line, or JSONL with \"prompt\" or \"messages\"")
	fs.StringVar(&f.dataset, "dataset", "", "sample each request from a `file` of real conversations: ShareGPT JSON or JSONL, OpenAI-style {\"messages\"} JSONL, or one prompt per line; each asks for as many tokens as the dataset's own answer (--output-tokens overrides)")
	fs.IntVar(&f.turns, "turns", 0, "closed loop: each user holds conversations of this many `turns`, sending the whole history (its earlier answers included) every turn; the report shows TTFT by turn")
	fs.IntVar(&f.prefixTok, "shared-prefix-tokens", 0, "start every load prompt with one of --prefix-groups shared prefixes of this many `tokens` (each engine's tokenizer, chat template included) and end it with a unique suffix, so prefix caches are measured on purpose; the report splits TTFT by cache hit where the engine says")
	fs.IntVar(&f.prefixGrp, "prefix-groups", 0, "how many distinct shared prefixes requests draw from (default 1)")
	fs.StringVar(&f.trace, "trace", "", "replay a recorded arrival `file` open loop, each request at its offset with its prompt and answer lengths: CSV with a header (Azure LLM inference TIMESTAMP,ContextTokens,GeneratedTokens; Mooncake timestamp,input_length,output_length) or JSONL; replaces the load tests")
	fs.Float64Var(&f.traceSpeed, "trace-speed", 1, "replay --trace this many times faster (0.5: half speed)")
	fs.StringVar(&f.dsFilter, "dataset-filter", "", "keep only the dataset's conversations within these estimated token `bounds`: input=16-2048,output=1-1024 (either side may be left open: input=-2048)")
	fs.DurationVar(&f.timeout, "timeout", 0, "per-request timeout (default: workload.timeout_seconds, 120s)")
	fs.Int64Var(&f.seed, "seed", 0, "seed for sampling and Poisson arrivals (default: workload.seed, 42)")
	fs.DurationVar(&f.warmup, "warmup", 0, "warm-up before the load scenario is measured (default: the preset's)")
	fs.StringVar(&f.slo, "slo", "", "service-level objectives for every scenario, e.g. ttft_p95=500ms,tpot_p95=50ms,e2e_p99=10s,error_rate=1% (a bare number is ms); reports attainment and goodput")
	fs.StringVar(&f.sweep, "sweep", "", "run the load scenario at each level: rate=1,2,4,8 (requests/s, open loop) or concurrency=1,2,4,8 (users), with --slo the highest level each engine sustains; or at each prompt or answer length: input_tokens=128,512,2048 (TTFT per length and each engine's prefill rate) or output_tokens=64,256,1024")
	fs.StringVar(&f.weights, "weights", "", "weights of the overall ranking, e.g. ttft=0.4,tpot=0.2,throughput=0.2,error_rate=0.1,consistency=0.1 (default ttft=0.3,tpot=0.25,throughput=0.2,error_rate=0.15,consistency=0.1)")
	fs.BoolVar(&f.samePrompts, "same-prompts", false, "send prompts verbatim; by default each user turn gets a unique marker so prefix caches cannot answer repeated prompts")
}

// validate checks the load flags themselves, so errors name the flag
// rather than the configuration field it fills.
func (f *benchFlags) validate(cmd *cobra.Command) error {
	changed := cmd.Flags().Changed
	f.arrival = strings.ToLower(f.arrival)
	switch {
	case changed("arrival") && f.arrival != "closed" && f.arrival != "constant" && f.arrival != "poisson":
		return fmt.Errorf("--arrival %q: use closed, constant or poisson", f.arrival)
	case f.rate < 0 || f.rate > maxRate:
		return fmt.Errorf("--rate %g: use requests per second > 0 and ≤ %d", f.rate, maxRate)
	case changed("rate") && f.rate == 0:
		return fmt.Errorf("--rate 0: use requests per second > 0")
	case f.arrival == "closed" && f.rate > 0:
		return fmt.Errorf("--rate applies to --arrival constant or poisson; a closed loop is set by --concurrency users")
	case (f.arrival == "constant" || f.arrival == "poisson") && f.rate == 0:
		return fmt.Errorf("--arrival %s needs --rate (requests per second)", f.arrival)
	case f.concurrency < 0:
		return fmt.Errorf("--concurrency %d: use a whole number ≥ 1", f.concurrency)
	case f.requests < 0:
		return fmt.Errorf("--requests %d: use a whole number ≥ 1", f.requests)
	case f.duration < 0 || f.thinkTime < 0 || f.warmup < 0 || f.timeout < 0:
		return fmt.Errorf("--duration, --think-time, --warmup and --timeout must not be negative")
	case changed("iterations") && f.iterations < 1:
		return fmt.Errorf("--iterations %d: use a whole number ≥ 1", f.iterations)
	case changed("max-tokens") && f.maxTokens < 1:
		return fmt.Errorf("--max-tokens %d: use a whole number ≥ 1", f.maxTokens)
	}
	return nil
}

// config applies defaults < preset < file < flags.
func (f *benchFlags) config(cmd *cobra.Command) (workload.Config, error) {
	cfg := workload.Default()
	if err := f.validate(cmd); err != nil {
		return cfg, err
	}
	preset := f.preset
	if preset == "" && f.file == "" {
		preset = "quick"
	}
	if preset != "" {
		b, err := workload.PresetYAML(preset)
		if err != nil {
			return cfg, fmt.Errorf("--preset: %w", err)
		}
		if err := cfg.MergeYAML("preset "+preset, b); err != nil {
			return cfg, err
		}
	}
	if f.file != "" {
		if err := cfg.LoadFile(f.file); err != nil {
			return cfg, fmt.Errorf("-f: %w", err)
		}
	}
	changed := cmd.Flags().Changed
	if f.name != "" {
		cfg.Benchmark.Name = f.name
	}
	if changed("iterations") {
		cfg.TestScenarios.TTFT.Iterations = f.iterations
		cfg.TestScenarios.TTFT.Enabled = true
	}
	if changed("max-tokens") {
		cfg.Workload.MaxTokens = f.maxTokens
	}
	for _, tf := range []struct {
		flag string
		spec string
		set  func(*workload.LoadTest, string)
		dst  *string
	}{
		{"input-tokens", f.inTokens, func(lt *workload.LoadTest, v string) { lt.InputTokens = v }, &cfg.Workload.InputTokens},
		{"output-tokens", f.outTokens, func(lt *workload.LoadTest, v string) { lt.OutputTokens = v }, &cfg.Workload.OutputTokens},
	} {
		if !changed(tf.flag) {
			continue
		}
		t, err := workload.ParseTokenLength(tf.spec, "--"+tf.flag)
		if err != nil {
			return cfg, err
		}
		if t.Largest() > workload.MaxShapedTokens {
			return cfg, fmt.Errorf("--%s %q: at most %d tokens", tf.flag, tf.spec, workload.MaxShapedTokens)
		}
		// The flag shapes every scenario, the file's own included.
		*tf.dst = tf.spec
		for i := range cfg.TestScenarios.LoadTests {
			tf.set(&cfg.TestScenarios.LoadTests[i], "")
		}
	}
	if changed("prompt-file") {
		cfg.Workload.PromptFile = f.promptFile
	}
	if changed("dataset") {
		spec := workload.DatasetSpec{}
		if cfg.Workload.Dataset != nil {
			spec = *cfg.Workload.Dataset // the file's format and filters stay
		}
		spec.Path = f.dataset
		cfg.Workload.Dataset = &spec
	}
	if changed("dataset-filter") {
		if cfg.Workload.Dataset == nil {
			return cfg, errors.New("--dataset-filter: no dataset to filter; give --dataset PATH (or workload.dataset)")
		}
		if err := workload.ParseDatasetFilter(f.dsFilter, "--dataset-filter", cfg.Workload.Dataset); err != nil {
			return cfg, err
		}
	}
	if changed("timeout") {
		cfg.Workload.TimeoutSeconds = f.timeout.Seconds()
	}
	if changed("seed") {
		s := f.seed
		cfg.Workload.Seed = &s
	}
	if changed("slo") {
		if _, err := workload.ParseSLO(f.slo, "--slo"); err != nil {
			return cfg, err
		}
		// The flag is the SLO for every scenario, the file's own included.
		cfg.Workload.SLO = f.slo
		for i := range cfg.TestScenarios.LoadTests {
			cfg.TestScenarios.LoadTests[i].SLO = ""
		}
	}
	if changed("sweep") {
		if _, err := workload.ParseSweep(f.sweep, "--sweep"); err != nil {
			return cfg, err
		}
		cfg.TestScenarios.Sweep = f.sweep
	}
	if changed("weights") {
		if _, err := workload.ParseWeights(f.weights, "--weights"); err != nil {
			return cfg, err
		}
		cfg.Ranking.Weights = f.weights
	}
	if changed("same-prompts") {
		unique := !f.samePrompts
		cfg.Workload.UniquePrompts = &unique
	}
	if changed("shared-prefix-tokens") {
		cfg.Workload.SharedPrefixTokens = f.prefixTok
	}
	if changed("prefix-groups") {
		if cfg.Workload.SharedPrefixTokens == 0 {
			return cfg, errors.New("--prefix-groups: no shared prefix to group; give --shared-prefix-tokens N")
		}
		cfg.Workload.PrefixGroups = f.prefixGrp
	}
	if changed("trace-speed") && !changed("trace") {
		return cfg, errors.New("--trace-speed: no trace to replay; give --trace FILE")
	}
	if changed("trace") {
		for _, fl := range []string{"arrival", "rate", "duration", "requests", "think-time", "turns"} {
			if changed(fl) {
				return cfg, fmt.Errorf("--%s: --trace sets the arrivals, their number and the duration; drop --%s (--trace-speed scales time, --concurrency caps requests in flight)", fl, fl)
			}
		}
		lt := workload.LoadTest{Name: traceName(f.trace), Trace: f.trace, TraceSpeed: f.traceSpeed, MaxConcurrency: f.concurrency}
		if len(cfg.TestScenarios.LoadTests) > 0 {
			base := cfg.TestScenarios.LoadTests[0]
			lt.TargetP95MS, lt.TargetMetric = base.TargetP95MS, base.TargetMetric
		}
		if changed("warmup") {
			lt.WarmupSeconds = f.warmup.Seconds()
		}
		cfg.TestScenarios.LoadTests = []workload.LoadTest{lt}
		if f.preset == "" && f.file == "" && f.name == "" {
			cfg.Benchmark.Name = "trace"
		}
		return cfg, nil
	}
	if changed("arrival") || changed("rate") || changed("concurrency") || changed("duration") || changed("requests") || changed("think-time") || changed("warmup") {
		lt := f.loadTest()
		// The command line describes the load; what it does not say
		// (warm-up, target) comes from the configuration's first load test.
		if len(cfg.TestScenarios.LoadTests) > 0 {
			base := cfg.TestScenarios.LoadTests[0]
			lt.WarmupSeconds, lt.TargetP95MS, lt.TargetMetric = base.WarmupSeconds, base.TargetP95MS, base.TargetMetric
		}
		if changed("warmup") {
			lt.WarmupSeconds = f.warmup.Seconds()
		}
		cfg.TestScenarios.LoadTests = []workload.LoadTest{lt}
		if f.preset == "" && f.file == "" && f.name == "" {
			cfg.Benchmark.Name = "custom"
		}
	}
	if changed("turns") {
		closed := 0
		for i, lt := range cfg.TestScenarios.LoadTests {
			if lt.Arrival == "" && lt.Rate == 0 || lt.Arrival == string(workload.ArrivalClosed) {
				cfg.TestScenarios.LoadTests[i].Turns = f.turns
				closed++
			}
		}
		if closed == 0 {
			return cfg, errors.New("--turns: no closed-loop load test to hold conversations; add --arrival closed --concurrency N (conversations need users who wait for their answers)")
		}
	}
	return cfg, nil
}

// loadTest builds the one load scenario the command line describes.
func (f *benchFlags) loadTest() workload.LoadTest {
	lt := workload.LoadTest{Arrival: f.arrival, Rate: f.rate,
		DurationSeconds: f.duration.Seconds(), Requests: f.requests, ThinkTime: workload.Duration{Duration: f.thinkTime}}
	if lt.Arrival == "" {
		lt.Arrival = string(workload.ArrivalClosed)
		if f.rate > 0 {
			lt.Arrival = string(workload.ArrivalConstant)
		}
	}
	if lt.Arrival == string(workload.ArrivalClosed) {
		lt.ConcurrentUsers = f.concurrency
		if lt.ConcurrentUsers == 0 {
			lt.ConcurrentUsers = 1
		}
	} else {
		lt.MaxConcurrency = f.concurrency
	}
	if lt.DurationSeconds == 0 && lt.Requests == 0 {
		lt.DurationSeconds = 30
	}
	if lt.Arrival == string(workload.ArrivalClosed) {
		lt.Name = fmt.Sprintf("closed_%dusers", lt.ConcurrentUsers)
	} else {
		lt.Name = fmt.Sprintf("%s_%grps", lt.Arrival, lt.Rate)
	}
	return lt
}

// traceName names a trace's scenario after its file: trace_azure_conv.
func traceName(path string) string {
	base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			return r
		}
		return '_'
	}, base)
	if len(name) > 40 {
		name = name[:40]
	}
	return "trace_" + name
}
